"""`mtjlab bench serve`: the emulated bench on real 127.0.0.1 sockets. mtjlab's own runs go
through pyvisa-py's TCPIP SOCKET transport and pyserial's socket:// URL and read what the
in-process emulated bench reads; raw pyvisa and pymeasure's own drivers talk to the served
instruments; faults over the wire end in one line with the bench made safe.

Every socket operation has a timeout (VISA sessions 5 s unless a test sets less, subprocesses
120 s), so a hang fails the test instead of blocking; each server is stopped by its test.
"""

import copy
import os
import select
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import pyvisa
import yaml
from _benches import with_serial_matrix
from pymeasure.instruments.agilent import Agilent33500
from pymeasure.instruments.keithley import Keithley2400, Keithley2600

import mtjlab
from mtjlab.bench.file import (
    builtin_bench_path,
    crosspoint,
    load_bench,
    parse_bench_text,
    read_bench_text,
)
from mtjlab.bench.serve import SERVED_HEADER, Fault, ServedBench
from mtjlab.cli.app import main
from mtjlab.instruments.serial_matrix import SerialRelayMatrix
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import Chip
from mtjlab.sim.limits import chip_limits

EMULATED = Path(__file__).resolve().parents[1] / "examples" / "emulated-bench.yaml"
V_READ = 0.1
#: How long a test waits for a served bench to finish what its clients sent.
SETTLE_S = 30.0


def visa(rm, resource, timeout_ms=5000):
    return rm.open_resource(
        resource, read_termination="\n", write_termination="\n", timeout=timeout_ms
    )


def serve(tmp_path, text, source="bench.yaml", **options):
    """A ServedBench of bench file ``text`` (started; the caller stops it) and the bench file
    pointing at it, written in ``tmp_path``."""
    served = ServedBench(parse_bench_text(text, source), **options)
    path = tmp_path / "served.yaml"
    try:
        served.write_bench(path, text, source)
    except BaseException:
        served.stop()
        raise
    return served.start(), path


def expected_read(row, col):
    """The simulator's grounded read of chip 0's array 1 (another path to the same device)."""
    return SimulatedBackend(Chip.from_seed(0), 1).read_cell(row, col, v_read_v=V_READ)


def run_cli(*args):
    """``python -m mtjlab ARGS`` in a process of its own, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "mtjlab", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MTJLAB_DEBUG": ""},
    )


# -- the served bench file -------------------------------------------------------------------


def test_the_served_bench_file_is_the_input_pointed_at_the_sockets(tmp_path):
    text = EMULATED.read_text()
    served, path = serve(tmp_path, text, "emulated-bench.yaml")
    try:
        written = path.read_text()
        bench = load_bench(path)
        original = parse_bench_text(text, "emulated-bench.yaml")
        assert written.startswith(SERVED_HEADER)
        assert "simulated, not a\n# real one: chip seed 0, preset kind." in written
        assert bench.kind == "real" and "chip" not in yaml.safe_load(written)
        # the two channels of the 2636B and of the 33522B are one socket each
        assert bench.instruments["smu_a"].resource == bench.instruments["smu_b"].resource
        assert len({e.resource for e in bench.instruments.values()}) == 3
        for name, entry in bench.instruments.items():
            port = served.socket_of(name).port
            assert entry.resource == f"TCPIP0::127.0.0.1::{port}::SOCKET"
            assert (entry.model, entry.options) == (
                original.instruments[name].model,
                original.instruments[name].options,
            )
        assert bench.terminals == original.terminals and bench.arrays == original.arrays
        assert bench.timing == original.timing
        assert bench.tsp_link_node == original.tsp_link_node == 2
        chips = chip_limits(Chip.from_seed(0))  # a real bench states them: the chip's own
        assert bench.limits is not None
        assert bench.limits.as_dict() | {"reasons": {}} == chips.as_dict() | {"reasons": {}}
    finally:
        served.stop()


def test_a_file_bench_serve_did_not_write_is_never_replaced(tmp_path, capsys):
    mine = tmp_path / "mine.yaml"
    mine.write_text("my own notes\n")
    assert main(["bench", "serve", "--write-bench", str(mine)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"mtjlab: error: {mine} exists and is not a bench file `mtjlab bench serve` wrote; "
        "give another --write-bench"
    ]
    assert mine.read_text() == "my own notes\n"


def test_only_an_emulated_bench_is_served(tmp_path, capsys):
    real = Path(__file__).resolve().parents[1] / "examples" / "real-bench.yaml"
    assert main(["bench", "serve", "--bench", str(real), "--write-bench",
                 str(tmp_path / "s.yaml")]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert err.endswith("a real bench; only an emulated bench, whose chip is simulated, can be "
                        "served")  # fmt: skip
    assert not (tmp_path / "s.yaml").exists()


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("smu_a:drop:40", Fault("smu_a", "drop", after=40)),
        ("matrix:garble:/getclose/", Fault("matrix", "garble", pattern="getclose")),
        (
            "smu_a:delay=2.5:/^printbuffer\\(/",
            Fault("smu_a", "delay", 2.5, pattern="^printbuffer\\("),
        ),
    ],
)
def test_faults_are_written_instrument_action_when(text, fault):
    assert Fault.parse(text) == fault
    assert str(fault) == text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("smu_a:drop", "expected INSTRUMENT:ACTION:WHEN"),
        ("smu_a:explode:3", "action 'explode'"),
        ("smu_a:delay=-1:3", "delay=-1: expected 0 < SECONDS <= 3600"),
        ("smu_a:delay=nan:3", "delay=nan"),
        ("smu_a:drop:0", "expected a command number >= 1 or /REGEX/"),
        ("smu_a:drop:/(/", "is not a regular expression"),
    ],
)
def test_a_fault_that_cannot_be_read_is_one_line_naming_it(text, problem, capsys):
    with pytest.raises(ValueError, match="fault") as info:
        Fault.parse(text)
    assert problem in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(SystemExit) as exit_:  # argparse refuses it, before anything is served
        main(["bench", "serve", "--fault", text])
    assert exit_.value.code == 2
    assert problem in capsys.readouterr().err.splitlines()[-1]


def test_a_fault_on_an_instrument_the_bench_lacks_is_refused():
    with pytest.raises(ValueError, match="fault on smu_c: bench .* has no such instrument"):
        ServedBench(load_bench(EMULATED), faults=[Fault.parse("smu_c:drop:1")])


# -- mtjlab through the sockets ----------------------------------------------------------------


def test_a_read_through_the_sockets_is_the_in_process_emulated_benchs(tmp_path):
    """The issue's acceptance: `mtjlab read --bench SERVED.yaml --array 1` reads the map
    `mtjlab read --bench examples/emulated-bench.yaml --array 1` reads, every command sent
    over the sockets."""
    served, path = serve(tmp_path, EMULATED.read_text())
    try:
        assert main(["read", "--bench", str(path), "--array", "1",
                     "--out", str(tmp_path / "served")]) == 0  # fmt: skip
        sent = served.commands()
        clients = {name: s.clients for name, s in served.sockets.items()}
    finally:
        served.stop()
    assert main(["read", "--bench", str(EMULATED), "--array", "1",
                 "--out", str(tmp_path / "in-process")]) == 0  # fmt: skip
    over_sockets = mtjlab.open_run(tmp_path / "served" / "runs.db", 1)
    in_process = mtjlab.open_run(tmp_path / "in-process" / "runs.db", 1)
    got = over_sockets.to_xarray().resistance_ohm.values
    want = in_process.to_xarray().resistance_ohm.values
    assert got.shape == (15, 15) and np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=0.02)
    # the run drove the same instruments with the same commands, each through a socket
    assert sent == in_process.summary["round_trips"]
    assert clients == {"emulated://smu": 1, "emulated://pulser": 1, "emulated://matrix": 1}
    assert "round_trips" not in over_sockets.summary  # a real bench's run, as far as it knows


# -- other software on the served instruments --------------------------------------------------


def test_raw_pyvisa_queries_each_instrument_and_its_error_queue(tmp_path):
    served, _ = serve(tmp_path, EMULATED.read_text())
    rm = pyvisa.ResourceManager("@py")
    try:
        smu = visa(rm, served.address("smu_a"))
        assert smu.query("*IDN?").startswith("Keithley Instruments Inc., Model 2636B,")
        assert smu.query("print(localnode.model)") == "2636B"
        assert smu.query("print(1, 2.5, 'x')").split("\t") == ["1.00000e+00", "2.50000e+00", "x"]
        smu.write("smua.source.levelv=")  # does not parse: -285 on the queue, as on a 2636B
        assert smu.query("print(errorqueue.next())").startswith("-2.85000e+02\tTSP Syntax error")
        assert smu.query("print(errorqueue.next())").startswith("0.00000e+00\tQueue Is Empty")
        smu.close()
        pulser = visa(rm, served.address("pulser_2"))  # the same socket as pulser_1
        assert pulser.query("*IDN?").startswith("Agilent Technologies,33522B,")
        pulser.write("FROB 1")
        assert pulser.query("SYST:ERR?") == '-113,"Undefined header"'
        assert pulser.query("SYST:ERR?") == '+0,"No error"'
        pulser.close()
        matrix = visa(rm, served.address("matrix"))
        assert matrix.query("*IDN?").startswith("KEITHLEY INSTRUMENTS INC.,MODEL 707B,")
        matrix.write('channel.close("1A01")')
        assert matrix.query('print(channel.getclose("allslots"))') == "1A01"
        matrix.write('channel.open("allslots")')
        assert matrix.query('print(channel.getclose("allslots"))') == "nil"
        matrix.close()
    finally:
        rm.close()
        served.stop()


def test_a_second_client_waits_until_the_first_has_gone(tmp_path):
    served, _ = serve(tmp_path, EMULATED.read_text())
    rm = pyvisa.ResourceManager("@py")
    try:
        first = visa(rm, served.address("smu_a"))
        second = visa(rm, served.address("smu_a"))
        second.write("print(2)")  # queued: the socket serves the first client
        assert first.query("print(1)") == "1.00000e+00"
        first.close()
        assert second.read() == "2.00000e+00"  # acted on once the first one left
        second.close()
        assert served.wait_idle(SETTLE_S)
        assert served.socket_of("smu_a").clients == 2
    finally:
        rm.close()
        served.stop()


def test_pymeasures_2600_and_33500_drivers_read_a_device_through_the_served_707b(tmp_path):
    """pymeasure's Keithley2600 and Agilent33500, unchanged, on the served 2636B and 33522B;
    the cell is selected by writing the 707B's TSP over raw pyvisa: the drive (channel b) on
    its row, the ammeter (channel a at 0 V) on its column, every other line grounded."""
    bench = load_bench(EMULATED)
    served, _ = serve(tmp_path, EMULATED.read_text())
    rm = pyvisa.ResourceManager("@py")
    row, col = 3, 4
    wiring = bench.arrays[1]
    channels = [crosspoint(bench, "drive" if i == row else "ground", pad)
                for i, pad in enumerate(wiring.rows)]  # fmt: skip
    channels += [crosspoint(bench, "smu_hi" if j == col else "ground", pad)
                 for j, pad in enumerate(wiring.cols)]  # fmt: skip
    try:
        matrix = visa(rm, served.address("matrix"))
        matrix.write(f'channel.exclusiveclose("{",".join(channels)}")')
        assert matrix.query("print(errorqueue.next())").startswith("0.00000e+00")
        kw = {"read_termination": "\n", "write_termination": "\n", "timeout": 5000}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # pymeasure's own deprecations
            smu = Keithley2600(served.address("smu_a"), **kw)
            for channel, level_v in ((smu.ChB, V_READ), (smu.ChA, 0.0)):
                channel.apply_voltage(compliance_current=1e-3)
                channel.source_voltage = level_v
                channel.source_output = "ON"
            smu.ChA.measure_current(nplc=1, current=1e-4)
            current_a = smu.ChA.current
        assert smu.next_error == (0, "Queue Is Empty")
        # out of channel a's HI is negative: the current flows from the driven row into it
        assert -current_a == pytest.approx(expected_read(row, col).current_a, rel=0.03)
        smu.ChA.source_output = "OFF"
        smu.ChB.source_output = "OFF"
        assert smu.next_error == (0, "Queue Is Empty")  # (and the two writes acted on)
        smu.adapter.close()

        pulser = Agilent33500(served.address("pulser_1"), **kw)
        pulser.shape = "PULS"
        pulser.pulse_width = 1e-6
        pulser.amplitude = 0.2
        pulser.output = True
        assert pulser.ask("SYST:ERR?") == '+0,"No error"'
        with served.lock:
            output = served.emulator("pulser_1").outputs[1]
            assert (output.on, output.function, output.width_s) == (True, "PULS", 1e-6)
        pulser.output = False
        assert pulser.ask("SYST:ERR?") == '+0,"No error"'
        with served.lock:
            assert served.emulator("pulser_1").outputs[1].on is False
        pulser.adapter.close()
        matrix.write('channel.open("allslots")')
        assert matrix.query('print(channel.getclose("allslots"))') == "nil"
        matrix.close()
    finally:
        rm.close()
        served.stop()


def bench_2400_serial():
    """The built-in bench with two 2400s (the read and the drive) and a serial relay matrix."""
    data = copy.deepcopy(yaml.safe_load(EMULATED.read_text()))
    data["instruments"]["smu_a"] = {"model": "keithley2400", "resource": "emulated://smu-read"}
    data["instruments"]["smu_b"] = {"model": "keithley2400", "resource": "emulated://smu-drive"}
    return yaml.safe_dump(with_serial_matrix(data, "emulated://relays"), sort_keys=False)


def test_pymeasures_2400s_read_a_device_through_the_served_serial_matrix(tmp_path):
    """Two of pymeasure's own Keithley2400s, on a device the served serial matrix connects
    (opened by pyserial as socket://127.0.0.1:PORT, with mtjlab's driver)."""
    text = bench_2400_serial()
    bench = parse_bench_text(text, "2400.yaml")
    served, path = serve(tmp_path, text, "2400.yaml")
    row, col = 6, 2
    wiring = bench.arrays[1]
    try:
        assert served.address("matrix").startswith("socket://127.0.0.1:")
        matrix = SerialRelayMatrix(served.address("matrix"), rows=8, columns=90, timeout_s=5.0)
        matrix.exclusive_close(
            [crosspoint(bench, "drive" if i == row else "ground", p) for i, p in
             enumerate(wiring.rows)]
            + [crosspoint(bench, "smu_hi" if j == col else "ground", p) for j, p in
               enumerate(wiring.cols)]
        )  # fmt: skip
        assert len(matrix.closed()) == 30
        kw = {"read_termination": "\n", "write_termination": "\n", "timeout": 5000}
        read, drive = (Keithley2400(served.address(n), **kw) for n in ("smu_a", "smu_b"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            for smu, level_v in ((drive, V_READ), (read, 0.0)):
                smu.apply_voltage(compliance_current=1e-3)
                smu.measure_current(nplc=1)
                smu.source_voltage = level_v
                smu.enable_source()
            current_a = read.current
        assert read.check_errors() == [] and drive.check_errors() == []
        assert -current_a == pytest.approx(expected_read(row, col).current_a, rel=0.03)
        for smu in (read, drive):
            smu.disable_source()
            assert smu.check_errors() == []
            smu.adapter.close()
        matrix.open_all()
        assert matrix.closed() == []
        matrix.adapter.close()
        with served.lock:
            assert served.emulated.circuit.closed == set()
            assert served.emulator("smu_a").output_on is False
        # and mtjlab's own session on the served file reads the same device
        assert served.wait_idle(SETTLE_S)
        with mtjlab.open_bench(path) as on_sockets:
            reading = on_sockets.array(1).read_cell(row, col, v_read_v=V_READ)
        assert reading.resistance_ohm == pytest.approx(
            expected_read(row, col).resistance_ohm, rel=0.02
        )
    finally:
        served.stop()


# -- pacing and faults over the wire -----------------------------------------------------------


def test_paced_a_slow_measurement_outlasts_a_short_client_timeout(tmp_path):
    """At pace 20 a reading of 25 PLC (0.5 s of bench time at 50 Hz) takes 10 s of wall time,
    past a 2 s timeout; unpaced the same reading answers within it."""
    for pace, times_out in ((0.0, False), (20.0, True)):
        served, _ = serve(tmp_path, EMULATED.read_text(), pace=pace)
        rm = pyvisa.ResourceManager("@py")
        try:
            smu = visa(rm, served.address("smu_a"), timeout_ms=2000)
            smu.write("smua.measure.nplc=25")
            if times_out:
                with pytest.raises(pyvisa.errors.VisaIOError, match="VI_ERROR_TMO"):
                    smu.query("print(smua.measure.i())")
            else:
                float(smu.query("print(smua.measure.i())"))
            smu.close()
        finally:
            rm.close()
            served.stop()


def test_a_garbled_reply_comes_back_reversed_once(tmp_path):
    served, _ = serve(tmp_path, EMULATED.read_text(), faults=[Fault.parse("pulser_1:garble:/IDN/")])
    rm = pyvisa.ResourceManager("@py")
    try:
        pulser = visa(rm, served.address("pulser_1"))
        garbled = pulser.query("*IDN?")
        assert garbled[::-1].startswith("Agilent Technologies,33522B,")
        assert pulser.query("*IDN?") == garbled[::-1]
        pulser.close()
    finally:
        rm.close()
        served.stop()


def outputs_off_and_relays_open(served, smu_channels=("a", "b")):
    with served.lock:
        smu = served.emulator("smu_a")
        pulser = served.emulator("pulser_1")
        return (
            served.emulated.circuit.closed == set()
            and served.emulator("matrix").closed == set()
            and served.emulated.circuit.live() == ()
            and all(smu.channels[c].attributes["source.output"] == 0 for c in smu_channels)
            and not pulser.outputs[1].on
            and not pulser.outputs[2].on
        )


def with_smu_timeout(timeout_ms):
    text = EMULATED.read_text()
    for channel in "ab":
        text = text.replace(f"options: {{channel: {channel}}}",
                            f"options: {{channel: {channel}, timeout: {timeout_ms}}}")  # fmt: skip
    return text


def test_a_reply_past_the_timeout_ends_in_one_line_and_the_bench_safe(tmp_path):
    """The map's readings come 8 s late to a client that waits 2.5 s: `mtjlab read` ends in one
    line naming the resource and the timeout, and every output is off and every relay open
    once the served bench has acted on what the safe state sent."""
    fault = Fault.parse("smu_a:delay=8:/^printbuffer\\(/")
    served, path = serve(tmp_path, with_smu_timeout(2500), faults=[fault])
    try:
        done = run_cli("read", "--bench", str(path), "--array", "1", "--out", str(tmp_path / "o"))
        assert served.wait_idle(SETTLE_S)
        assert served.socket_of("smu_a").faults == []  # it fired
        assert outputs_off_and_relays_open(served)
    finally:
        served.stop()
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    resource = path.read_text().split("resource: ")[1].split()[0]
    assert last.startswith(f"mtjlab: error: {resource}: reading a reply: no reply within the "
                           "2500 ms timeout (VI_ERROR_TMO)")  # fmt: skip


def test_a_dropped_connection_ends_in_one_line_and_the_rest_of_the_bench_safe(tmp_path):
    """The 2636B's connection drops as the map starts: the run ends in one line that says so
    and names what the safe state could not reach; the matrix has opened every relay and the
    pulse generator is off, so the chip is off every source."""
    fault = Fault.parse("smu_a:drop:/^mtjlab_scan_run\\(/")
    served, path = serve(tmp_path, with_smu_timeout(2500), faults=[fault])
    try:
        done = run_cli("read", "--bench", str(path), "--array", "1", "--out", str(tmp_path / "o"))
        assert served.wait_idle(SETTLE_S)
        assert served.socket_of("smu_a").faults == []
        assert outputs_off_and_relays_open(served, smu_channels=())
        with served.lock:  # the map had started: the drive was on when the link went
            assert served.emulator("smu_b").channels["b"].attributes["source.output"] == 1
    finally:
        served.stop()
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("mtjlab: error: TCPIP0::127.0.0.1::")
    assert last.endswith(
        "; then the safe state reached pulse generator, hold output, switch matrix but not drive "
        "source, read source-meter: check them (an output may still be on, or a relay closed)"
    )


# -- the command --------------------------------------------------------------------------------


def test_bench_serve_prints_the_resources_serves_and_stops_cleanly_on_sigterm(tmp_path):
    out = tmp_path / "served.yaml"
    process = subprocess.Popen(
        [sys.executable, "-m", "mtjlab", "bench", "serve", "--write-bench", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        printed = b""
        deadline = time.monotonic() + 60
        while not printed.endswith(b"Ctrl-C stops it\n"):
            assert time.monotonic() < deadline, f"no start lines: {printed!r}"
            ready, _, _ = select.select([process.stdout], [], [], 1.0)
            if ready:  # the pipe's own descriptor: no buffer in between to hide a line
                chunk = os.read(process.stdout.fileno(), 4096)
                assert chunk, f"bench serve ended: {printed!r} {process.stderr.read()!r}"
                printed += chunk
        lines = printed.decode().splitlines()
        bench = load_bench(out)
        resources = {}
        for line in lines:
            words = line.split()
            if words and words[0] in bench.instruments:
                resources[words[0]] = words[-1]
        assert resources == {n: e.resource for n, e in bench.instruments.items()}
        rm = pyvisa.ResourceManager("@py")
        try:
            smu = visa(rm, resources["smu_b"])
            assert smu.query("print(localnode.model)") == "2636B"
            smu.close()
        finally:
            rm.close()
        process.send_signal(signal.SIGTERM)
        _, stderr_bytes = process.communicate(timeout=30)
        stderr = stderr_bytes.decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == "stopped after 1 commands"
    assert lines[0].startswith(f"serving bench 'built-in emulated bench' ({builtin_bench_path()})")
    assert read_bench_text(out).startswith(SERVED_HEADER)


def _free_ports(n):
    """A first port with the n - 1 after it free now (tried, not reserved)."""
    import socket

    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + n > 65535:
            continue
        try:
            held = [socket.create_server(("127.0.0.1", first + i)) for i in range(n)]
        except OSError:
            continue
        for s in held:
            s.close()
        return first
    pytest.skip("no run of free ports found")


def test_a_given_port_serves_the_instruments_on_it_and_the_ports_after(tmp_path):
    text = EMULATED.read_text()
    first = _free_ports(3)
    served, path = serve(tmp_path, text, port=first)
    try:
        resources = [
            e["resource"] for e in yaml.safe_load(path.read_text())["instruments"].values()
        ]
        ports = sorted({int(r.split("::")[2]) for r in resources})
        assert ports == [first, first + 1, first + 2]
        with pytest.raises(OSError, match=rf"on 127.0.0.1:{first} .*choose another --port"):
            ServedBench(parse_bench_text(text, "bench.yaml"), port=first)
    finally:
        served.stop()
    for bad in (-1, 65536, True):
        with pytest.raises(ValueError, match="port="):
            ServedBench(parse_bench_text(text, "bench.yaml"), port=bad)


def test_a_write_fidelity_run_through_the_sockets_is_the_in_process_one(tmp_path):
    # write-verify (pulses, hold outputs, reads) through pyvisa-py's sockets: the same writes,
    # the same fidelity, from the same commands, as on the in-process emulated bench
    options = {"arrays": [1], "patterns": 1, "fixed": "none"}
    in_process = mtjlab.characterize_fidelity(bench=EMULATED, out=tmp_path / "here", **options)
    served, path = serve(tmp_path, EMULATED.read_text())
    try:
        over_sockets = mtjlab.characterize_fidelity(bench=path, out=tmp_path / "there", **options)
        sent = sum(s.commands for s in served.sockets.values())
    finally:
        served.stop()
    assert over_sockets.summary["per_array"] == in_process.summary["per_array"]
    assert over_sockets.summary["overall"] == in_process.summary["overall"]
    here, there = in_process.to_xarray(), over_sockets.to_xarray()
    np.testing.assert_array_equal(here.state.values, there.state.values)
    np.testing.assert_array_equal(here.resistance_ohm.values, there.resistance_ohm.values)
    assert sent == in_process.summary["round_trips"]
