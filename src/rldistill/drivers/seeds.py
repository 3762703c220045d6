"""``--seeds N`` (distill and kickstart): the same run with seeds ``seed .. seed+N-1``, each an
ordinary run in ``OUT/seedK/`` (its own student, checkpoint and result.json), and one result in
``OUT`` with the per-seed figures and their aggregate (mean and IQM with 95 % stratified-bootstrap
CIs over seeds and tasks: :mod:`rldistill.evaluation.stats`).

Each seed's run decides by itself what ``--resume`` does with its dir
(:mod:`rldistill.engine.rundir`): a finished run of the same options is read back, one that
stopped half way resumes from its checkpoint, one with other options is refused.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rldistill.core.errors import UserError
from rldistill.core.files import write_text
from rldistill.evaluation.stats import aggregate

RunOne = Callable[[Any, bool, bool], dict[str, Any]]  # (cfg, resume, overwrite)


def run_seeds(run_one: RunOne, cfg: Any, n: int, resume: bool = False,
              overwrite: bool = False) -> dict[str, Any]:
    if n < 1:
        raise UserError(f"--seeds must be >= 1, got {n}")
    out = Path(cfg.out)
    runs = [run_one(dataclasses.replace(cfg, seed=seed, out=str(out / f"seed{seed}")), resume,
                    overwrite) for seed in range(cfg.seed, cfg.seed + n)]
    result = seeds_result(cfg, runs)
    write_text(out / "result.json", json.dumps(result, indent=1) + "\n")
    return result


def _per_seed(r: dict[str, Any]) -> dict[str, Any]:
    """One run's figures: per task for distill; the kick-started student (and its scratch
    twin) for kickstart."""
    c = r["config"]
    if "start_normalized_score" in r:  # finetune
        return {"seed": c["seed"], "dir": c["out"], "normalized_score": [r["normalized_score"]],
                "return_mean": [r["final_return_mean"]], "wall_s": r["train_wall_s"],
                **{k: [r[k]] for k in ("start_normalized_score", "lowest_normalized_score")},
                **({"scratch_normalized_score": [r["scratch"]["normalized_score"]]}
                   if "scratch" in r else {})}
    if "scratch" in r or r.get("algo"):
        s = r["student"]
        return {"seed": c["seed"], "dir": c["out"], "normalized_score": [s["normalized_score"]],
                "return_mean": [s["final_return_mean"]], "agreement": [s["agreement"]],
                "steps_to_90": s["steps_to_90"], "labelled_steps": r["steps"],
                "wall_s": s["train_wall_s"], **({"scratch_normalized_score": [
                    r["scratch"]["normalized_score"]], "scratch_steps_to_90":
                    r["scratch"]["steps_to_90"]} if "scratch" in r else {})}
    tasks = r.get("tasks") or [r]
    return {"seed": c["seed"], "dir": c["out"],
            "normalized_score": [b["normalized_score"] for b in tasks],
            "return_mean": [b["student"]["return_mean"] for b in tasks],
            "agreement": [b["agreement"] for b in tasks],
            "labelled_steps": r["labelled_steps"], "wall_s": r["wall_s"],
            "env_steps": r.get("env_steps", r["labelled_steps"]),
            **({"baseline_normalized_score": [r["baseline_mlp"]["normalized_score"]]}
               if "baseline_mlp" in r else {})}


def seeds_result(cfg: Any, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-seed figures and their aggregate over seeds (and tasks)."""
    per = [_per_seed(r) for r in runs]
    scores = [p["normalized_score"] for p in per]
    result: dict[str, Any] = {
        "seeds": [p["seed"] for p in per], "runs": per,
        "teacher": runs[0]["teacher"], "env": runs[0].get("env", getattr(cfg, "env", "")),
        "config": cfg.to_dict()}
    if "student" in runs[0]:
        result["student_params"] = runs[0]["student"]["params"]
    scratch: list[list[float]] = [p.get("scratch_normalized_score") or [] for p in per]
    if all(x and x[0] is not None for x in scratch):
        result["scratch_normalized_score"] = aggregate(scratch)
    baseline = [p.get("baseline_normalized_score") or [None] for p in per]
    if all(x[0] is not None for x in baseline):  # recurrent students' MLP baselines
        result["baseline_mlp_normalized_score"] = aggregate(baseline)
    if all(s is not None for row in scores for s in row):
        result["normalized_score"] = aggregate(scores)
    else:
        result["normalized_score"] = None
        result["note"] = ("the teacher scores no better than random on some task: the normalized "
                          "score is undefined; see the returns")
    if len(scores[0]) == 1:
        result["return"] = aggregate([p["return_mean"] for p in per])
    for key in ("agreement", "start_normalized_score", "lowest_normalized_score"):
        if all(key in p for p in per):
            result[key] = aggregate([p[key] for p in per])
    return result
