"""Biasing schemes: the device voltages each scheme puts on selected and unselected cells."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtjlab.core.schemes import line_voltages, unselected_voltages


@given(
    rows=st.integers(2, 20),
    cols=st.integers(2, 20),
    data=st.data(),
    v=st.floats(-2.0, 2.0).filter(lambda x: abs(x) > 1e-3),
)
def test_device_voltages_of_each_scheme(rows, cols, data, v):
    row = data.draw(st.integers(0, rows - 1))
    col = data.draw(st.integers(0, cols - 1))
    on_row = np.broadcast_to(np.arange(rows)[:, None] == row, (rows, cols))
    on_col = np.broadcast_to(np.arange(cols)[None, :] == col, (rows, cols))
    half = on_row ^ on_col
    rest = ~on_row & ~on_col

    def devices(scheme):
        row_v, col_v = line_voltages(scheme, (rows, cols), row, col, v)
        return row_v[:, None] - col_v[None, :]

    for scheme in ("v/2", "v/3", "grounded"):
        d = devices(scheme)
        assert d[row, col] == v
    d = devices("v/2")
    np.testing.assert_allclose(d[half], v / 2)
    np.testing.assert_allclose(d[rest], 0.0, atol=1e-15)
    d = devices("v/3")
    # Every unselected cell sees a third of the write voltage, one sign or the other.
    np.testing.assert_allclose(np.abs(d[~(on_row & on_col)]), abs(v) / 3)
    d = devices("grounded")
    np.testing.assert_allclose(d[on_row & ~on_col], v)
    np.testing.assert_allclose(d[~on_row], 0.0)
    row_v, col_v = line_voltages("floating", (rows, cols), row, col, v)
    assert np.isnan(np.delete(row_v, row)).all() and np.isnan(np.delete(col_v, col)).all()
    assert row_v[row] == v and col_v[col] == 0.0


def test_unknown_scheme_names_the_choices():
    with pytest.raises(ValueError, match="unknown biasing scheme 'v/4'"):
        line_voltages("v/4", (3, 3), 0, 0, 1.0)


@pytest.mark.parametrize("scheme", ["v/2", "v/3"])
@pytest.mark.parametrize("v", [0.6, -0.45])
def test_what_a_scheme_puts_on_unselected_devices_is_read_off_its_lines(scheme, v):
    # Every unselected device of a 4x5 array, selected cell (2, 3), by hand from the lines.
    row_v, col_v = line_voltages(scheme, (4, 5), 2, 3, v)
    on = row_v[:, None] - col_v[None, :]
    on[2, 3] = np.nan
    positive, negative = unselected_voltages(scheme, v)
    assert positive == pytest.approx(max(np.nanmax(on), 0.0))
    assert negative == pytest.approx(max(-np.nanmin(on), 0.0))
    if scheme == "v/2":  # half on the selected lines, of the pulse's polarity; 0 elsewhere
        assert (positive, negative) == ((abs(v) / 2, 0.0) if v > 0 else (0.0, abs(v) / 2))
    else:  # a third, both polarities
        assert positive == pytest.approx(abs(v) / 3) and negative == pytest.approx(abs(v) / 3)


def test_floating_lines_may_put_the_whole_pulse_on_an_unselected_device():
    assert unselected_voltages("floating", 0.5) == (0.5, 0.5)
    assert unselected_voltages("floating", -0.5) == (0.5, 0.5)
