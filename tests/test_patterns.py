"""Patterns: generated kinds and pattern files, with errors that name file, line and value."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtjlab.core.patterns import PatternError, load_pattern, make_pattern, save_pattern


def test_generated_kinds():
    board = make_pattern("checkerboard", (3, 4))
    np.testing.assert_array_equal(board, [[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]])
    np.testing.assert_array_equal(make_pattern("checkerboard-inverse", (3, 4)), 1 - board)
    assert make_pattern("all-AP", (2, 2)).sum() == 4 and make_pattern("all-P", (2, 2)).sum() == 0
    r = make_pattern("random", (100, 100), ap_fraction=0.2, rng=1)
    assert 0.18 < r.mean() < 0.22
    np.testing.assert_array_equal(r, make_pattern("random", (100, 100), ap_fraction=0.2, rng=1))
    with pytest.raises(PatternError, match="unknown pattern kind 'stripes'"):
        make_pattern("stripes", (2, 2))
    with pytest.raises(PatternError, match="ap_fraction"):
        make_pattern("random", (2, 2), ap_fraction=1.5)


def test_files_round_trip_and_accept_p_ap(tmp_path):
    pattern = make_pattern("random", (15, 15), rng=3)
    np.testing.assert_array_equal(load_pattern(save_pattern(pattern, tmp_path / "p.csv")), pattern)
    (tmp_path / "named.csv").write_text("# a comment\nP,AP\n ap , p\n\n")
    np.testing.assert_array_equal(load_pattern(tmp_path / "named.csv"), [[0, 1], [1, 0]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0,1\n1,2\n", r"line 2, column 2: '2' is not a cell state"),
        ("0,1\n1\n", r"line 2: 1 cells, the first row has 2"),
        ("# only a comment\n", "no pattern rows"),
        ("0,1\n1,0\n", r"pattern is 2x2, the array is 15x15"),
    ],
)
def test_bad_files_say_where(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(PatternError, match=message) as exc:
        load_pattern(path, (15, 15))
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(PatternError, match="no such pattern file"):
        load_pattern(tmp_path / "none.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(PatternError):
        load_pattern(tmp_path / "bin.csv")


@given(text=st.text(max_size=200))
def test_any_text_is_a_pattern_or_a_pattern_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("p") / "x.csv"
    path.write_text(text, encoding="utf-8")
    try:
        pattern = load_pattern(path)
    except PatternError as exc:
        assert str(path) in str(exc)
    else:
        assert pattern.ndim == 2 and set(np.unique(pattern)) <= {0, 1}
