"""User scripts on an emulated TSP instrument: ``loadscript NAME`` ... ``endscript`` loads a
script, ``NAME()`` runs it, and the functions it defines can then be called like the
instrument's own. The script runs in a real Lua interpreter (lupa); the instrument's objects
(``smua``, ``node[N]`` of its TSP-Link) reach the emulator's own attribute, call and lookup
code, so a script changes the emulated instrument exactly as the same statements sent one by
one would.

The 2600B runs Lua 5.0 and the interpreter here a later Lua; the scripts mtjlab sends use only
what both have (``ipairs``, ``table.insert``, ``table.concat``, ``error``). The standard
libraries a TSP instrument does not give a script (``os``, ``io``, ``require``, file loading,
``debug``) are not given here either. Facts on TSP-Link (Series 2600B Reference Manual,
2600BS-901-01): a remote node is ``node[N]`` and takes the commands of its own model; the
2604B, 2614B and 2634B have no TSP-Link.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from typing import Any, Protocol

import lupa

from mtjlab.sim.emulators.base import EmulatedInstrument

_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_LOADSCRIPT = re.compile(r"loadscript\s+([A-Za-z_]\w*)")
#: Globals a script is not given (no file, process or interpreter access on an instrument).
_WITHHELD = ("os", "io", "package", "require", "dofile", "loadfile", "load", "debug", "python")
#: Lua instructions one command may run before the emulator stops it, as an instrument's abort
#: would: far above what mtjlab's scripts take (a map about 10,000, inference of 178 vectors
#: about a million), so that a runaway loop ends in an error instead of a hung emulator.
MAX_INSTRUCTIONS = 50_000_000


class ScriptError(Exception):
    """A script statement the instrument refuses: the (code, message) it queues."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


class LocalObjects(Protocol):
    """What the instrument running a script gives it: its names, as its emulator reads them."""

    def script_lookup(self, name: str) -> Any:
        """The value of dotted ``name``, or raise ``LookupError`` if it is a table of names."""

    def script_assign(self, name: str, value: Any) -> None: ...

    def script_call(self, name: str, arguments: list[str]) -> list[Any]: ...


class _Local:
    """One dotted name of the instrument running the script (``smua``, ``smua.source``)."""

    __slots__ = ("runtime", "objects", "path")

    def __init__(self, runtime: ScriptRuntime, objects: LocalObjects, path: str) -> None:
        self.runtime = runtime
        self.objects = objects
        self.path = path

    def __call__(self, *arguments: Any) -> Any:
        return self.runtime.call(self, *arguments)


class _Remote:
    """One dotted name on a TSP-Link node: statements about it are sent to that node's
    emulator as the text they would be on its own interface."""

    __slots__ = ("runtime", "node", "emulator", "path", "latency_s")

    def __init__(
        self,
        runtime: ScriptRuntime,
        node: int,
        emulator: EmulatedInstrument,
        path: str,
        latency_s: float,
    ) -> None:
        self.runtime = runtime
        self.node = node
        self.emulator = emulator
        self.path = path
        self.latency_s = latency_s

    def __call__(self, *arguments: Any) -> Any:
        return self.runtime.call(self, *arguments)


def render(value: Any) -> str:
    """A Lua value as the source text of a statement argument."""
    if isinstance(value, (_Local, _Remote)):
        return value.path
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        if '"' in value or "\n" in value or "\\" in value:
            raise ScriptError(-286, f"TSP Runtime error: string {value!r} cannot be passed on")
        return f'"{value}"'
    if value is None:
        return "nil"
    if lupa.lua_type(value) == "table":
        return "{" + ",".join(render(v) for v in value.values()) + "}"
    raise ScriptError(-286, f"TSP Runtime error: a {lupa.lua_type(value)} cannot be passed on")


class ScriptRuntime:
    """The scripts of one emulated TSP instrument and the Lua state they run in.

    Parameters
    ----------
    objects : LocalObjects
        The instrument's own names (``smua`` and so on) reach it through this.
    local_names : tuple of str
        The instrument's top-level names a script sees (``("smua", "smub")``).
    clock_advance : callable
        ``delay(s)`` advances bench time by this.
    """

    def __init__(
        self,
        objects: LocalObjects,
        local_names: tuple[str, ...],
        clock_advance: Callable[[float], None],
    ) -> None:
        self.lua = lupa.LuaRuntime(
            unpack_returned_tuples=True,
            register_eval=False,
            register_builtins=False,
            attribute_handlers=(self._get, self._set),
        )
        g = self.lua.globals()
        self._set_hook = g.debug.sethook  # kept for the instruction limit, then withheld
        self._over_limit = self.lua.eval(
            "function() error('script stopped: over its instruction limit') end"
        )
        for name in _WITHHELD:
            g[name] = None
        self._output: list[str] = []
        for name in local_names:
            g[name] = _Local(self, objects, name)
        g.delay = self._delay
        g.print = self._print
        g.node = self.lua.table()
        self._clock_advance = clock_advance
        self._builtin = set(g.keys())
        self._loading: tuple[str, list[str]] | None = None
        # The instrument's names that are tables (``smua.measure``): a name is a table or a
        # value for good, and a script's loop asks the same ones thousands of times. Each is
        # still a fresh _Local: with one object per name, the scan script's
        # meter.measure.i(meter.nvbuffer1) reached the emulator with meter.measure as its
        # argument (seen with lupa 2.8).
        self._tables: set[str] = set()

    # -- the instrument's side ---------------------------------------------------------------

    def link(self, node: int, emulator: EmulatedInstrument, latency_s: float) -> None:
        """Make ``emulator`` node ``node`` of this instrument's TSP-Link; each statement sent
        to it there takes ``latency_s`` of bench time."""
        self.lua.globals().node[node] = _Remote(self, node, emulator, "", latency_s)

    @property
    def loading(self) -> bool:
        """True between ``loadscript`` and ``endscript``."""
        return self._loading is not None

    def take_line(self, line: str) -> bool:
        """Take ``line`` if it starts, continues or ends a script; False if it is not one."""
        statement = line.strip()
        if self._loading is not None:
            if statement == "endscript":
                name, body = self._loading
                self._loading = None
                self._define(name, body)
            else:
                self._loading[1].append(line)
            return True
        match = _LOADSCRIPT.fullmatch(statement)
        if match is None:
            return False
        self._loading = (match.group(1), [])
        return True

    def runs(self, statement: str) -> bool:
        """True if ``statement`` starts with a name a script defined (it runs in Lua)."""
        match = _IDENTIFIER.match(statement.strip())
        if match is None or match.group() in self._builtin:
            return False
        return self.lua.globals()[match.group()] is not None

    def run(self, statement: str) -> list[str]:
        """Run ``statement`` in Lua; the lines it printed."""
        self._output = []
        self._set_hook(self._over_limit, "", MAX_INSTRUCTIONS)  # counts from now
        try:
            self.lua.execute(statement)
        except lupa.LuaSyntaxError as error:
            raise ScriptError(-285, f"TSP Syntax error {_where(error)}") from None
        except lupa.LuaError as error:
            raise ScriptError(-286, f"TSP Runtime error {_where(error)}") from None
        return self._output

    def _define(self, name: str, body: list[str]) -> None:
        source = "\n".join(body)
        try:
            chunk = self.lua.execute(f"return function()\n{source}\nend")
        except lupa.LuaSyntaxError as error:
            # the body starts on the wrapper's second line
            raise ScriptError(-285, f"TSP Syntax error {_where(error, 1)}") from None
        self.lua.globals()[name] = chunk

    # -- what a script's statements do -------------------------------------------------------

    def _get(self, obj: Any, name: str) -> Any:
        if isinstance(obj, _Local):
            path = f"{obj.path}.{name}"
            if path in self._tables:
                return _Local(self, obj.objects, path)
            try:
                value = obj.objects.script_lookup(path)
            except LookupError:
                self._tables.add(path)
                return _Local(self, obj.objects, path)
            if isinstance(value, list):
                return self.lua.table_from(value)
            return value
        if isinstance(obj, _Remote):
            path = f"{obj.path}.{name}" if obj.path else name
            return _Remote(self, obj.node, obj.emulator, path, obj.latency_s)
        raise ScriptError(-286, f"TSP Runtime error: attempt to index a {type(obj).__name__}")

    def _set(self, obj: Any, name: str, value: Any) -> None:
        if isinstance(obj, _Local):
            obj.objects.script_assign(f"{obj.path}.{name}", value)
        elif isinstance(obj, _Remote):
            path = f"{obj.path}.{name}" if obj.path else name
            self._send(obj, f"{path} = {render(value)}")
        else:
            raise ScriptError(-286, f"TSP Runtime error: attempt to set a {type(obj).__name__}")

    def _send(self, remote: _Remote, statement: str) -> list[str]:
        """Send one statement to a TSP-Link node; its error, if it queues one, stops the
        script here (and leaves the node's queue as it was)."""
        emulator = remote.emulator
        emulator.clock.advance(remote.latency_s)
        before = len(emulator.error_queue)
        replies = emulator.handle(statement)
        if len(emulator.error_queue) > before:
            code, message = emulator.error_queue.pop()
            raise ScriptError(code, f"node[{remote.node}]: {message}")
        return replies

    def call(self, obj: Any, *arguments: Any) -> Any:
        """A call of a name of the instrument or of a node (``smua.measure.i(...)``)."""
        texts = [render(a) for a in arguments]
        if isinstance(obj, _Local):
            values = obj.objects.script_call(obj.path, texts)
            return tuple(values) if len(values) != 1 else values[0]
        if isinstance(obj, _Remote):
            self._send(obj, f"{obj.path}({', '.join(texts)})")
            return None
        raise ScriptError(-286, f"TSP Runtime error: attempt to call a {type(obj).__name__}")

    def _delay(self, seconds: Any) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ScriptError(-286, f"TSP Runtime error: bad argument to 'delay' ({seconds!r})")
        self._clock_advance(float(seconds))

    def _print(self, *values: Any) -> None:
        self._output.append("\t".join(print_text(v) for v in values))


def print_text(value: Any) -> str:
    """One value as TSP's ``print`` writes it: numbers with the default ASCII precision
    (``%.5e``), ``nil``, ``true``/``false``, strings as they are."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{float(value):.5e}"
    if isinstance(value, str):
        return value
    # a table (an instrument's object, a buffer): Lua prints its kind and address; the
    # address here is made from its name, so that the same table prints the same every run
    name = getattr(value, "path", type(value).__name__)
    return f"table: 0x{zlib.crc32(name.encode()):08x}"


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


_CHUNK = re.compile(r"(?:error loading code: )?\[string \"[^\"]*\"\]:(\d+): ")


def _where(error: Exception, lines_before: int = 0) -> str:
    """A Lua error as the instrument words the rest of its message: ``at line N: ...`` (the
    line of the statement or script body, not of the chunk Lua was given)."""
    text = _first_line(error)
    m = _CHUNK.match(text)
    if m is None:
        return f"at line 1: {text}"
    return f"at line {max(int(m.group(1)) - lines_before, 1)}: {text[m.end() :]}"
