"""Summarise benchmarks/kickstart/runs/*/result.json into summary.json and curves_all.png."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

HERE = Path(__file__).parent


def sustained(curve: list[dict], target: float = 0.9) -> int | None:
    """First eval step from which every later eval has normalized score >= target."""
    first = None
    for p in curve:
        ok = p["normalized"] is not None and p["normalized"] >= target
        first = (first if first is not None else p["step"]) if ok else None
    return first


def table(summary: dict) -> str:
    """Markdown table: one row per run, kick-started vs scratch."""
    out = ["| group | seed | kick steps_to_90 (sustained) | scratch steps_to_90 (sustained) "
           "| speedup | kick final norm. | scratch final norm. | match scratch final |",
           "|---|---|---|---|---|---|---|---|"]
    for g, s in summary.items():
        for r in s["runs"]:
            k, c = r["student"], r.get("scratch")
            m = r.get("match_scratch_final") or {}
            lb = r.get("speedup_lower_bound")
            sp = r.get("speedup") if r.get("speedup") is not None else (
                f">= {lb}" if lb is not None else None)
            out.append(
                f"| {g} | {r['seed']} | {k['steps_to_90']} ({k['steps_to_90_sustained']}) | "
                + (f"{c['steps_to_90']} ({c['steps_to_90_sustained']}) | {sp} | "
                   f"{k['normalized_score']} | {c['normalized_score']} | "
                   f"{m.get('level')}: {m.get('student_steps')} vs {m.get('scratch_steps')} |"
                   if c else f"- | - | {k['normalized_score']} | - | - |"))
    return "\n".join(out)


def main() -> None:
    runs: dict[str, list[dict]] = {}
    for f in sorted((HERE / "runs").glob("*/result.json")):
        r = json.loads(f.read_text())
        runs.setdefault(f.parent.name.rsplit("-s", 1)[0], []).append(r)
    summary = {}
    for group, rs in runs.items():
        rows = []
        for r in rs:
            row = {"seed": r["seed"], "teacher_return": r["teacher"]["final_return_mean"],
                   "random_return": r["random"]["final_return_mean"]}
            for name in ("student", "scratch"):
                if name in r:
                    row[name] = {k: r[name][k] for k in ("steps_to_90", "normalized_score",
                                                         "final_return_mean", "train_wall_s")}
                    row[name]["steps_to_90_sustained"] = sustained(r[name]["curve"])
            for k in ("speedup", "speedup_lower_bound", "match_scratch_final"):
                if k in r:
                    row[k] = r[k]
            rows.append(row)
        agg = {}
        for name in ("student", "scratch"):
            vals = [row[name]["normalized_score"] for row in rows if name in row]
            if vals:
                agg[f"{name}_normalized_mean"] = round(statistics.mean(vals), 4)
        summary[group] = {"env": rs[0]["env"], "lambda": rs[0]["lambda"],
                          "steps": rs[0]["steps"], "command": rs[0].get("command"),
                          "runs": rows, **agg}
    (HERE / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(table(summary))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(5.5 * len(runs), 4), squeeze=False)
    for ax, (group, rs) in zip(axes[0], runs.items()):
        for r in rs:
            for name, color in (("student", "C0"), ("scratch", "C1")):
                if name in r:
                    c = r[name]["curve"]
                    ax.plot([p["step"] for p in c], [p["normalized"] for p in c], color=color,
                            alpha=0.7, label=("kick-started" if name == "student" else
                                              "from scratch") if r is rs[0] else None)
        ax.axhline(0.9, ls="--", c="grey", lw=0.8)
        ax.set_title(f"{rs[0]['env']} ({group}), lambda {rs[0]['lambda']}, "
                     f"{len(rs)} seeds", fontsize=9)
        ax.set_xlabel("env steps")
        ax.set_ylabel("normalized score (10 eval episodes)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "curves_all.png", dpi=100)


if __name__ == "__main__":
    main()
