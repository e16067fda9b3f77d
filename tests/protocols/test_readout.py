"""Read-out protocol: the threshold from the map's own populations, opens and shorts flagged."""

import numpy as np
import pytest

from mtjlab.core.states import AP, OPEN, SHORT, P
from mtjlab.protocols.readout import ThresholdError, classify, read_states, split_threshold
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import OPEN as SIM_OPEN
from mtjlab.sim.chip import SHORTED, Chip, ChipSpec


def truth(array) -> np.ndarray:
    """What each cell is, from the simulator's own state: the oracle of a read-out."""
    return np.where(
        array.defect == SHORTED, SHORT, np.where(array.defect == SIM_OPEN, OPEN, array.state)
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grounded_readout_classifies_every_cell_of_every_array(seed):
    chip = Chip.from_seed(seed)
    for index in range(5):
        readout = read_states(SimulatedBackend(chip, index))
        np.testing.assert_array_equal(readout.states, truth(chip.array(index)))
        assert readout.threshold_source == "map"


def test_threshold_lies_between_the_p_and_ap_populations():
    chip = Chip.from_seed(0)
    b = SimulatedBackend(chip, 2)
    readout = read_states(b)
    working = truth(b.array)
    assert readout.resistance_ohm[working == P].max() < readout.threshold_ohm
    assert readout.resistance_ohm[working == AP].min() > readout.threshold_ohm
    assert readout.counts()["P"] == np.sum(working == P)


def test_hand_made_map():
    r = np.array([[5e3, 5.1e3, 12e3], [12.5e3, 80.0, 9e7], [-3e8, np.inf, 4.9e3]])
    threshold = split_threshold(r)
    assert 5.1e3 < threshold < 12e3
    expected = [[P, P, AP], [AP, SHORT, OPEN], [OPEN, OPEN, P]]
    np.testing.assert_array_equal(classify(r, threshold), expected)


def test_one_population_needs_a_given_threshold():
    b = SimulatedBackend(Chip.from_seed(0, ChipSpec(initial_state="AP")), 1)
    assert split_threshold(b.read_map().resistance_ohm) is None
    with pytest.raises(ThresholdError, match="single resistance population"):
        read_states(b)
    readout = read_states(b, threshold_ohm=8e3)
    assert readout.threshold_source == "given"
    np.testing.assert_array_equal(readout.states, truth(b.array))


def test_records_one_per_cell():
    records = []
    read_states(SimulatedBackend(Chip.from_seed(0), 1), record=records.append)
    assert len(records) == 225
    assert records[17]["row"] == 1 and records[17]["col"] == 2
    assert {r["state"] for r in records} <= {"P", "AP", "open", "short"}
