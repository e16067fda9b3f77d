"""The live view: a local web page on one or more run stores, showing every run (status, progress,
time left) and the selected run's figures drawn from the records stored so far, updating while
runs go on (``mtjlab view``). It reads the stores read-only and answers only on the address it is
given (127.0.0.1 unless told otherwise); ``export_run`` writes one run's page as a file that
opens offline.
"""

from mtjlab.view.export import export_run
from mtjlab.view.figures import FigureCache
from mtjlab.view.runs import ViewError, check_stores, list_runs
from mtjlab.view.server import ViewServer, serving

__all__ = [
    "FigureCache",
    "ViewError",
    "ViewServer",
    "check_stores",
    "export_run",
    "list_runs",
    "serving",
]
