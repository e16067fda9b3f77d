"""The emulated bench served on 127.0.0.1: every instrument of an emulated bench file on a TCP
socket of its own, so pyvisa-py (``TCPIP0::127.0.0.1::PORT::SOCKET``), pyserial
(``socket://127.0.0.1:PORT``) and any lab software reach the emulated chip as they reach a bench.

:class:`ServedBench` owns the sockets, one thread each, all acting on one :class:`EmulatedBench`
(one chip, one virtual clock) under one lock; :meth:`ServedBench.bench_text` is the bench file
that points mtjlab at them. What a client sees, and the faults it can be given, are in
``docs/bench-serve.md``.
"""

from __future__ import annotations

import re
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from mtjlab.bench.drivers import SERIAL, connection
from mtjlab.bench.emulated import EmulatedBench
from mtjlab.bench.file import parse_bench_text
from mtjlab.bench.session import SOCKET_TERMINATION
from mtjlab.core.wiring import Bench
from mtjlab.sim.emulators.base import EmulatedInstrument, EmulatorTimeout
from mtjlab.sim.limits import chip_limits

#: The only address served: the emulated chip is for this computer's programs, not the network.
HOST = "127.0.0.1"
#: Both directions end a message with a line feed: what mtjlab sets on a VISA socket (a raw
#: socket has no end-of-message signal of its own, so a VISA client sets ``read_termination``),
#: and the serial matrix's own line protocol (docs/instruments.md).
LINE_END = SOCKET_TERMINATION.encode("ascii")
#: How often a waiting thread looks whether the bench is being stopped, s.
POLL_S = 0.05
#: TCP_QUICKACK where the system has it (Linux); elsewhere replies still go, only slower.
QUICKACK = getattr(socket, "TCP_QUICKACK", None)
#: The longest command line taken: far above any (a TSP script is sent line by line); a client
#: that sends more without a line feed is disconnected rather than buffered without end.
MAX_LINE_BYTES = 1 << 20
#: How long a reply may wait for a client that does not read it before the client counts as gone.
SEND_TIMEOUT_S = 10.0
#: The first line of every bench file :meth:`ServedBench.write_bench` writes: a file that starts
#: otherwise is not replaced.
SERVED_HEADER = "# Written by `mtjlab bench serve`: "

#: The slowest pacing taken: wall seconds per second of bench time.
MAX_PACE = 1000.0
#: Fault actions, as ``--fault`` spells them.
DROP, DELAY, GARBLE = "drop", "delay", "garble"
FAULT_FORM = "INSTRUMENT:ACTION:WHEN, ACTION drop, garble or delay=SECONDS, WHEN N or /REGEX/"


@dataclass(frozen=True)
class Fault:
    """One fault injected over the wire, once, at one instrument's socket.

    Attributes
    ----------
    instrument : str
        The bench file's instrument name; instruments that share a resource share its socket,
        and its count of commands.
    action : str
        ``"drop"``: the connection is closed when the command arrives, before it is acted on.
        ``"delay"``: the command is acted on, and the first reply from then on is held back
        ``delay_s`` seconds of wall time (commands sent meanwhile wait their turn, as on a
        busy instrument). ``"garble"``: the first reply from then on is sent reversed.
    delay_s : float
        How long a delayed reply is held back, s (0 for the other actions).
    after : int or None
        The fault fires at the ``after``-th command line the socket receives (from 1, counted
        over every client since the bench was served)...
    pattern : str or None
        ... or at the first command line this regular expression matches (``re.search``).
    """

    instrument: str
    action: str
    delay_s: float = 0.0
    after: int | None = None
    pattern: str | None = None

    @classmethod
    def parse(cls, text: str) -> Fault:
        """A fault as ``--fault`` writes it: ``INSTRUMENT:ACTION:WHEN``, e.g. ``smu_a:drop:40``
        (at the 40th command), ``matrix:garble:/getclose/`` or ``smu_a:delay=2.5:/printbuffer/``.
        """
        parts = text.split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"fault {text!r}: expected {FAULT_FORM}")
        instrument, action, when = parts
        delay_s = 0.0
        if action.startswith(f"{DELAY}="):
            action, seconds = action.split("=", 1)
            try:
                delay_s = float(seconds)
            except ValueError:
                delay_s = float("nan")
            if not 0 < delay_s <= 3600:
                raise ValueError(f"fault {text!r}: delay={seconds}: expected 0 < SECONDS <= 3600")
        elif action not in (DROP, GARBLE):
            raise ValueError(f"fault {text!r}: action {action!r}: expected {FAULT_FORM}")
        if len(when) >= 2 and when.startswith("/") and when.endswith("/"):
            try:
                re.compile(when[1:-1])
            except re.error as exc:
                raise ValueError(
                    f"fault {text!r}: {when} is not a regular expression: {exc}"
                ) from None
            return cls(instrument, action, delay_s, pattern=when[1:-1])
        if not when.isdigit() or int(when) < 1:
            raise ValueError(f"fault {text!r}: when {when!r}: expected a command number >= 1 "
                             "or /REGEX/")  # fmt: skip
        return cls(instrument, action, delay_s, after=int(when))

    def fires(self, number: int, line: str) -> bool:
        """Whether it fires at the ``number``-th command line, ``line``."""
        if self.after is not None:
            return number >= self.after  # (a second fault at the same number: the next line)
        assert self.pattern is not None
        return re.search(self.pattern, line) is not None

    def __str__(self) -> str:
        action = f"{DELAY}={self.delay_s:g}" if self.action == DELAY else self.action
        when = str(self.after) if self.after is not None else f"/{self.pattern}/"
        return f"{self.instrument}:{action}:{when}"


class _Client:
    """One connection's buffers: what came in and is not acted on yet, whether the client has
    closed its end, whether replies can still reach it."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.incoming = bytearray()
        self.closed_by_client = False
        self.reachable = True


MAX_PORT = 65535


class ServedSocket:
    """One socket of a served bench: one instrument (the instruments at one resource of the
    bench file), one client at a time; a second client's connection waits in the listening
    queue until the first one closes, and its commands are acted on from then."""

    def __init__(
        self,
        served: ServedBench,
        resource: str,
        names: list[str],
        model: str,
        faults: list[Fault],
        port: int = 0,
    ) -> None:
        self.served = served
        self.resource = resource
        self.names = names
        self.model = model
        self.emulator: EmulatedInstrument = served.emulated.emulators[resource]
        self.serial = connection(model) == SERIAL
        self.faults = list(faults)  # waiting to fire
        #: Command lines received so far, over every client.
        self.commands = 0
        self.clients = 0
        self._delay_s = 0.0  # a delayed reply's hold, armed by a fault
        self._garble = False
        try:
            self.listener = socket.create_server((HOST, port))
        except OSError as exc:
            raise OSError(
                f"cannot serve {'+'.join(names)} on {HOST}:{port} ({exc.strerror or exc}); "
                "choose another --port, or 0 for free ones"
            ) from None
        self.port = self.listener.getsockname()[1]
        #: Set while no client is connected (its commands all acted on).
        self.idle = threading.Event()
        self.idle.set()
        self.thread = threading.Thread(
            target=self._serve, name=f"mtjlab-serve-{names[0]}", daemon=True
        )

    @property
    def address(self) -> str:
        """What a client opens: a VISA resource, or a pyserial URL for the serial matrix."""
        if self.serial:
            return f"socket://{HOST}:{self.port}"
        return f"TCPIP0::{HOST}::{self.port}::SOCKET"

    def _stopping(self) -> bool:
        return self.served.stopping.is_set()

    def _serve(self) -> None:
        with self.listener:
            while not self._stopping():
                ready, _, _ = select.select([self.listener], [], [], POLL_S)
                if not ready:
                    continue
                try:
                    conn, peer = self.listener.accept()
                except OSError:
                    continue
                self.clients += 1
                self.idle.clear()
                self.served.log(f"{self.names[0]}: client {peer[0]}:{peer[1]} connected")
                try:
                    with conn:
                        conn.settimeout(SEND_TIMEOUT_S)
                        # replies go out as soon as they are made, as an instrument's do
                        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        self._session(_Client(conn))
                finally:
                    self.idle.set()
                self.served.log(f"{self.names[0]}: client {peer[0]}:{peer[1]} gone")

    def _session(self, client: _Client) -> None:
        while not self._stopping():
            line = self._next_line(client)
            if line is None:
                return
            if not self._act(client, line):
                return

    def _next_line(self, client: _Client) -> str | None:
        """The next command line, waiting for it; None once the client is gone (or the bench
        stops, or the client sends an endless line)."""
        while True:
            end = client.incoming.find(LINE_END)
            if end >= 0:
                raw = bytes(client.incoming[:end])
                del client.incoming[: end + 1]
                if not self.serial:
                    # an IEEE 488.2 instrument takes CR LF as LF, and an empty message as none
                    raw = raw.removesuffix(b"\r")
                    if not raw.strip():
                        continue
                return raw.decode("latin-1")
            if client.closed_by_client or len(client.incoming) > MAX_LINE_BYTES:
                if client.incoming and not client.closed_by_client:
                    self.served.log(f"{self.names[0]}: a line over {MAX_LINE_BYTES} bytes; "
                                    "disconnected")  # fmt: skip
                return None
            if self._stopping():
                return None
            self._receive(client, POLL_S)

    def _receive(self, client: _Client, wait_s: float) -> None:
        """Take in what the client sent within ``wait_s`` (what a busy instrument's input
        buffer does while it works)."""
        if client.closed_by_client:
            time.sleep(wait_s)
            return
        ready, _, _ = select.select([client.conn], [], [], wait_s)
        if not ready:
            return
        try:
            data = client.conn.recv(65536)
            if data and QUICKACK is not None:
                # Acknowledge at once: a client's next short command waits for this ACK
                # (Nagle's algorithm; pyvisa-py leaves it on), and a command with no reply would
                # otherwise wait for the delayed ACK, tens of ms each. Linux resets it after
                # every receive.
                client.conn.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
        except OSError:
            data = b""
        if data:
            client.incoming += data
        else:
            client.closed_by_client = True

    def _hold(self, client: _Client, seconds: float) -> None:
        """Let ``seconds`` of wall time pass, still buffering what the client sends."""
        end = time.monotonic() + seconds
        while not self._stopping() and (left := end - time.monotonic()) > 0:
            self._receive(client, min(left, POLL_S))

    def _act(self, client: _Client, line: str) -> bool:
        """Act on one command line and send its replies; False if the connection is to end."""
        self.commands += 1
        fault = next((f for f in self.faults if f.fires(self.commands, line)), None)
        if fault is not None:
            self.faults.remove(fault)
            self.served.log(f"fault {fault}: fired at command {self.commands} {line[:60]!r}")
            if fault.action == DROP:
                return False
            if fault.action == DELAY:
                self._delay_s += fault.delay_s
            else:
                self._garble = True
        with self.served.lock:  # the chip, circuit and clock are the whole bench's
            before_s = self.emulator.clock.now_s
            self.emulator.write(line)
            replies = []
            while True:
                try:
                    replies.append(self.emulator.read())
                except EmulatorTimeout:  # no reply is due
                    break
            took_s = self.emulator.clock.now_s - before_s
        if self.served.pace > 0:
            self._hold(client, self.served.pace * took_s)
        for reply in replies:
            if self._delay_s > 0:
                self._hold(client, self._delay_s)
                self._delay_s = 0.0
            if self._garble:
                reply = reply[::-1] if len(set(reply)) > 1 else reply + "?"
                self._garble = False
            self._send(client, reply)
        return True

    def _send(self, client: _Client, reply: str) -> None:
        if not client.reachable:
            return  # commands already received are still acted on, as an instrument does
        try:
            client.conn.sendall(reply.encode("latin-1") + LINE_END)
        except OSError:
            client.reachable = False


class ServedBench:
    """Every instrument of an emulated bench on a 127.0.0.1 socket of its own.

    Parameters
    ----------
    bench : Bench
        A checked bench file of kind emulated.
    pace : float
        Wall time per second of bench time each command takes on the emulators' virtual clock
        (a map that takes 5 s of bench time then takes 5 s at 1); 0, the default, answers at
        once. At 1 a client's timeouts meet the replies as they would on the bench.
    faults : iterable of Fault
        Faults to inject, each once.
    port : int
        The first instrument's port, the next ones' the ports after it in the bench file's
        order, so a served bench file stays right from one start to the next; 0, the default,
        takes free ports (others each time).
    log : callable, optional
        Called with one line for each client that comes and goes and each fault that fires.

    Use it as ``with ServedBench(bench) as served:``; ``served.address(name)`` is where
    instrument ``name`` is served, ``served.bench_text(source)`` the bench file pointing there.
    """

    def __init__(
        self,
        bench: Bench,
        *,
        pace: float = 0.0,
        faults: Iterable[Fault] = (),
        port: int = 0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= MAX_PORT:
            raise ValueError(f"port={port!r}: expected 0 (free ports) or 1 to {MAX_PORT}")
        if port and port + len({e.resource for e in bench.instruments.values()}) - 1 > MAX_PORT:
            raise ValueError(f"port={port}: its instruments would go past port {MAX_PORT}")
        number = isinstance(pace, (int, float)) and not isinstance(pace, bool)
        if not (number and 0 <= pace <= MAX_PACE):
            raise ValueError(f"pace={pace!r}: expected a number from 0 (no pacing) to {MAX_PACE:g}")
        self.emulated = EmulatedBench(bench)  # a bench that is not emulated is refused here
        self.bench = bench
        self.pace = float(pace)
        self.log = log or (lambda line: None)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        faults = list(faults)
        unknown = sorted({f.instrument for f in faults} - set(bench.instruments))
        if unknown:
            raise ValueError(f"fault on {', '.join(unknown)}: bench {bench.source} has no such "
                             f"instrument; it has {', '.join(bench.instruments)}")  # fmt: skip
        by_resource: dict[str, list[str]] = {}
        for name, entry in bench.instruments.items():
            by_resource.setdefault(entry.resource, []).append(name)
        self.sockets: dict[str, ServedSocket] = {}
        try:
            for i, (resource, names) in enumerate(by_resource.items()):
                mine = [f for f in faults if f.instrument in names]
                model = bench.instruments[names[0]].model
                at = port + i if port else 0
                self.sockets[resource] = ServedSocket(self, resource, names, model, mine, at)
        except OSError:
            self._close_listeners()
            raise

    def start(self) -> ServedBench:
        for served in self.sockets.values():
            served.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: each thread ends within about POLL_S (a held reply is not sent)."""
        self.stopping.set()
        for served in self.sockets.values():
            if served.thread.is_alive():
                served.thread.join(timeout=5.0)
        self._close_listeners()

    def _close_listeners(self) -> None:
        for served in self.sockets.values():
            served.listener.close()

    def __enter__(self) -> ServedBench:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- where the instruments are ----------------------------------------------------------------

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no client is connected to any socket (what each sent acted on); False
        if one still is after ``timeout_s``."""
        end = time.monotonic() + timeout_s
        return all(s.idle.wait(max(0.0, end - time.monotonic())) for s in self.sockets.values())

    def socket_of(self, name: str) -> ServedSocket:
        """The socket instrument ``name`` of the bench file is served on."""
        return self.sockets[self.bench.instruments[name].resource]

    def address(self, name: str) -> str:
        """Where instrument ``name`` is served: a VISA resource, or a pyserial URL."""
        return self.socket_of(name).address

    def emulator(self, name: str) -> EmulatedInstrument:
        """The emulator behind instrument ``name``."""
        return self.emulated.emulator(name)

    def commands(self) -> int:
        """Command lines received so far, on every socket."""
        return sum(s.commands for s in self.sockets.values())

    def bench_text(self, text: str, source: str) -> str:
        """The bench file ``text`` (read from ``source``) made to point at the served sockets:
        kind ``real``, so mtjlab opens them through pyvisa-py and pyserial as a bench's
        instruments; the resources changed; the chip section replaced by a comment saying the
        chip is emulated behind the sockets; the chip's own limits stated if the file states
        none (a real bench file states every limit). The rest is as it was, comments aside."""
        chip = self.bench.chip
        assert chip is not None  # an emulated bench's, checked
        data = yaml.safe_load(text)
        del data["chip"]
        data["kind"] = "real"
        for name, entry in data["instruments"].items():
            entry["resource"] = self.address(name)
        header = [
            f"{SERVED_HEADER}{source} served on {HOST}.",
            "# The instruments below are emulators, and the chip behind them is simulated, not a",
            f"# real one: chip seed {chip['seed']}, preset {chip['preset']}"
            + "".join(f", {k}={v}" for k, v in chip["changes"].items())
            + ".",
            "# Valid while that `mtjlab bench serve` runs; its next start writes new ports here.",
        ]
        if "limits" not in data:
            limits = chip_limits(self.emulated.chip).as_dict()
            limits.pop("reasons")
            data["limits"] = limits
            header.append("# The limits are the simulated chip's own (the bench file states none).")
        body = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
        served = "\n".join(header) + "\n" + body
        parse_bench_text(served, "the served bench file")  # what it writes is a bench file
        return served

    def write_bench(self, path: Path, text: str, source: str) -> str:
        """Write :meth:`bench_text` to ``path``; an existing file is replaced only if a served
        bench wrote it (its first line says so). Returns what was written."""
        served = self.bench_text(text, source)
        if path.exists():
            try:
                first = path.read_text(encoding="utf-8").split("\n", 1)[0]
            except (OSError, UnicodeDecodeError):
                first = ""
            if not first.startswith(SERVED_HEADER):
                raise FileExistsError(
                    f"{path} exists and is not a bench file `mtjlab bench serve` wrote; "
                    "give another --write-bench"
                )
        path.write_text(served, encoding="utf-8")
        return served
