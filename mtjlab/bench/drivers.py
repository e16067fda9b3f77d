"""A bench's drivers, built for each instrument of a bench file with the file's options, and the
check that each instrument answers and every crosspoint of the wiring switches, before anything is
sourced."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mtjlab.bench.file import crosspoint
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


def build_drivers(
    bench: Bench,
    adapter: Callable[[InstrumentEntry, int | None], object],
    serial_url: Callable[[InstrumentEntry], str],
    *,
    named_errors: bool = False,
) -> dict[str, object]:
    """mtjlab's driver of every instrument of ``bench``, with the file's options: a VISA
    instrument on ``adapter(entry, timeout_ms)`` (instruments at one resource get the same
    one), the serial matrix at ``serial_url(entry)``. With ``named_errors`` a failure to
    connect is a ConnectionError naming the file, the instrument and its resource."""
    drivers: dict[str, object] = {}
    for name, entry in bench.instruments.items():
        options = dict(entry.options)
        timeout_ms = options.pop("timeout", None)
        try:
            if connection(entry.model) == SERIAL:
                drivers[name] = driver_for(entry.model)(serial_url(entry), **options)
            else:
                drivers[name] = driver_for(entry.model)(adapter(entry, timeout_ms), **options)
        except Exception as exc:
            if not named_errors:
                raise
            raise ConnectionError(
                f"{bench.source}: instrument {name} ({entry.model}) at {entry.resource}: "
                f"cannot connect: {type(exc).__name__}: {exc}"
            ) from exc
    return drivers


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


def check(bench: Bench, drivers: dict[str, object]) -> list[CheckRow]:
    """Identify every instrument, then, with every source off, close each terminal onto every
    pad of each wired array in turn, read the matrix back and open it again.

    Nothing is sourced: the sources are put in their safe state first and stay there.
    """

    rows: list[CheckRow] = []
    seen_resources: set[str] = set()
    for name, entry in bench.instruments.items():
        if entry.resource in seen_resources:
            rows.append(CheckRow(name, entry.model, "shares its resource, identified above", True))
            continue
        seen_resources.add(entry.resource)
        try:
            rows.append(CheckRow(name, entry.model, identify(drivers[name]), True))
        except Exception as exc:  # noqa: BLE001 - the table reports it
            rows.append(CheckRow(name, entry.model, f"no answer: {exc}", False))
    sources = [(n, d.safe_state) for n, d in drivers.items() if n != bench.matrix]  # type: ignore[attr-defined]
    for name, failure in try_every(sources):
        rows.append(CheckRow(name, "safe state", f"failed: {failure}", False))
    if bench.tsp_link_node is not None:
        rows.append(_check_link(bench, drivers))
    matrix = drivers[bench.matrix]
    assert isinstance(matrix, SwitchMatrix)
    for index, wiring in bench.arrays.items():
        pads = list(wiring.rows) + list(wiring.cols)
        for terminal in bench.terminals:
            wanted = sorted(crosspoint(bench, terminal, pad) for pad in pads)
            label = f"array {index} <- {terminal}"
            try:
                matrix.exclusive_close(wanted)
                held = sorted(matrix.closed())
                matrix.open_all()
            except Exception as exc:  # noqa: BLE001
                rows.append(CheckRow(label, f"{len(wanted)} crosspoints", f"failed: {exc}", False))
                continue
            ok = held == wanted
            result = "all closed and read back" if ok else f"read back {len(held)} of them"
            rows.append(CheckRow(label, f"{len(wanted)} crosspoints", result, ok))
    try:
        matrix.safe_state()
    except Exception as exc:  # noqa: BLE001
        rows.append(CheckRow(bench.matrix, "safe state", f"failed: {exc}", False))
    return rows
