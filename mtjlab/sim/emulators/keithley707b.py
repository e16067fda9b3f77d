"""An emulated Keithley 707B / 708B switching matrix: the TSP statements mtjlab's driver sends,
acted on the bench circuit's crosspoints, with the instrument's error queue and settle times.

What it follows, from the Models 707B and 708B Switching Matrix Reference Manual (707B-901-01):

- channel specifiers ``<slot><row><column>`` (section 2, "Matrix card channel specifiers"); the
  7174A card's rows A-H and columns 01-12; a channel list separated by commas or semicolons,
  in single or double quotes (section 2, "Channel list parameter for remote commands");
- ``channel.close`` adds to what is closed, and refuses ``slotX`` / ``allslots``; once an
  error is found nothing is switched (section 7, ``channel.close()``);
- ``channel.open`` also takes ``slotX`` and ``allslots``;
- ``channel.exclusiveclose`` opens every closed channel not listed, then closes the list; an
  empty list opens everything (section 7, ``channel.exclusiveclose()``);
- ``channel.connectrule``: break-before-make (the default) opens before it closes and takes
  the open plus the close settle time, make-before-break closes first and takes both, ``OFF``
  switches at once and takes the longer of the two (section 2, "Connection methods for close
  operations"; section 7, ``channel.connectrule``); a relay that does not change state adds no
  settle time (appendix B);
- ``channel.getclose`` lists closed channels slot by slot, each slot sorted, separated by
  semicolons, ``nil`` when none (section 5, "Return value"; section 7, ``channel.close()``
  example);
- ``errorqueue.next()`` prints code, message, severity and node, oldest first (section 7);
- the IEEE 488.2 common commands, with the status registers of
  :mod:`mtjlab.sim.emulators._status`; ``print`` of several of the values it knows
  (``localnode.model``, ``errorqueue.count``, ``status.condition``, ``channel.getclose``, literals),
  tab-separated, an undefined name as ``nil``.

Not emulated: channel ranges (``1A01:1A05``), channel patterns, ``connectsequential``, user
delays. They push an error instead of being half-done.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mtjlab.sim.emulators._scpi import ScpiError, split_outside_quotes, split_parameters
from mtjlab.sim.emulators._tsp_script import print_text
from mtjlab.sim.emulators.base import EmulatedInstrument, VirtualClock
from mtjlab.sim.emulators.circuit import BenchCircuit

#: The connect rules, by the name of their TSP constant.
CONNECT_RULES = ("BREAK_BEFORE_MAKE", "MAKE_BEFORE_BREAK", "OFF")

#: TSP's own errors: a statement that does not parse, and a call of something that is not there.
TSP_SYNTAX_ERROR = -285
TSP_RUNTIME_ERROR = -286
#: A channel list naming a channel the installed cards do not have. The code and text are the
#: ones mtjlab's driver tests use; the manual's error list was not at hand to confirm them.
PARAMETER_ERROR = 1115

#: Severity of the entries this emulator queues (the manual's levels are 0, 10, 20, 30, 40; 20
#: is a recoverable error) and the node they come from (the local node).
_SEVERITY = 20
_NODE = 1

_ROWS = "ABCDEFGH"
_COLUMNS = 12
_CHANNEL = re.compile(r"([0-9])([A-Z])([0-9]{2})")
_SLOT = re.compile(r"slot([0-9])")
_LIST_CALL = re.compile(r"channel\.(close|open|exclusiveclose)\(\s*(?:\"([^\"]*)\"|'([^']*)')\s*\)")
_SET_RULE = re.compile(r"channel\.connectrule\s*=\s*channel\.([A-Z_]+)")
_PRINT_RULE = re.compile(r"print\(\s*channel\.connectrule\s*==\s*channel\.([A-Z_]+)\s*\)")
_PRINT_GETCLOSE = re.compile(
    r"print\(\s*channel\.getclose\(\s*(?:\"([^\"]*)\"|'([^']*)')\s*\)\s*\)"
)
_CALL = re.compile(r"(?:print\(\s*)?([A-Za-z_][\w.]*)\s*\(.*\)\s*\)?")
_PRINT = re.compile(r"print\((.*)\)")
_GETCLOSE = re.compile(r"channel\.getclose\(\s*(?:\"([^\"]*)\"|'([^']*)')\s*\)")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_GLOBAL = re.compile(r"[A-Za-z_]\w*")
_FIELD = re.compile(r"([A-Za-z_]\w*)\.[A-Za-z_][\w.]*")
#: The instrument's own top-level names (a print of one of their fields it does not know is
#: not understood, rather than nil).
_OWN = ("channel", "errorqueue", "localnode", "status", "print", "reset", "slot", "node")

#: What ``localnode.serialno`` and ``localnode.revision`` (and ``*IDN?``) answer.
SERIAL = "0000000"
REVISION = "emulated"
#: The IEEE 488.2 common commands the 707B takes (its reference manual's "Common commands").
COMMON_COMMANDS = frozenset(
    ("*CLS", "*ESE", "*ESE?", "*ESR?", "*IDN?", "*OPC", "*OPC?", "*RST", "*SRE", "*SRE?",
     "*STB?", "*TST?", "*WAI")
)  # fmt: skip


def _number(value: float) -> str:
    """A number as TSP's ``print`` writes it with the default ASCII precision."""
    return f"{value:.5e}"


class Keithley707BEmulator(EmulatedInstrument):
    """A Keithley 707B with 7174A cards (8 rows A-H x 12 columns) in the given slots.

    Parameters
    ----------
    circuit : BenchCircuit
        The chip behind the matrix; channel ``1A05`` is its crosspoint (row ``"A"``, column
        ``"105"``).
    name : str
        The instrument's name in transcripts and errors.
    slots : iterable of int, optional
        Slots holding a card; default every slot of the model.
    relay_settle_s : float
        Time a relay takes to close or open and settle, s (the bench file's ``relay_settle_s``).
        The default, 3 ms, is the built-in bench's value; the 7174A card's own actuation time
        was not in the references at hand to confirm it.
    connect_rule : str
        The connect rule at power-on; the instrument's default is break-before-make.
    clock : VirtualClock, optional
        Bench time; default the circuit's.
    """

    model = "707B"
    model_slots: tuple[int, ...] = (1, 2, 3, 4, 5, 6)

    def __init__(
        self,
        circuit: BenchCircuit,
        name: str = "matrix",
        slots: Iterable[int] | None = None,
        relay_settle_s: float = 3e-3,
        connect_rule: str = "BREAK_BEFORE_MAKE",
        clock: VirtualClock | None = None,
    ) -> None:
        super().__init__(name, clock or circuit.clock)
        self.circuit = circuit
        self.slots = frozenset(self.model_slots if slots is None else slots)
        if not self.slots <= set(self.model_slots):
            raise ValueError(
                f"slots {sorted(self.slots)} are not all slots of a {self.model}; "
                f"allowed: {list(self.model_slots)}"
            )
        if relay_settle_s < 0:
            raise ValueError(f"relay_settle_s must be >= 0 s; got {relay_settle_s!r}")
        if connect_rule not in CONNECT_RULES:
            raise ValueError(f"connect_rule {connect_rule!r}; allowed: {', '.join(CONNECT_RULES)}")
        self.relay_settle_s = relay_settle_s
        self.connect_rule = connect_rule
        #: Every assignment of the connect rule, as (bench time in s, rule).
        self.connect_rule_settings: list[tuple[float, str]] = []
        self.closed: set[str] = set()

    # -- the wire ----------------------------------------------------------------------------

    def handle(self, line: str) -> list[str]:
        statement = line.strip()
        head, _, rest = statement.partition(" ")
        if head.upper() in COMMON_COMMANDS:
            return self._common(head.upper(), rest)
        if statement == "errorqueue.clear()":
            self.error_queue.clear()
            return []
        if statement == "reset()":
            self._reset()
            return []
        if statement == "print(errorqueue.next())":
            return [self._next_error()]
        if statement == "print(errorqueue.count)":
            return [_number(len(self.error_queue))]
        if match := _LIST_CALL.fullmatch(statement):
            verb, text = (
                match.group(1),
                match.group(2) if match.group(2) is not None else match.group(3),
            )
            getattr(self, f"_{verb}")(text)
            return []
        if match := _SET_RULE.fullmatch(statement):
            return self._set_rule(match.group(1))
        if match := _PRINT_RULE.fullmatch(statement):
            rule = match.group(1)
            if rule not in CONNECT_RULES:
                return self._nil_field(rule)
            return ["true" if self.connect_rule == rule else "false"]
        if match := _PRINT_GETCLOSE.fullmatch(statement):
            text = match.group(1) if match.group(1) is not None else match.group(2)
            return self._getclose(text)
        if match := _PRINT.fullmatch(statement):
            printed = self._print(match.group(1))
            if printed is not None:
                return printed
        return self._not_understood(statement)

    def _common(self, head: str, rest: str) -> list[str]:
        """An IEEE 488.2 common command (see
        :meth:`~mtjlab.sim.emulators.base.EmulatedInstrument.answer_common`)."""
        try:
            reply = self.answer_common(
                head.rstrip("?"),
                split_parameters(rest),
                head.endswith("?"),
                identity=f"KEITHLEY INSTRUMENTS INC.,MODEL {self.model},{SERIAL},{REVISION}",
                reset=self._reset,
            )
        except ScpiError as refused:
            self.push_error(refused.code, refused.message)
            return []
        return [] if reply is None else [reply]

    def _print(self, text: str) -> list[str] | None:
        """``print(...)`` of values the emulator knows, tab-separated; None if an argument is
        not one of them (the statement is then not understood). A name nothing defines is
        ``nil``; a field of one is a runtime error, and nothing is printed."""
        values: list[object] = []
        for argument in split_outside_quotes(text, ",") if text.strip() else []:
            if argument == "errorqueue.next()":
                values.extend(self._next_error().split("\t"))
                continue
            if match := _GETCLOSE.fullmatch(argument):
                closed = self._getclose(
                    match.group(1) if match.group(1) is not None else match.group(2)
                )
                if not closed:
                    return []  # the channel list was refused
                values.append(closed[0])
                continue
            known = {
                "localnode.model": self.model,
                "localnode.serialno": SERIAL,
                "localnode.revision": REVISION,
                "errorqueue.count": float(len(self.error_queue)),
                "status.condition": float(
                    self.status.status_byte(
                        error_available=bool(self.error_queue),
                        message_available=bool(self._replies),
                    )
                ),
            }
            if argument in known:
                values.append(known[argument])
            elif _NUMBER.fullmatch(argument):
                values.append(float(argument))
            elif len(argument) >= 2 and argument[0] in "'\"" and argument[-1] == argument[0]:
                values.append(argument[1:-1])
            elif argument in ("nil", "true", "false"):
                values.append({"nil": None, "true": True, "false": False}[argument])
            elif _GLOBAL.fullmatch(argument) and argument not in _OWN:
                values.append(None)  # an undefined global is nil
            elif (m := _FIELD.fullmatch(argument)) and m.group(1) not in _OWN:
                self.push_error(
                    TSP_RUNTIME_ERROR,
                    f"TSP Runtime error at line 1: attempt to index global '{m.group(1)}' "
                    "(a nil value)",
                )
                return []
            else:
                return None
        return ["\t".join(print_text(v) for v in values)]

    # -- commands ----------------------------------------------------------------------------

    def _close(self, text: str) -> None:
        channels = self._channels(text, slots_allowed=False)
        if channels is not None:
            self._switch(opening=set(), closing=channels - self.closed)

    def _open(self, text: str) -> None:
        channels = self._channels(text, slots_allowed=True)
        if channels is not None:
            self._switch(opening=channels & self.closed, closing=set())

    def _exclusiveclose(self, text: str) -> None:
        channels = self._channels(text, slots_allowed=False)
        if channels is not None:
            self._switch(opening=self.closed - channels, closing=channels - self.closed)

    def _getclose(self, text: str) -> list[str]:
        channels = self._channels(text, slots_allowed=True)
        if channels is None:
            return []  # the statement failed: nothing is printed
        closed = sorted(self.closed & channels, key=lambda c: (c[0], c[1], c[2:]))
        return [";".join(closed) if closed else "nil"]

    def _set_rule(self, rule: str) -> list[str]:
        if rule not in CONNECT_RULES:
            return self._nil_field(rule)
        self.connect_rule = rule
        self.connect_rule_settings.append((self.clock.now_s, rule))
        return []

    def _reset(self) -> None:
        self._switch(opening=set(self.closed), closing=set())
        self.connect_rule = "BREAK_BEFORE_MAKE"

    # -- relays ------------------------------------------------------------------------------

    def _switch(self, opening: set[str], closing: set[str]) -> None:
        """Drive the relays in the order the connect rule sets, each phase followed by its
        settle time; ``OFF`` moves them together and waits once."""
        phases = [(opening, False), (closing, True)]
        if self.connect_rule == "MAKE_BEFORE_BREAK":
            phases.reverse()
        for channels, closed in phases:
            for channel in sorted(channels):
                self.circuit.set_crosspoint(channel[1], channel[0] + channel[2:], closed)
                (self.closed.add if closed else self.closed.discard)(channel)
            if channels and self.connect_rule != "OFF":
                self.clock.advance(self.relay_settle_s)
        if self.connect_rule == "OFF" and (opening or closing):
            self.clock.advance(self.relay_settle_s)

    # -- channel lists -----------------------------------------------------------------------

    def _channels(self, text: str, slots_allowed: bool) -> set[str] | None:
        """The channels a list names, or None (with an error queued) if any item is not a
        channel of the installed cards; ``slotX`` and ``allslots`` only where allowed."""
        items = [item.strip() for item in re.split(r"[,;]", text)]
        if items == [""]:
            return set()
        channels: set[str] = set()
        for item in items:
            if slots_allowed and item == "allslots":
                channels |= self._slot_channels(self.slots)
                continue
            slot = _SLOT.fullmatch(item)
            if slots_allowed and slot and int(slot.group(1)) in self.model_slots:
                number = int(slot.group(1))
                if number not in self.slots:
                    self._refuse(f"Parameter error, empty slot {number}")
                    return None
                channels |= self._slot_channels({number})
                continue
            match = _CHANNEL.fullmatch(item)
            if (
                match is None
                or int(match.group(1)) not in self.model_slots
                or match.group(2) not in _ROWS
                or not 1 <= int(match.group(3)) <= _COLUMNS
            ):
                self._refuse(f"Parameter error, invalid channel {item!r}")
                return None
            if int(match.group(1)) not in self.slots:
                self._refuse(f"Parameter error, empty slot {match.group(1)}")
                return None
            channels.add(item)
        return channels

    @staticmethod
    def _slot_channels(slots: Iterable[int]) -> set[str]:
        return {
            f"{slot}{row}{column:02d}"
            for slot in slots
            for row in _ROWS
            for column in range(1, _COLUMNS + 1)
        }

    # -- errors ------------------------------------------------------------------------------

    def _refuse(self, message: str) -> None:
        self.push_error(PARAMETER_ERROR, message)

    def _nil_field(self, field: str) -> list[str]:
        self.push_error(TSP_RUNTIME_ERROR, f"TSP Runtime error at line 1: field '{field}' is nil")
        return []

    def _not_understood(self, statement: str) -> list[str]:
        call = _CALL.fullmatch(statement)
        if call is not None and statement.count('"') % 2 == 0 and statement.count("'") % 2 == 0:
            self.push_error(
                TSP_RUNTIME_ERROR,
                f"TSP Runtime error at line 1: attempt to call field '{call.group(1)}' "
                "(a nil value)",
            )
        else:
            near = statement.split()[0] if statement.split() else "<eof>"
            self.push_error(
                TSP_SYNTAX_ERROR, f"TSP Syntax error at line 1: unexpected symbol near '{near}'"
            )
        return []

    def _next_error(self) -> str:
        if not self.error_queue:
            return "\t".join([_number(0), "Queue Is Empty", _number(0), _number(0)])
        code, message = self.error_queue.popleft()
        return "\t".join([_number(code), message, _number(_SEVERITY), _number(_NODE)])


class Keithley708BEmulator(Keithley707BEmulator):
    """A Keithley 708B: one slot, holding a 7174A card."""

    model = "708B"
    model_slots = (1,)
