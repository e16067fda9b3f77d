"""IEEE 488.2 status reporting, as every emulated VISA instrument has it: the standard event
status register and its enable register, the status byte and its service request enable
register, and which event bit a queued error sets.

Facts (IEEE 488.2 as the models' manuals give it; the Keithley 2450 Reference Manual, appendix B
``*ESR?`` and appendix C; the Series 2600B Reference Manual, ``status.condition``):

- standard event bits: 0 operation complete (set by ``*OPC``), 2 query error, 3 device-dependent
  error, 4 execution error, 5 command error, 7 power on; ``*ESR?`` reads and clears the
  register, ``*CLS`` clears it; the power-on bit is set when the instrument is turned on;
- status byte bits: 2 error available (the error queue is not empty), 4 message available (a
  reply waits to be read), 5 event summary (an event bit that ``*ESE`` enables is set), 6 master
  summary (a bit that ``*SRE`` enables is set; bit 6 itself cannot be enabled);
- the SCPI error classes: -1xx command errors, -2xx execution errors, -3xx device-specific
  errors, -4xx query errors. A positive (model-defined) code is taken here as device-dependent.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Standard event status register bits.
OPERATION_COMPLETE = 1 << 0
QUERY_ERROR = 1 << 2
DEVICE_ERROR = 1 << 3
EXECUTION_ERROR = 1 << 4
COMMAND_ERROR = 1 << 5
POWER_ON = 1 << 7

#: Status byte bits.
ERROR_AVAILABLE = 1 << 2
MESSAGE_AVAILABLE = 1 << 4
EVENT_SUMMARY = 1 << 5
MASTER_SUMMARY = 1 << 6

#: What a full error queue's last entry becomes (SCPI's -350).
QUEUE_OVERFLOW = (-350, "Queue overflow")


def event_bit(code: int) -> int:
    """The standard event bit an error of ``code`` sets (0 for none: code 0 is no error)."""
    if -199 <= code <= -100:
        return COMMAND_ERROR
    if -299 <= code <= -200:
        return EXECUTION_ERROR
    if -399 <= code <= -300 or code > 0:
        return DEVICE_ERROR
    if -499 <= code <= -400:
        return QUERY_ERROR
    return 0


@dataclass
class StatusRegisters:
    """The standard event status register (``event``), its enable register and the service
    request enable register. The event register starts with the power-on bit set."""

    event: int = POWER_ON
    event_enable: int = 0
    request_enable: int = 0

    def record(self, code: int) -> None:
        """An error of ``code`` was queued: set its event bit."""
        self.event |= event_bit(code)

    def read_event(self) -> int:
        """``*ESR?``: the event register, which reading clears."""
        value, self.event = self.event, 0
        return value

    def status_byte(self, *, error_available: bool, message_available: bool) -> int:
        """``*STB?``: the summary bits now, with the master summary bit computed from them."""
        byte = (ERROR_AVAILABLE if error_available else 0) | (
            MESSAGE_AVAILABLE if message_available else 0
        )
        if self.event & self.event_enable:
            byte |= EVENT_SUMMARY
        if byte & self.request_enable:
            byte |= MASTER_SUMMARY
        return byte
