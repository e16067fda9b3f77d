"""The model registry the bench file will use."""

import inspect

import pytest

from mtjlab.instruments import (
    DRIVERS,
    PulseGenerator,
    SourceMeter,
    SwitchMatrix,
    driver_for,
    role_of,
)
from mtjlab.instruments.keithley2600b import Keithley2600B
from mtjlab.instruments.keysight81150a import Keysight81150A
from mtjlab.instruments.serial_matrix import SerialRelayMatrix


def test_known_models_map_to_their_drivers_and_roles():
    assert driver_for("keithley2600b") is Keithley2600B
    assert driver_for("serial_matrix") is SerialRelayMatrix
    assert driver_for("keysight81150a") is Keysight81150A
    expected_roles = {
        "keithley2400": SourceMeter,
        "keithley2450": SourceMeter,
        "keithley2600b": SourceMeter,
        "keithley707b": SwitchMatrix,
        "keithley708b": SwitchMatrix,
        "serial_matrix": SwitchMatrix,
        "keysight33500b": PulseGenerator,
        "keysight81160a": PulseGenerator,
        "keysight81150a": PulseGenerator,
    }
    assert set(DRIVERS) == set(expected_roles)
    for model, role in expected_roles.items():
        assert role_of(model) is role


def test_every_driver_implements_its_whole_role():
    for model, driver in DRIVERS.items():
        assert not inspect.isabstract(driver), model


@pytest.mark.parametrize("model", ["keithley2401", "Keithley2400", "", None, "serial matrix"])
def test_unknown_model_lists_the_known_ones(model):
    with pytest.raises(KeyError) as info:
        driver_for(model)
    message = str(info.value)
    assert repr(model) in message
    assert "keithley2400" in message and "serial_matrix" in message and "keysight81160a" in message
