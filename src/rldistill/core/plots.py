"""Plots (matplotlib, Agg backend): learning curves of online and kick-started runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

Series = tuple[Sequence[float], Sequence[float | None]]


def line_plot(series: Mapping[str, Series], path: Path, xlabel: str, ylabel: str, title: str,
              hlines: Sequence[float] = ()) -> Path | None:
    """One line per series (label -> (x, y)), dotted reference lines at ``hlines``; written to
    ``path`` (PNG). None if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, (x, y) in series.items():
        ax.plot(x, [float("nan") if v is None else v for v in y], marker=".", label=label)
    for level in hlines:
        ax.axhline(level, ls=":", c="grey", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
