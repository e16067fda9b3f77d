"""Cell classes of a read-out: what a measured resistance says a cell is.

``P`` and ``AP`` are the magnetic states (the same codes as a written pattern: P = 0, AP = 1);
``OPEN`` and ``SHORT`` mark cells whose reading is no magnetic state at all.
"""

P = 0
AP = 1
OPEN = 2
SHORT = 3

#: Names by code, for tables, legends and exports.
NAMES = {P: "P", AP: "AP", OPEN: "open", SHORT: "short"}
