"""Report: resistance maps as text tables, and the figures of the array protocols and runs.
Each ``figure_*`` builds a matplotlib Figure without pyplot; its ``plot_*`` saves it to a file."""

from mtjlab.report._style import FIGURE_SUFFIXES, check_figure_path, save_figure
from mtjlab.report.curves import (
    figure_rv_loop,
    figure_switching_curves,
    plot_rv_loop,
    plot_switching_curves,
)
from mtjlab.report.html import write_html_report
from mtjlab.report.maps import (
    TABLE_LEGEND,
    error_color_limit,
    figure_error_map,
    figure_resistance_map,
    format_resistance_map,
    plot_error_map,
    plot_resistance_map,
    resistance_color_limits,
)
from mtjlab.report.networks import (
    figure_accuracy_by_array,
    figure_accuracy_by_solution,
    figure_accuracy_distributions,
    figure_accuracy_drop,
    figure_confusion_matrix,
    figure_fidelity_vs_accuracy,
    plot_accuracy_by_array,
    plot_accuracy_by_solution,
    plot_accuracy_distributions,
    plot_accuracy_drop,
    plot_confusion_matrix,
    plot_fidelity_vs_accuracy,
)
from mtjlab.report.states import figure_state_map, plot_state_map
from mtjlab.report.sweeps import figure_sweep_field, plot_sweep_field
from mtjlab.report.tables import format_table
from mtjlab.report.writes import (
    figure_fidelity_by_write,
    figure_wrong_per_pass,
    plot_fidelity_by_write,
    plot_wrong_per_pass,
)

__all__ = [
    "FIGURE_SUFFIXES",
    "TABLE_LEGEND",
    "check_figure_path",
    "error_color_limit",
    "figure_accuracy_by_array",
    "figure_accuracy_by_solution",
    "figure_accuracy_distributions",
    "figure_accuracy_drop",
    "figure_confusion_matrix",
    "figure_error_map",
    "figure_fidelity_by_write",
    "figure_fidelity_vs_accuracy",
    "figure_resistance_map",
    "figure_rv_loop",
    "figure_state_map",
    "figure_sweep_field",
    "figure_switching_curves",
    "figure_wrong_per_pass",
    "format_resistance_map",
    "format_table",
    "plot_accuracy_by_array",
    "plot_accuracy_by_solution",
    "plot_accuracy_distributions",
    "plot_accuracy_drop",
    "plot_confusion_matrix",
    "plot_error_map",
    "plot_fidelity_by_write",
    "plot_fidelity_vs_accuracy",
    "plot_resistance_map",
    "plot_rv_loop",
    "plot_state_map",
    "plot_sweep_field",
    "plot_switching_curves",
    "plot_wrong_per_pass",
    "resistance_color_limits",
    "save_figure",
    "write_html_report",
]
