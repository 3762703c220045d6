"""The results of many trials, per configuration (a trial's options less its seed): the mean and
95 % stratified-bootstrap CI over seeds of the normalized score and of the agreement
(:func:`~rldistill.evaluation.stats.aggregate`, rliable), the student's parameters; as Markdown,
CSV and a plot of score against student parameters (one line per configuration of the other
options)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rldistill.core.files import write_text
from rldistill.core.plots import pyplot, save
from rldistill.evaluation.stats import aggregate

SIZE_KEYS = ("student_hidden", "param_ratio", "student_arch")  # what sets the student's size
Point = tuple[float, float, float, float]  # params, mean, ci low, ci high


def _key(overrides: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((k, _text(v)) for k, v in overrides.items() if k != "seed")


def _text(v: Any) -> str:
    return ",".join(str(x) for x in v) if isinstance(v, (list, tuple)) else str(v)


def config_rows(trials: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``trials``: {"name", "overrides", "result": result dict or an error line} -> one row per
    configuration, best mean score first (undefined scores last)."""
    groups: dict[tuple[tuple[str, str], ...], list[Mapping[str, Any]]] = {}
    for t in trials:
        groups.setdefault(_key(t["overrides"]), []).append(t)
    rows = [_row(dict(key), members) for key, members in groups.items()]
    return sorted(rows, key=lambda r: (r["score_mean"] is None, -(r["score_mean"] or 0.0)))


def _row(options: dict[str, str], members: list[Mapping[str, Any]]) -> dict[str, Any]:
    done = [m["result"] for m in members if isinstance(m["result"], dict)]
    scored = [r for r in done if r.get("normalized_score") is not None]
    row: dict[str, Any] = {**options, "seeds": len(done), "failed": len(members) - len(done)}
    params = sorted({r["student"]["params"] for r in done})
    row["params"] = params[0] if len(params) == 1 else "/".join(map(str, params)) or None
    row["param_ratio"] = done[0].get("param_ratio") if done else None
    for name, runs in (("score", scored), ("agreement", done)):
        key = "normalized_score" if name == "score" else "agreement"
        agg = aggregate([[r[key]] for r in runs])["mean"] if runs else None
        row[f"{name}_mean"] = agg["value"] if agg else None
        row[f"{name}_ci_low"], row[f"{name}_ci_high"] = agg["ci95"] if agg else (None, None)
    row["wall_s_mean"] = (round(sum(r["wall_s"] for r in done) / len(done), 2) if done
                          else None)
    return row


def _ci(row: Mapping[str, Any], name: str) -> str:
    if row[f"{name}_mean"] is None:
        return "undefined"
    return f"{row[f'{name}_mean']:.3f} [{row[f'{name}_ci_low']:.3f}, {row[f'{name}_ci_high']:.3f}]"


def markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """The table as Markdown: the options that vary, seeds, params, score and agreement with
    their 95 % CIs over seeds, mean wall time."""
    if not rows:
        return "(no trials)\n"
    options = [k for k in rows[0] if k not in _NUMERIC]
    head = [*options, "seeds", "params", "normalized score (mean, 95% CI)",
            "agreement (mean, 95% CI)", "wall s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        seeds = f"{r['seeds']}" + (f" ({r['failed']} failed)" if r["failed"] else "")
        cells = [*(str(r[k]) for k in options), seeds, str(r["params"]), _ci(r, "score"),
                 _ci(r, "agreement"), str(r["wall_s_mean"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


_NUMERIC = ("seeds", "failed", "params", "param_ratio", "score_mean", "score_ci_low",
            "score_ci_high", "agreement_mean", "agreement_ci_low", "agreement_ci_high",
            "wall_s_mean")


def csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return buf.getvalue()


def frontier_plot(series: Mapping[str, Sequence[Point]], path: Path, title: str,
                  target: float | None = None) -> Path | None:
    """Normalized score (mean and 95 % CI over seeds) against student parameters, one line per
    series, a dotted line at the teacher (1.0) and a dashed one at ``target``; None without
    matplotlib or with fewer than two points."""
    if sum(len(p) for p in series.values()) < 2:
        return None
    plt = pyplot()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for label, points in series.items():
        pts = sorted(points)
        x, y = [p[0] for p in pts], [p[1] for p in pts]
        err = [[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]]
        ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=label or None)
    ax.axhline(1.0, ls=":", c="grey", lw=0.8)
    if target is not None:
        ax.axhline(target, ls="--", c="C3", lw=0.8, label=f"target {target}")
    ax.set_xscale("log")
    ax.set_xlabel("student acting parameters")
    ax.set_ylabel("normalized score (teacher = 1), mean and 95% CI")
    ax.set_title(title, fontsize=9)
    if any(series) or target is not None:
        ax.legend(fontsize=7)
    return save(fig, path)


def size_series(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Point]]:
    """Rows -> one series per setting of the options other than the student's size."""
    series: dict[str, list[Point]] = {}
    for r in rows:
        if r["score_mean"] is None or not isinstance(r["params"], int):
            continue
        label = ", ".join(f"{k}={r[k]}" for k in r if k not in _NUMERIC and k not in SIZE_KEYS)
        series.setdefault(label, []).append(
            (r["params"], r["score_mean"], r["score_ci_low"], r["score_ci_high"]))
    return series


def write_tables(rows: Sequence[Mapping[str, Any]], out: Path, title: str) -> dict[str, Any]:
    """results.md, results.csv and (for a sweep over student sizes) results.png in ``out``."""
    write_text(out / "results.md", markdown(rows))
    write_text(out / "results.csv", csv_text(rows))
    files = {"markdown": str(out / "results.md"), "csv": str(out / "results.csv"), "png": None}
    if len({r["params"] for r in rows if r["score_mean"] is not None}) > 1:
        png = frontier_plot(size_series(rows), out / "results.png", title)
        files["png"] = str(png) if png else None
    return files
