"""Plots (matplotlib, Agg backend): the one place matplotlib is set up (:func:`pyplot`), and
the learning curves of online and kick-started runs."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

Series = tuple[Sequence[float], Sequence[float | None]]


@functools.cache
def pyplot() -> Any | None:
    """``matplotlib.pyplot`` on the Agg backend (PNG files, no display needed), selected once;
    None where matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def save(fig: Any, path: Path) -> Path:
    """``fig`` laid out tight and written to ``path`` (PNG, 100 dpi), then closed."""
    plt = pyplot()
    assert plt is not None  # the figure came from it
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def line_plot(series: Mapping[str, Series], path: Path, xlabel: str, ylabel: str, title: str,
              hlines: Sequence[float] = ()) -> Path | None:
    """One line per series (label -> (x, y)), dotted reference lines at ``hlines``; written to
    ``path`` (PNG). None if matplotlib is missing."""
    plt = pyplot()
    if plt is None:
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
    return save(fig, path)
