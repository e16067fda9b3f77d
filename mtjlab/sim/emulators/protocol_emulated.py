"""pyserial URL handler for ``emulated://<name>``: a serial port whose far end is the emulated
instrument registered under ``name``, so a driver that opens a port with ``serial_for_url``
reaches it unchanged.

Call :func:`enable_emulated_urls` once, then :func:`register` an emulator under a name. Bytes
written are cut into LF-terminated lines for the emulator; its replies come back as lines. A read
that finds nothing returns what it has after the port's timeout, in bench time (the emulator's
virtual clock advances by it): no wall-clock wait.
"""

from __future__ import annotations

import numbers
import urllib.parse

import serial
from serial.serialutil import PortNotOpenError, SerialBase, SerialException, to_bytes

from mtjlab.sim.emulators.base import EmulatedInstrument, EmulatorDisconnected, EmulatorTimeout

#: The package pyserial searches for ``protocol_<scheme>`` modules.
HANDLER_PACKAGE = "mtjlab.sim.emulators"

_registry: dict[str, EmulatedInstrument] = {}


def enable_emulated_urls() -> None:
    """Let ``serial.serial_for_url`` open ``emulated://`` URLs (idempotent)."""
    if HANDLER_PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(HANDLER_PACKAGE)


def register(name: str, emulator: EmulatedInstrument) -> None:
    """Make ``emulated://<name>`` reach ``emulator`` from now on, in place of any emulator
    registered under that name before (a port already open keeps the one it opened)."""
    if not isinstance(name, str) or not name or any(c in name for c in "/?#@: \t"):
        raise ValueError(f"emulator name {name!r}: a non-empty name without '/?#@:' or blanks")
    _registry[name] = emulator


def unregister(name: str) -> None:
    """Forget ``emulated://<name>`` (no error if it is not registered)."""
    _registry.pop(name, None)


def registered() -> dict[str, EmulatedInstrument]:
    """The emulators reachable now, by name."""
    return dict(_registry)


class Serial(SerialBase):
    """A pyserial port on an emulated instrument (``emulated://<name>``)."""

    is_open: bool

    def __init__(self, *args, **kwargs) -> None:
        self.emulator: EmulatedInstrument | None = None
        self._incoming = bytearray()  # host -> instrument, up to the next LF
        self._outgoing = bytearray()  # instrument -> host, not yet read
        super().__init__(*args, **kwargs)

    # -- port ----------------------------------------------------------------------------------

    def open(self) -> None:
        if self.is_open:
            raise SerialException("Port is already open.")
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        self.emulator = self.from_url(self._port)
        self._reconfigure_port()
        self._incoming.clear()
        self._outgoing.clear()
        self.is_open = True

    def from_url(self, url: str) -> EmulatedInstrument:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "emulated" or not parts.netloc or parts.path or parts.query:
            raise SerialException(f"expected a URL of the form 'emulated://<name>'; got {url!r}")
        emulator = _registry.get(parts.netloc)
        if emulator is None:
            known = ", ".join(sorted(_registry)) or "none"
            raise SerialException(
                f"no emulator is registered as {parts.netloc!r}; registered: {known}"
            )
        return emulator

    def _reconfigure_port(self, force_update: bool = False) -> None:
        if not isinstance(self._baudrate, numbers.Integral) or not 0 < int(self._baudrate) < 2**32:
            raise ValueError(f"invalid baudrate: {self._baudrate!r}")

    def close(self) -> None:
        self.is_open = False
        self.emulator = None
        super().close()

    # -- data ----------------------------------------------------------------------------------

    @property
    def in_waiting(self) -> int:
        self._check_open()
        return len(self._outgoing)

    def write(self, data) -> int:
        emulator = self._check_open()
        data = to_bytes(data)
        self._incoming += data
        while (end := self._incoming.find(b"\n")) >= 0:
            line = bytes(self._incoming[:end]).decode("latin-1")
            del self._incoming[: end + 1]
            try:
                emulator.write(line)
            except EmulatorDisconnected as exc:
                raise SerialException(f"emulated://{emulator.name}: {exc}") from None
        return len(data)

    def read(self, size: int = 1) -> bytes:
        """Up to ``size`` bytes: what the instrument has sent. If that is nothing, the port's
        timeout passes in bench time and nothing is returned (with no timeout a real port
        would wait forever; here that is an error)."""
        emulator = self._check_open()
        if not self._outgoing:
            try:
                self._outgoing += emulator.read().encode("latin-1") + b"\n"
            except EmulatorTimeout:
                if self._timeout is None:
                    raise SerialException(
                        f"emulated://{emulator.name}: no reply, and a port without a timeout "
                        "would wait forever"
                    ) from None
                emulator.clock.advance(self._timeout)
                return b""
            except EmulatorDisconnected as exc:
                raise SerialException(f"emulated://{emulator.name}: {exc}") from None
        chunk = bytes(self._outgoing[:size])
        del self._outgoing[:size]
        return chunk

    def reset_input_buffer(self) -> None:
        """Discard what the instrument sent and the host has not read."""
        emulator = self._check_open()
        self._outgoing.clear()
        emulator.discard_replies()

    def reset_output_buffer(self) -> None:
        """Discard a command line not yet complete."""
        self._check_open()
        self._incoming.clear()

    def _check_open(self) -> EmulatedInstrument:
        if not self.is_open or self.emulator is None:
            raise PortNotOpenError()
        return self.emulator

    # -- modem lines: none on an emulated link, reported as a plain three-wire cable would ------

    def _update_break_state(self) -> None:
        pass

    def _update_rts_state(self) -> None:
        pass

    def _update_dtr_state(self) -> None:
        pass

    @property
    def cts(self) -> bool:
        self._check_open()
        return True

    @property
    def dsr(self) -> bool:
        self._check_open()
        return True

    @property
    def ri(self) -> bool:
        self._check_open()
        return False

    @property
    def cd(self) -> bool:
        self._check_open()
        return True
