"""Hypothesis strategies for strings that try to carry a second command into an instrument."""

from hypothesis import strategies as st

#: Pieces that end a string literal or a statement, or open another, in SCPI, TSP or a line
#: protocol, plus look-alike unicode.
TOKENS = [
    '"', "'", ")", "(", ";", ",", "\n", "\r", "\t", " ", "\x00", "*", ":", "=", "--", "[[", "]]",
    "{", "}", "\\", "end", " end ", "reset()", "*RST", "OPENALL", "\u00a0", "\uff11", "\u0661",
    "\u2028", "Ä",
]  # fmt: skip

HOSTILE = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=6).map("".join)
