"""The README's tour runs, and its comments hold: the cell switches and the bad read is refused."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_tour_runs_and_says_what_happens():
    text = README.read_text()
    section = text[text.index("## A short tour") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)
    assert (namespace["limits"].max_read_v, namespace["limits"].max_write_v) == (0.113, 1.1)
    assert round(namespace["before"] / 1e3, 1) == 12.5
    assert round(namespace["after"] / 1e3, 1) == 5.4
    assert namespace["refused"].startswith(
        "read voltage -0.3 V is outside the safety limit max_read_v = 0.113 V"
    )
    assert "max_unselected_v = +0.31 / -0.222 V" in namespace["disturbing"]
    assert namespace["chip"].array(1).state[3, 4] == 1  # AP again after the last pulse
    assert np.shape(namespace["currents_a"]) == (15,)


def test_from_python_runs_and_gives_labelled_data_with_units():
    text = README.read_text()
    section = text[text.index("## From Python") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)
    scores = namespace["scores"]
    assert scores.sizes["solution"] == 3
    assert all("units" in var.attrs for var in scores.variables.values())
    assert np.shape(namespace["tuned"]) == (3,) and 0.5 < namespace["tuned"].min() <= 1.0
    assert len(namespace["figures"]) == 6  # too few solutions to rank metrics
    assert namespace["map_ohm"].dims == ("column",) and namespace["map_ohm"].sizes["column"] == 15
    assert namespace["fidelity"] > 0.99
    assert namespace["bench"].array(1).limits.max_read_v > 0
    by_line = namespace["by_line"]
    assert by_line.dims == ("r_row_ohm", "seed") and by_line.shape == (3, 2)
    assert by_line.r_row_ohm.values.tolist() == [0.0, 4.0, 8.0]
