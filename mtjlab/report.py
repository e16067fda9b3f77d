"""Report: resistance maps as text tables and heat-map figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Figure formats every plot function writes, chosen by the file name's suffix.
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def check_figure_path(path: Path | str, default_name: str) -> Path:
    """Where a figure asked for at ``path`` goes, checked before any work is done.

    Parameters
    ----------
    path : Path or str
        A file name ending in ``.png``, ``.pdf`` or ``.svg`` (any case), or an existing folder.
    default_name : str
        The file name used inside ``path`` when ``path`` is an existing folder.

    Returns
    -------
    Path
        The file that will be written: ``path`` itself, or ``path / default_name`` for a folder.

    Raises
    ------
    ValueError
        If the suffix names no supported format or the file's folder does not exist. The message
        does not repeat ``path``, so a caller can prefix the option or argument it came from.
    """
    path = Path(path)
    if path.is_dir():
        path = path / default_name
    suffix = path.suffix.lower()
    if suffix not in FIGURE_SUFFIXES:
        if not suffix:
            raise ValueError(
                "neither an existing folder nor a file name ending in .png, .pdf or .svg"
            )
        raise ValueError(f"unsupported figure format {path.suffix!r} (expected .png, .pdf or .svg)")
    if not path.parent.is_dir():
        raise ValueError(f"folder {path.parent} does not exist")
    return path


def format_resistance_map(resistance_ohm: np.ndarray) -> str:
    """The map as a table in kOhm, rows down and columns across; open cells show as ``inf``."""
    r = np.asarray(resistance_ohm, dtype=float)
    rows, cols = r.shape
    width = 7
    header = "row\\col" + "".join(f"{c:>{width}d}" for c in range(cols))
    lines = [header]
    for i in range(rows):
        cells = "".join(_kohm(v).rjust(width) for v in r[i])
        lines.append(f"{i:>7d}" + cells)
    lines.append("(kOhm)")
    return "\n".join(lines)


def _kohm(value: float) -> str:
    if not np.isfinite(value) or abs(value) >= 1e8:
        return "inf" if value > 0 else "-inf"
    return f"{value / 1e3:.2f}"


def plot_resistance_map(resistance_ohm: np.ndarray, path: Path | str, *, title: str = "") -> Path:
    """Save the map as a heat map (kOhm, log colour scale) to ``path`` and return the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    r_kohm = np.asarray(resistance_ohm, dtype=float) / 1e3
    finite = r_kohm[np.isfinite(r_kohm) & (r_kohm > 0)]
    # Opens and noise-dominated negative readings are drawn at the top of the scale.
    vmin = float(finite.min()) if finite.size else 1e-3
    vmax = float(finite.max()) if finite.size else 1.0
    shown = np.where(np.isfinite(r_kohm) & (r_kohm > 0), r_kohm, vmax)
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    image = ax.imshow(shown, cmap="viridis", norm=LogNorm(vmin=vmin, vmax=max(vmax, vmin * 1.01)))
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, label="resistance (kOhm)")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
