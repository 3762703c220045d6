"""``rldistill report RUN_DIR... [--out report.html]``: one self-contained HTML page (plots
embedded as PNG, no network needed to open it) and its Markdown twin (plots beside it in
``NAME_files/``), from any set of run directories: distill runs, ``--seeds`` runs, online and
kick-start runs.

It shows a results table (score with CIs over seeds where there are seeds, agreement, parameters,
latency), learning curves against env steps (loss, the agreement on each round's new
states and the largest gradient norm, from ``rounds.jsonl``), the compression frontier (score
against student parameters), the runs' own plots (kick-start and online curves), videos of
teacher and student side by side (``evaluate --video``) and each run's config.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rldistill.core.errors import UserError
from rldistill.core.files import write_text
from rldistill.core.plots import pyplot, save
from rldistill.report.runlog import read_rounds
from rldistill.students.saved import SavedRun

VIDEOS = 3  # GIFs per run at most


@dataclass
class Run:
    name: str
    saved: SavedRun
    kind: str  # distill | seeds | kickstart | finetune | online
    result: dict[str, Any]
    rounds: list[list[dict[str, Any]]] = field(default_factory=list)  # per seed

    @property
    def dir(self) -> Path:
        return self.saved.dir

    def row(self) -> dict[str, Any]:
        """The results table's cells."""
        r = self.result
        if self.kind == "kickstart":
            s, sc = r["student"], r["scratch"]
            return {"run": self.name, "kind": "kick-start", "env": r.get("env", ""),
                    "teacher": r["teacher"].get("name", ""),
                    "student params": s.get("params", ""),
                    "normalized": f"{_num(s['normalized_score'])} (scratch "
                                  f"{_num(sc['normalized_score'])})",
                    "agreement": "", "env steps": f"to 0.9: {s.get('steps_to_90')} vs "
                                                 f"{sc.get('steps_to_90')}",
                    "latency us (student / teacher)": ""}
        if self.kind == "finetune":
            sc = r.get("scratch", {}).get("normalized_score")
            return {"run": self.name, "kind": f"fine-tune ({r['algo']})", "env": r["env"],
                    "teacher": "", "student params": "",
                    "normalized": f"{r['start_normalized_score']} -> {r['normalized_score']} "
                                  f"(lowest {r['lowest_normalized_score']}"
                                  + (f"; scratch {sc})" if sc is not None else ")"),
                    "agreement": "", "env steps": r["steps"],
                    "latency us (student / teacher)": ""}
        if self.kind == "seeds":
            agg = r.get("normalized_score")
            norm = (f"IQM {agg['iqm']['value']} [{agg['iqm']['ci95'][0]}, {agg['iqm']['ci95'][1]}]"
                    f", {agg['runs']} seeds" if agg else "undefined")
            a = r["agreement"]["mean"]
            return {"run": self.name, "kind": f"{len(r['seeds'])} seeds", "env": _env(r),
                    "teacher": f"{r['teacher']['name']} ({r['teacher']['params']})",
                    "student params": r["student_params"], "normalized": norm,
                    "agreement": f"{a['value']} [{a['ci95'][0]}, {a['ci95'][1]}]",
                    "env steps": r["runs"][0].get("env_steps", r["runs"][0]["labelled_steps"]),
                    "latency us (student / teacher)": ""}
        lat = r.get("latency_us") or {}
        return {"run": self.name, "kind": self.kind, "env": _env(r),
                "teacher": f"{r['teacher']['name']} ({r['teacher']['params']})",
                "student params": r["student"]["params"],
                "normalized": _num(r.get("normalized_score")),
                "agreement": _num(r.get("agreement")),
                "env steps": r.get("env_steps", r.get("labelled_steps")),
                "latency us (student / teacher)":
                    f"{lat.get('student')} / {lat.get('teacher')}" if lat else ""}

    def frontier_point(self) -> tuple[float, float, float, float] | None:
        """(params, score, ci low, ci high) for the compression frontier."""
        r = self.result
        if self.kind == "seeds" and r.get("normalized_score"):
            iqm = r["normalized_score"]["iqm"]
            return r["student_params"], iqm["value"], *iqm["ci95"]
        if self.kind in ("distill", "online") and r.get("normalized_score") is not None:
            s = r["normalized_score"]
            return r["student"]["params"], s, s, s
        return None


def _env(r: dict[str, Any]) -> str:
    env = r.get("env", "")
    return ", ".join(env) if isinstance(env, list) else str(env)


def _num(x: Any) -> str:
    return "" if x is None else str(x)


def load_run(d: Path) -> Run:
    saved = SavedRun(d)
    r = saved.result()
    if r is None:
        raise UserError(f"{d} holds no result.json: pass run directories of distill, kickstart, "
                        "finetune or distill --seeds")
    if "seeds" in r and "runs" in r:
        return Run(d.name, saved, "seeds", r, [read_rounds(Path(p["dir"])) for p in r["runs"]])
    if "start_normalized_score" in r:
        return Run(d.name, saved, "finetune", r)
    if "scratch" in r:
        return Run(d.name, saved, "kickstart", r)
    kind = "online" if r.get("config", {}).get("teacher_train") else "distill"
    return Run(d.name, saved, kind, r, [read_rounds(saved.dir)])


def _figure(draw: Any, path: Path, size: tuple[float, float] = (9, 3.6)) -> Path | None:
    """A figure ``draw(fig)`` fills, written to ``path``; None without matplotlib."""
    plt = pyplot()
    if plt is None:
        return None
    fig = plt.figure(figsize=size)
    draw(fig)
    return save(fig, path)


def curves_png(runs: list[Run], path: Path) -> Path | None:
    """Loss and the agreement on each round's new states against env steps (what a user
    pays for; labelled steps for runs logged before env steps were); with a third panel, each
    round's largest gradient norm and ``--grad-clip`` as a dashed line, where the rounds give
    it (a spike, as a teacher's fall makes, shows there before it shows in the score)."""
    runs = [r for r in runs if any(r.rounds)]
    if not runs:
        return None
    grads = any(x.get("grad_norm_max") is not None for run in runs for rounds in run.rounds
                for x in rounds)  # null: --grad-clip 0 measures no norm

    def draw(fig: Any) -> None:
        loss, agree = fig.add_subplot(1, 2 + grads, 1), fig.add_subplot(1, 2 + grads, 2)
        norm = fig.add_subplot(1, 3, 3) if grads else None
        for i, run in enumerate(runs):
            color = f"C{i % 10}"
            for k, rounds in enumerate(run.rounds):
                x = [r.get("env_steps") or r["labelled"] for r in rounds]
                label = run.name if k == 0 else None
                loss.plot(x, [r["loss"] for r in rounds], color=color, lw=1, label=label)
                agree.plot(x, [r["fresh_agreement"] for r in rounds], color=color, lw=1,
                           marker=".", label=label)
                if norm is not None:  # "inf" (not finite) and null (not measured): gaps
                    y = [r.get("grad_norm_max") for r in rounds]
                    norm.plot(x, [float("nan") if v in (None, "inf") else v for v in y],
                              color=color, lw=1, marker=".")
            clip = run.result.get("config", {}).get("grad_clip")
            if norm is not None and clip:
                norm.axhline(float(clip), color=color, ls="--", lw=0.8)
        loss.set_yscale("log")
        loss.set_xlabel("env steps")
        loss.set_ylabel("training loss")
        agree.set_xlabel("env steps")
        agree.set_ylabel("agreement on the round's new states")
        agree.legend(fontsize=7)
        if norm is not None:
            norm.set_yscale("log")
            norm.set_xlabel("env steps")
            norm.set_ylabel("largest gradient norm (--grad-clip dashed)")

    return _figure(draw, path, (13, 3.6) if grads else (9, 3.6))


def frontier_png(runs: list[Run], path: Path) -> Path | None:
    """Normalized score against student parameters (IQM and 95 % CI where there are seeds)."""
    pts = [(r.name, p) for r in runs if (p := r.frontier_point())]
    if len(pts) < 2:
        return None

    def draw(fig: Any) -> None:
        ax = fig.add_subplot(1, 1, 1)
        for name, (x, y, lo, hi) in sorted(pts, key=lambda t: t[1][0]):
            ax.errorbar([x], [y], yerr=[[y - lo], [hi - y]], fmt="o", capsize=3, label=name)
        ax.axhline(1.0, ls=":", c="grey", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("student parameters")
        ax.set_ylabel("normalized score (teacher = 1)")
        ax.legend(fontsize=7)

    return _figure(draw, path, (6, 4))


def build(dirs: list[str], out: str, notes: str | None = None) -> dict[str, Any]:
    """Write the report (HTML and Markdown), with ``notes`` (a Markdown file: paragraphs,
    headings and tables, e.g. a benchmark's verdicts) first; returns what was written."""
    if not dirs:
        raise UserError("report: pass one or more run directories")
    runs = [load_run(Path(d)) for d in dirs]
    html_path = Path(out)
    files = html_path.with_name(html_path.stem + "_files")
    files.mkdir(parents=True, exist_ok=True)
    figures = [(title, p) for title, p in (
        ("Learning curves", curves_png(runs, files / "curves.png")),
        ("Compression frontier", frontier_png(runs, files / "frontier.png")))
        if p is not None]
    for run in runs:  # the runs' own plots (kick-start, online) and videos (evaluate --video)
        own = [run.dir / n for n in ("curves.png", "frontier.png") if (run.dir / n).exists()]
        for path in own + sorted(run.saved.videos.glob("*.gif"))[:VIDEOS]:
            copy = files / f"{run.name}-{path.name}"
            copy.write_bytes(path.read_bytes())
            what = "teacher | student, " if path.suffix == ".gif" else ""
            figures.append((f"{run.name}: {what}{path.stem}", copy))
    rows = [r.row() for r in runs]
    text = Path(notes).read_text() if notes else ""
    write_text(html_path, _html(runs, rows, figures, text))
    md = html_path.with_suffix(".md")
    write_text(md, text + ("\n" if text else "") + _markdown(runs, rows, figures, files.name))
    return {"html": str(html_path), "markdown": str(md), "runs": [r.name for r in runs],
            "figures": [str(p) for _, p in figures]}


def md_html(text: str) -> str:
    """The little Markdown notes use, as HTML: headings, tables, paragraphs (escaped)."""
    e, out, table = html.escape, [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-: ") for c in cells):
                table.append(cells)
            continue
        if table:
            out.append("<table>" + "".join(
                "<tr>" + "".join(f"<{t}>{e(c)}</{t}>" for c in row) + "</tr>"
                for row, t in zip(table, ["th"] + ["td"] * len(table))) + "</table>")
            table = []
        if line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")) + 1, 4)
            out.append(f"<h{level}>{e(line.lstrip('#').strip())}</h{level}>")
        elif line.strip():
            out.append(f"<p>{e(line)}</p>")
    return "".join(out)


def _html(runs: list[Run], rows: list[dict[str, Any]], figures: list[tuple[str, Path]],
          notes: str = "") -> str:
    e = html.escape
    cols = list(rows[0])
    table = ("<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in cols) + "</tr>" + "".join(
        "<tr>" + "".join(f"<td>{e(str(r[c]))}</td>" for c in cols) + "</tr>" for r in rows)
        + "</table>")
    figs = "".join(
        f"<h2>{e(t)}</h2><img alt='{e(t)}' src='data:image/{p.suffix[1:]};base64,"
        f"{base64.b64encode(p.read_bytes()).decode()}'>" for t, p in figures)
    configs = "".join(
        f"<details><summary>{e(r.name)} ({e(str(r.dir))})</summary><pre>"
        f"{e(json.dumps(r.result.get('config', {}), indent=1))}</pre></details>" for r in runs)
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
             "padding:4px 8px;text-align:left}th{background:#f3f3f3}img{max-width:100%}"
             "pre{font-size:11px;background:#f8f8f8;padding:8px}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>rldistill report</title>"
            f"<style>{style}</style></head><body><h1>rldistill report</h1>"
            f"<p>{len(runs)} run(s). Normalized score: (student - random) / (teacher - random) "
            f"returns; IQM and 95 % stratified-bootstrap CIs over seeds (rliable).</p>"
            f"{md_html(notes)}<h2>Results</h2>{table}{figs}<h2>Configs</h2>{configs}"
            "</body></html>\n")


def _markdown(runs: list[Run], rows: list[dict[str, Any]], figures: list[tuple[str, Path]],
              files: str) -> str:
    cols = list(rows[0])
    lines = ["# rldistill report", "", "| " + " | ".join(cols) + " |",
             "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    for title, p in figures:
        lines += ["", f"## {title}", "", f"![{title}]({files}/{p.name})"]
    return "\n".join(lines) + "\n"
