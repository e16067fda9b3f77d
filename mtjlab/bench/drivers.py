"""A bench's drivers, built for each instrument of a bench file with the file's options, and the
check that each instrument answers and every crosspoint of the wiring switches, before anything is
sourced."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from mtjlab.bench.file import crosspoint
from mtjlab.bench.transcript import wire_logger, wire_names
from mtjlab.core.wiring import Bench, InstrumentEntry
from mtjlab.instruments import SwitchMatrix, driver_for
from mtjlab.instruments._errors import try_every
from mtjlab.instruments.roles import LinkedMatrixScanner
from mtjlab.instruments.serial_matrix import SerialRelayMatrix


@dataclass(frozen=True)
class CheckRow:
    """One line of ``mtjlab bench check``: what was checked, what it showed, whether it is ok."""

    item: str
    detail: str
    result: str
    ok: bool


#: How a bench file's ``resource`` reaches an instrument, by :func:`connection`.
VISA = "VISA resource"
SERIAL = "serial port or URL"


def connection(model: str) -> str:
    """How the bench file's ``resource`` of a ``model`` instrument is opened: :data:`SERIAL` (a
    pyserial port name or URL, such as ``COM3`` or ``socket://host:port``) for the serial relay
    matrix, whose driver opens the port itself; :data:`VISA` (a VISA resource string, on
    whatever interface VISA reaches it) for every other driver, which is given a VISA session."""
    return SERIAL if issubclass(driver_for(model), SerialRelayMatrix) else VISA


def one_line(exc: Exception) -> str:
    """``exc`` as one line, its type first (a VISA or driver message may span several)."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def _driver(
    entry: InstrumentEntry,
    adapter: Callable[[InstrumentEntry, int | None], object],
    serial_url: Callable[[InstrumentEntry], str],
    wire: str,
) -> object:
    """The driver, its adapter logging on wire ``wire`` (the transcript's name for it) before
    the driver's first word."""
    options = dict(entry.options)
    timeout_ms = options.pop("timeout", None)
    if connection(entry.model) == SERIAL:
        driver = driver_for(entry.model)(serial_url(entry), **options)
        _on_wire(getattr(driver, "adapter", None), wire)
        return driver
    session = adapter(entry, timeout_ms)
    _on_wire(session, wire)
    return driver_for(entry.model)(session, **options)


def _on_wire(adapter: object, wire: str) -> None:
    if isinstance(getattr(adapter, "log", None), logging.Logger):
        adapter.log = wire_logger(wire)  # type: ignore[union-attr]


def build_drivers(
    bench: Bench,
    adapter: Callable[[InstrumentEntry, int | None], object],
    serial_url: Callable[[InstrumentEntry], str],
    *,
    named_errors: bool = False,
) -> dict[str, object]:
    """mtjlab's driver of every instrument of ``bench``, with the file's options: a VISA
    instrument on ``adapter(entry, timeout_ms)`` (instruments at one resource get the same
    one), the serial matrix at ``serial_url(entry)``. The first instrument that cannot be
    connected stops it: with ``named_errors`` as a one-line ConnectionError naming the file,
    the instrument and its resource, else with the driver's own exception."""
    drivers: dict[str, object] = {}
    wires = wire_names(bench)
    for name, entry in bench.instruments.items():
        try:
            drivers[name] = _driver(entry, adapter, serial_url, wires[entry.resource])
        except Exception as exc:
            if not named_errors:
                raise
            raise ConnectionError(
                f"{bench.source}: instrument {name} ({entry.model}) at {entry.resource}: "
                f"cannot connect: {one_line(exc)}"
            ) from exc
    return drivers


def build_reachable_drivers(
    bench: Bench,
    adapter: Callable[[InstrumentEntry, int | None], object],
    serial_url: Callable[[InstrumentEntry], str],
) -> tuple[dict[str, object], dict[str, str]]:
    """As :func:`build_drivers`, for :func:`check`, which reports what it cannot reach rather
    than stopping there: every instrument is tried. Returns the drivers of those connected and,
    by name, the one-line reason each of the others could not be."""
    drivers: dict[str, object] = {}
    unreachable: dict[str, str] = {}
    wires = wire_names(bench)
    for name, entry in bench.instruments.items():
        try:
            drivers[name] = _driver(entry, adapter, serial_url, wires[entry.resource])
        except Exception as exc:  # noqa: BLE001 - the check reports it
            unreachable[name] = one_line(exc)
    return drivers, unreachable


def _check_link(bench: Bench, drivers: dict[str, object]) -> CheckRow:
    """Whether the read source-meter reaches the matrix's TSP-Link node (maps run there)."""
    reader_name = str(bench.terminals["smu_hi"].instrument)
    node = bench.tsp_link_node
    label = f"TSP-Link node {node}"
    try:
        reader = drivers[reader_name]
        if not isinstance(reader, LinkedMatrixScanner):
            raise TypeError(f"{type(reader).__name__} has no TSP-Link")
        reached = reader.reaches_node(node)
    except Exception as exc:  # noqa: BLE001 - the table reports it
        return CheckRow(label, f"from {reader_name}", f"failed: {exc}", False)
    if reached:
        return CheckRow(label, f"from {reader_name}", f"{bench.matrix} reached", True)
    return CheckRow(
        label,
        f"from {reader_name}",
        f"no node {node} on its link (tsplink.reset() run? node number set on {bench.matrix}?)",
        False,
    )


def identify(driver: object) -> str:
    """What the instrument says it is (``*IDN?``, or the serial matrix's ``IDN?``)."""
    if isinstance(driver, SerialRelayMatrix):
        return driver.id
    return str(driver.ask("*IDN?")).strip()  # type: ignore[attr-defined]


def _not_done(needed: list[str]) -> str:
    return f"not done: needs {', '.join(needed)}"


def check(
    bench: Bench, drivers: dict[str, object], unreachable: dict[str, str] | None = None
) -> list[CheckRow]:
    """Identify every instrument, then, with every source off, close each terminal onto every
    pad of each wired array in turn, read the matrix back and open it again.

    Nothing is sourced: the sources are put in their safe state first and stay there. An
    instrument in ``unreachable`` (name -> why it could not be connected; it has no driver),
    one that does not identify and one that does not go to its safe state each get a row
    saying so, and every later check that needs one of them is reported as not done, not
    tried: no relay is closed onto a terminal whose instrument is not known to be safe, and
    an instrument that did not identify is sent nothing more.
    """
    unreachable = unreachable or {}
    rows: list[CheckRow] = []
    failed: set[str] = set()  # the instruments whose check failed
    asked: dict[str, str] = {}  # resource -> the instrument asked at it
    answered: set[str] = set()  # the resources that answered
    for name, entry in bench.instruments.items():
        if name in unreachable:
            result = f"cannot connect at {entry.resource}: {unreachable[name]}"
        elif entry.resource in answered:
            rows.append(CheckRow(name, entry.model, "shares its resource, identified above", True))
            continue
        elif entry.resource in asked:  # asking again would only wait for its timeout again
            result = f"not asked at {entry.resource}: {asked[entry.resource]} there did not answer"
        else:
            asked[entry.resource] = name
            try:
                rows.append(CheckRow(name, entry.model, identify(drivers[name]), True))
                answered.add(entry.resource)
                continue
            except Exception as exc:  # noqa: BLE001 - the table reports it
                result = f"no answer at {entry.resource}: {one_line(exc)}"
        rows.append(CheckRow(name, entry.model, result, False))
        failed.add(name)
    # an instrument that did not answer is sent nothing more: each command would only wait for
    # its timeout, and nothing is switched onto its terminals, so the chip never meets it
    sources = [
        (n, d.safe_state)  # type: ignore[attr-defined]
        for n, d in drivers.items()
        if n != bench.matrix and n not in failed
    ]
    for name, failure in try_every(sources):
        rows.append(CheckRow(name, "safe state", f"failed: {failure}", False))
        failed.add(name)
    if bench.tsp_link_node is not None:
        reader_name = str(bench.terminals["smu_hi"].instrument)
        needed = [n for n in (reader_name, bench.matrix) if n in failed]
        if needed:
            label = f"TSP-Link node {bench.tsp_link_node}"
            rows.append(CheckRow(label, f"from {reader_name}", _not_done(needed), False))
        else:
            rows.append(_check_link(bench, drivers))
    for index, wiring in bench.arrays.items():
        pads = list(wiring.rows) + list(wiring.cols)
        for terminal, wired in bench.terminals.items():
            wanted = sorted(crosspoint(bench, terminal, pad) for pad in pads)
            label = f"array {index} <- {terminal}"
            what = f"{len(wanted)} crosspoints"
            needed = [n for n in (bench.matrix, wired.instrument) if n in failed]
            if needed:
                rows.append(CheckRow(label, what, _not_done(needed), False))
                continue
            matrix = drivers[bench.matrix]
            assert isinstance(matrix, SwitchMatrix)
            try:
                matrix.exclusive_close(wanted)
                held = sorted(matrix.closed())
                matrix.open_all()
            except Exception as exc:  # noqa: BLE001
                rows.append(CheckRow(label, what, f"failed: {exc}", False))
                continue
            ok = held == wanted
            result = "all closed and read back" if ok else f"read back {len(held)} of them"
            rows.append(CheckRow(label, what, result, ok))
    if bench.matrix not in failed:
        try:
            drivers[bench.matrix].safe_state()  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001
            rows.append(CheckRow(bench.matrix, "safe state", f"failed: {exc}", False))
    return rows
