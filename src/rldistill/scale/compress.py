"""``rldistill compress``: the smallest student (by acting parameters) whose normalized score
reaches ``--target`` with 95 % confidence.

The students are MLPs of ``--depth`` hidden layers (1-3, default 2) of one width; the search
runs over that width, from 1 to the widest student with no more parameters than the teacher:

1. bracket: widths 4, 8, 16, ... (doubling, the last one capped at the teacher's size) until
   one passes; several at once when the cluster has CPUs for more than one size's seeds;
2. bisect between the widest failing and the narrowest passing width (log-space midpoints; with
   CPUs to spare, k points at once), until they are at most 10 % (or 1) apart.

A width *passes* when the lower end of the 95 % stratified-bootstrap CI (rliable,
:func:`~rldistill.evaluation.stats.aggregate`) of the mean normalized score over ``--seeds`` runs is
at least the target: with 3 seeds that is about the worst seed. The search assumes the score grows
with width; where noise breaks that, the frontier shows it (every size tried is in it).

Each size is a ``--seeds`` run in ``OUT/sizes/wW/`` (``seedK/`` runs and their aggregate
``result.json``, so ``rldistill report OUT/sizes/*`` works on them); its seed runs are trials on
one pool of Ray workers kept for the whole search (:class:`~rldistill.scale.trials.TrialPool`),
local or on the cluster at ``--address``. OUT gets the winner's
``student.safetensors``, ``student.json`` and ``result.json`` (its best seed, as ``distill``
writes them, with a ``compress`` block), ``frontier.json`` and ``frontier.png``. Run again into
the same OUT (with another ``--target``, say), it reads back the runs it already has.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rldistill.core.config import DistillConfig
from rldistill.core.errors import UserError
from rldistill.core.files import write_text
from rldistill.scale import table
from rldistill.scale import trials as ray_trials
from rldistill.scale.trials import Trial, TrialPool
from rldistill.core.ray import cluster_cpus, import_ray, ray_session

START = 4  # first width of the bracket
TOL = 0.1  # stop when the narrowest passing and widest failing widths are this close
Probe = Callable[[list[int]], dict[int, bool]]  # widths -> passes


def search_width(probe: Probe, w_max: int, start: int = START, parallel: int = 1,
                 tol: float = TOL) -> tuple[int | None, list[int]]:
    """The smallest width in 1..w_max that passes (bracket by doubling, then k-section with
    ``parallel`` probes per step), assuming passing is monotone in width; None if even w_max
    fails. Returns it and every width probed, in order."""
    seen: dict[int, bool] = {}
    order: list[int] = []

    def ask(widths: list[int]) -> None:
        new = [w for w in dict.fromkeys(widths) if w not in seen]
        if new:
            seen.update(probe(new))
            order.extend(new)

    lo, hi, w = 0, None, max(1, min(start, w_max))  # lo: widest failing (0: none)
    while hi is None:
        ladder = [w]
        while len(ladder) < parallel and ladder[-1] < w_max:
            ladder.append(min(ladder[-1] * 2, w_max))
        ask(ladder)
        hi = next((x for x in ladder if seen[x]), None)
        lo = max([lo] + [x for x in ladder if not seen[x] and (hi is None or x < hi)])
        if hi is None and ladder[-1] >= w_max:
            return None, order
        w = min(ladder[-1] * 2, w_max)
    while hi - lo > max(1, math.floor(tol * hi)):
        ask(_interior(lo, hi, parallel))
        passing = [x for x in seen if lo < x < hi and seen[x]]
        hi = min(passing, default=hi)
        lo = max([lo] + [x for x in seen if lo < x < hi and not seen[x]])
    return hi, order


def _interior(lo: int, hi: int, k: int) -> list[int]:
    """Up to k widths strictly between lo and hi, evenly spaced in log-space."""
    a = max(lo, 1)
    xs = {min(hi - 1, max(lo + 1, round(math.exp(math.log(a) + (math.log(hi) - math.log(a))
                                                  * i / (k + 1))))) for i in range(1, k + 1)}
    return sorted(x for x in xs if lo < x < hi)


def compress(cfg: DistillConfig, seeds: int = 3, depth: int = 2, address: str | None = None,
             max_concurrent: int | None = None, overwrite: bool = False) -> dict[str, Any]:
    """Search for the smallest student that reaches ``cfg.target`` (module docstring); write the
    winner and the frontier to ``cfg.out``; return the frontier document."""
    from rldistill.drivers.distill import load_task_teachers

    _check(cfg, seeds, depth, max_concurrent)
    import_ray(address)
    cfg, teachers, _ = load_task_teachers(cfg)
    if len(teachers) != 1:
        raise UserError("compress sizes a student for one task: give one --teacher and --env")
    teacher = teachers[0]
    from rldistill.students.convs import teacher_layout

    if teacher_layout(teacher) is not None:
        raise UserError("compress searches MLP widths; for a CNN teacher sweep --param-ratio "
                        "with `rldistill sweep` instead")
    root = Path(cfg.out).resolve()
    _prepare(root, overwrite)
    size = _sizer(teacher, depth)
    w_max = 1
    while size(w_max + 1) <= teacher.params:
        w_max += 1
    sizes: dict[int, dict[str, Any]] = {}
    start = time.perf_counter()
    with ray_session(address, max_concurrent) as ray:
        cpus = max_concurrent or cluster_cpus(ray)
        parallel = max(1, math.ceil(cpus / seeds))
        pool = TrialPool(ray, min(cpus, parallel * seeds), device=cfg.device)  # starts once

        def probe(widths: list[int]) -> dict[int, bool]:
            sizes.update(_evaluate(cfg, root, widths, seeds, depth, pool))
            return {w: sizes[w]["passes"] for w in widths}

        try:
            best, order = search_width(probe, w_max, parallel=parallel)
        finally:
            pool.close()
    doc = _frontier_doc(cfg, teacher, sizes, best, order, seeds, depth, w_max,
                        time.perf_counter() - start)
    if best is not None:
        _write_winner(root, sizes[best], doc)
    write_text(root / "frontier.json", json.dumps(doc, indent=1) + "\n")
    pts = [(s["params"], *_mean_ci(s)) for s in doc["frontier"] if s["normalized_score"]]
    png = table.frontier_plot({f"depth {depth}": pts}, root / "frontier.png",
                              f"compress {teacher.name} on {cfg.env}", cfg.target)
    doc["frontier_png"] = str(png) if png else None
    write_text(root / "frontier.json", json.dumps(doc, indent=1) + "\n")
    return doc


def _check(cfg: DistillConfig, seeds: int, depth: int, max_concurrent: int | None) -> None:
    if cfg.student_hidden or cfg.param_ratio is not None or cfg.student_arch:
        raise UserError("compress chooses the student's size: drop --student-hidden, "
                        "--param-ratio and --student-arch (--depth sets its layers)")
    if cfg.teacher_train:
        raise UserError("compress distils a trained teacher: drop --teacher-train")
    if getattr(cfg, "collectors", 0):
        raise UserError("compress runs each size's seeds as Ray trials, one CPU each: drop "
                        "--collectors")
    if getattr(cfg, "student_obs", None):
        raise UserError("compress sizes MLP students on the teacher's observations: drop "
                        "--student-obs (or sweep sizes with `rldistill sweep`)")
    if seeds < 1:
        raise UserError(f"--seeds must be >= 1, got {seeds}")
    if depth not in (1, 2, 3):
        raise UserError(f"--depth {depth}: compress searches 1, 2 or 3 hidden layers")
    if max_concurrent is not None and max_concurrent < 1:
        raise UserError(f"--max-concurrent must be >= 1, got {max_concurrent}")
    cfg.validate()


def _prepare(root: Path, overwrite: bool) -> None:
    """Refuse an OUT that holds a distill run (not a compress one) unless ``overwrite``, which
    also starts every size again; a compress OUT is reused (finished seeds are read back)."""
    if overwrite:
        shutil.rmtree(root / "sizes", ignore_errors=True)
        for name in ("student.json", "student.safetensors", "result.json", "frontier.json",
                     "frontier.png"):
            (root / name).unlink(missing_ok=True)
    elif (root / "student.json").exists() and not (root / "frontier.json").exists():
        raise UserError(f"output dir {root} already holds a run: pass --overwrite to replace "
                        "it, or --out to choose another dir")


def _sizer(teacher: Any, depth: int) -> Callable[[int], int]:
    """Width -> the acting parameters of a student of ``depth`` layers of that width."""
    from rldistill.students.network import student_arch

    return lambda w: student_arch(teacher.spec, (w,) * depth, [teacher.head.name]).params


def _evaluate(cfg: DistillConfig, root: Path, widths: list[int], seeds: int, depth: int,
              pool: TrialPool) -> dict[int, dict[str, Any]]:
    """Each width's seeds as trials on the pool's Ray workers; per width its --seeds result
    (written to sizes/wW/result.json) and whether it passes."""
    from rldistill.drivers.seeds import seeds_result

    # --target is the runs' own only with --budget auto: else a compress run again with another
    # target reads the sizes it has back
    run_cfg = cfg if cfg.auto_budget else cfg.replace(target=DistillConfig.target)
    base = {w: run_cfg.replace(student_hidden=",".join([str(w)] * depth),
                               out=str(root / "sizes" / f"w{w}")) for w in widths}
    trials = [Trial(f"w{w}/seed{s}", base[w].replace(seed=s, out=f"{base[w].out}/seed{s}"))
              for w in widths for s in range(cfg.seed, cfg.seed + seeds)]
    for t in trials:
        if ray_trials.held_by_other(Path(t.cfg.out), t.cfg):
            raise UserError(f"{t.cfg.out} holds a run of other options: pass --overwrite, or "
                            "--out to choose another dir")
    results = pool.run(trials)
    out = {}
    for w in widths:
        runs = []
        for t in trials:
            r = results.get(t.name, "not run") if t.name.startswith(f"w{w}/") else None
            if isinstance(r, str):
                raise UserError(f"compress: trial {t.name} {r}: see {t.cfg.out}")
            runs += [r] if r else []
        doc = seeds_result(base[w], runs)
        write_text(Path(base[w].out) / "result.json", json.dumps(doc, indent=1) + "\n")
        agg = doc["normalized_score"]
        out[w] = {"width": w, "result": doc, "runs": runs,
                  "passes": bool(agg and agg["mean"]["ci95"][0] >= cfg.target)}
    return out


def _mean_ci(size: dict[str, Any]) -> tuple[float, float, float]:
    m = size["normalized_score"]["mean"]
    return m["value"], m["ci95"][0], m["ci95"][1]


def _frontier_doc(cfg: DistillConfig, teacher: Any, sizes: dict[int, dict[str, Any]],
                  best: int | None, order: list[int], seeds: int, depth: int, w_max: int,
                  wall: float) -> dict[str, Any]:
    frontier = []
    for w in sorted(sizes):
        r = sizes[w]["result"]
        frontier.append({"width": w, "hidden": [w] * depth, "params": r["student_params"],
                         "param_ratio": round(r["student_params"] / teacher.params, 4),
                         "normalized_score": r["normalized_score"],
                         "agreement": r["agreement"]["mean"], "passes": sizes[w]["passes"],
                         "seed_scores": [p["normalized_score"][0] for p in r["runs"]],
                         "dir": str(Path(cfg.out).resolve() / "sizes" / f"w{w}")})
    return {"teacher": {"name": teacher.name, "params": teacher.params}, "env": cfg.env,
            "target": cfg.target, "rule": "lower end of the 95% CI of the mean over seeds >= "
            "target", "seeds": seeds, "depth": depth, "max_width": w_max,
            "probed": order, "trials": len(order) * seeds, "wall_s": round(wall, 1),
            "winner": None if best is None else next(f for f in frontier if f["width"] == best),
            "frontier": frontier, "config": cfg.to_dict()}


def _write_winner(root: Path, size: dict[str, Any], doc: dict[str, Any]) -> None:
    """The winning size's best seed as OUT's student and result.json (distill's contract)."""
    runs = size["runs"]
    best = max(runs, key=lambda r: r["normalized_score"])
    src = Path(best["config"]["out"])
    for name in ("student.safetensors", "student.json"):
        shutil.copyfile(src / name, root / name)
    summary = {k: doc[k] for k in ("target", "rule", "seeds", "depth", "probed", "trials")}
    result = {**best, "compress": {**summary, "winner": doc["winner"], "from": str(src)}}
    write_text(root / "result.json", json.dumps(result, indent=1) + "\n")


def print_frontier(doc: dict[str, Any]) -> None:
    """The frontier (params -> score and CI over seeds), the winner and the files."""
    print(f"{doc['teacher']['name']} ({doc['teacher']['params']} params) on {doc['env']}: "
          f"target {doc['target']} ({doc['rule']}), {doc['seeds']} seeds per size")
    for f in doc["frontier"]:
        s = f["normalized_score"]
        score = (f"{s['mean']['value']:.3f} [{s['mean']['ci95'][0]:.3f}, "
                 f"{s['mean']['ci95'][1]:.3f}]" if s else "undefined")
        print(f"  width {f['width']:>4} {f['params']:>7} params ({f['param_ratio']:.3f} of the "
              f"teacher): {score}  {'pass' if f['passes'] else 'fail'}")
    w = doc["winner"]
    print(f"smallest passing student: width {w['width']}, {w['params']} params "
          f"({w['param_ratio']:.3f}); {doc['trials']} runs, {doc['wall_s']} s" if w else
          f"no width up to {doc['max_width']} reached the target; {doc['trials']} runs, "
          f"{doc['wall_s']} s")
