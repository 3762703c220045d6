"""``rldistill sweep SWEEP.yaml``: many distill runs on Ray Tune, and their results table.

The sweep file::

    base:                       # a distill config: keys as `distill --config` (DistillConfig)
      teacher: zoo:LunarLander-v3-ppo
      env: LunarLander-v3
      budget: 5000
    grid:                       # every combination (lists of values of any option)
      student_hidden: ["8,8", "16,16", "32,32"]
      loss: [kl, ce]
      seed: [0, 1]
    random:                     # optional: `samples` draws, each crossed with the grid
      samples: 4
      seed: 0                   # the draws are rldistill's (numpy), the same every time
      space:
        lr: {loguniform: [0.0003, 0.01]}
        temperature: {uniform: [0.5, 2.0]}
        loss: [kl, ce]          # a list: one of its values
    seeds: 3                    # optional shorthand for grid seed: [s, s+1, s+2]
    max_failures: 3             # optional: restarts of a trial whose worker died

Each trial runs in ``OUT/trials/NAME/`` (NAME from its options, e.g.
``loss=kl_student_hidden=16-16_seed=0``), an ordinary distill run with its own checkpoint and
result.json. A sweep run again into the same OUT reads finished trials back and resumes the
others from their checkpoints; ``--overwrite`` starts them all again. At the end:
``OUT/results.md``, ``results.csv``, ``results.png`` (per configuration, over seeds:
:mod:`.table`) and ``OUT/sweep.json``.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from rldistill.core.config import DistillConfig
from rldistill.core.errors import UserError
from rldistill.core.files import write_text
from rldistill.core.options import check_options, yaml_mapping
from rldistill.scale import table
from rldistill.scale import trials as ray_trials
from rldistill.scale.trials import Trial
from rldistill.core.ray import import_ray, ray_session

TOP_KEYS = ("base", "grid", "random", "seeds", "max_failures")
RANDOM_KEYS = ("samples", "seed", "space")
DISTRIBUTIONS = ("uniform", "loguniform", "randint")


def load_sweep(path: str | Path
               ) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]], int]:
    """(base options, each trial's name and options over the base, max_failures) from a sweep
    file;
    any problem is a one-line :class:`UserError` naming the file, the key and the fix."""
    p = Path(path)
    doc = yaml_mapping(p, "sweep file", "a mapping with base: and grid: / random:")
    unknown = sorted(set(map(str, doc)) - set(TOP_KEYS))
    if unknown:
        raise UserError(f"sweep file {p}: unknown key {unknown[0]!r}; known keys: "
                        f"{', '.join(TOP_KEYS)}")
    base = check_options(_mapping(doc.get("base"), p, "base"), DistillConfig, f"{p} base")
    grid = _grid(_mapping(doc.get("grid"), p, "grid"), p)
    if "seeds" in doc:
        n = doc["seeds"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 1 or "seed" in grid:
            raise UserError(f"sweep file {p}: seeds should be a count >= 1 (or give grid seed: "
                            "[...], not both)")
        grid["seed"] = list(range(base.get("seed", 0), base.get("seed", 0) + n))
    draws = _draws(_mapping(doc.get("random"), p, "random"), p, set(grid))
    for key in ("out",):
        if key in base or key in grid or any(key in d for d in draws):
            raise UserError(f"sweep file {p}: drop {key!r}: each trial runs in OUT/trials/NAME "
                            "(pass --out OUT to the sweep)")
    failures = doc.get("max_failures", ray_trials.MAX_FAILURES)
    if not isinstance(failures, int) or isinstance(failures, bool) or failures < 0:
        raise UserError(f"sweep file {p}: max_failures should be a count >= 0, got {failures!r}")
    keys = sorted(grid, key=lambda k: k == "seed")  # the seed last: names read per config
    points = [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]
    trials = []
    for i, draw in enumerate(draws):
        for point in points:
            over = {**draw, **point}
            over = {k: over[k] for k in sorted(over, key=lambda k: k == "seed")}
            trials.append((trial_name(over, i if "random" in doc else None), over))
    return base, trials, failures


def _mapping(value: Any, p: Path, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"sweep file {p}: {name} should be a mapping of option: value")
    return {str(k).replace("-", "_"): v for k, v in value.items()}


def _grid(grid: dict[str, Any], p: Path) -> dict[str, list[Any]]:
    out = {}
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise UserError(f"sweep file {p}: grid {key} should be a non-empty list of values, "
                            f"got {values!r}")
        out[key] = [check_options({key: v}, DistillConfig, f"{p} grid")[key] for v in values]
    return out


def _draws(spec: dict[str, Any], p: Path, grid_keys: set[str]) -> list[dict[str, Any]]:
    """The random section's draws (one empty draw without it)."""
    if not spec:
        return [{}]
    import numpy as np

    unknown = sorted(set(spec) - set(RANDOM_KEYS))
    if unknown:
        raise UserError(f"sweep file {p}: random: unknown key {unknown[0]!r}; known keys: "
                        f"{', '.join(RANDOM_KEYS)}")
    n, space = spec.get("samples", 1), _mapping(spec.get("space"), p, "random space")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1 or not space:
        raise UserError(f"sweep file {p}: random needs samples: N >= 1 and a space: of options")
    clash = sorted(set(space) & grid_keys)
    if clash:
        raise UserError(f"sweep file {p}: {clash[0]} is in grid and in random: give it once")
    rng = np.random.RandomState(int(spec.get("seed", 0)))
    return [{k: check_options({k: _draw(k, d, rng, p)}, DistillConfig, f"{p} random")[k]
             for k, d in space.items()} for _ in range(n)]


def _draw(key: str, dist: Any, rng: Any, p: Path) -> Any:
    if isinstance(dist, list) and dist:
        return dist[int(rng.randint(len(dist)))]
    if isinstance(dist, dict) and len(dist) == 1:
        (kind, bounds), = dist.items()
        if (kind in DISTRIBUTIONS and isinstance(bounds, list) and len(bounds) == 2
                and all(isinstance(b, (int, float)) for b in bounds) and bounds[0] < bounds[1]
                and (kind != "loguniform" or bounds[0] > 0)):
            lo, hi = bounds
            if kind == "randint":
                return int(rng.randint(int(lo), int(hi) + 1))
            x = (math.exp(rng.uniform(math.log(lo), math.log(hi))) if kind == "loguniform"
                 else rng.uniform(lo, hi))
            return float(f"{x:.4g}")
    raise UserError(f"sweep file {p}: random {key} should be a list of values or one of "
                    f"{{uniform|loguniform|randint: [low, high]}}, got {dist!r}")


def trial_name(overrides: dict[str, Any], index: int | None = None) -> str:
    """A directory name from a trial's options, e.g. loss=kl_student_hidden=16-16_seed=0."""
    parts = [f"{k}={table._text(v)}" for k, v in overrides.items()]
    name = "_".join(parts) or "base"
    name = re.sub(r"[^A-Za-z0-9=._-]", "-", name)[:150]
    return name if index is None else f"r{index}_{name}"


def plan(path: str | Path, out: str | Path, overwrite: bool = False
         ) -> tuple[list[tuple[Trial, dict[str, Any]]], int]:
    """Every trial of the sweep with its options, checked before Ray starts (options, teachers,
    and trial dirs that hold other runs); ``overwrite`` clears the trial dirs."""
    from rldistill.drivers.distill import load_task_teachers

    base, points, failures = load_sweep(path)
    root = Path(out).resolve()
    trials, seen = [], set()
    for name, over in points:
        cfg = DistillConfig(**{**base, **over, "out": str(root / "trials" / name)}).validate()
        sources = tuple(str(getattr(cfg, k)) for k in (
            "teacher", "env", "teacher_kind", "teacher_normalize", "env_module", "env_wrapper",
            "frame_stack", "trust_teacher", "teacher_train"))
        if sources not in seen and not cfg.teacher_train:  # a bad teacher fails here, once
            seen.add(sources)
            load_task_teachers(cfg)
        trials.append((Trial(name, cfg), over))
    if len({t.name for t, _ in trials}) < len(trials):
        raise UserError(f"sweep file {path}: two trials have the same options: drop the repeat")
    for t, _ in trials:
        d = Path(t.cfg.out)
        if overwrite:
            shutil.rmtree(d, ignore_errors=True)
        elif ray_trials.held_by_other(d, t.cfg):
            raise UserError(f"{d} holds a run of other options: pass --overwrite to replace the "
                            "sweep's trials, or --out to choose another dir")
    return trials, failures


def run_sweep(path: str | Path, out: str | Path = "runs/sweep", address: str | None = None,
              max_concurrent: int | None = None, overwrite: bool = False) -> dict[str, Any]:
    """Run the sweep (locally, or on the cluster at ``address``); write and return its summary
    (``OUT/sweep.json``) with the results table (``OUT/results.md`` / ``.csv`` / ``.png``)."""
    if max_concurrent is not None and max_concurrent < 1:
        raise UserError(f"--max-concurrent must be >= 1, got {max_concurrent}")
    import_ray(address)
    root = Path(out).resolve()
    trials, failures = plan(path, root, overwrite)
    start = time.perf_counter()
    # a local Ray gets a CPU for each trial and each of its collectors (at least one trial's)
    per_trial = 1 + max(t.cfg.collectors * len(t.cfg.tasks) for t, _ in trials)
    cpus = max_concurrent * per_trial if max_concurrent else max(os.cpu_count() or 1, per_trial)
    with ray_session(address, cpus):
        results = ray_trials.run_trials([t for t, _ in trials], root, "tune", max_concurrent,
                                         failures)
    wall = time.perf_counter() - start
    records = [{"name": t.name, "overrides": over, "result": results.get(t.name, "not run")}
               for t, over in trials]
    rows = table.config_rows(records)
    files = table.write_tables(rows, root, f"sweep {Path(path).name}")
    summary = {"sweep": str(path), "out": str(root), "wall_s": round(wall, 2),
               "trials": [_trial_summary(r, root) for r in records], "table": rows,
               "files": files}
    write_text(root / "sweep.json", json.dumps(summary, indent=1) + "\n")
    return summary


def _trial_summary(record: dict[str, Any], root: Path) -> dict[str, Any]:
    r = record["result"]
    head = {"name": record["name"], "overrides": record["overrides"],
            "dir": str(root / "trials" / record["name"])}
    if not isinstance(r, dict):
        return {**head, "status": r}
    return {**head, "status": "done", "normalized_score": r.get("normalized_score"),
            "agreement": r.get("agreement"), "params": r["student"]["params"],
            "wall_s": r.get("wall_s")}


def print_sweep(summary: dict[str, Any]) -> None:
    """The table, failed trials and where the files are."""
    print(table.markdown(summary["table"]), end="")
    for t in summary["trials"]:
        if t["status"] != "done":
            print(f"trial {t['name']}: {t['status']}")
    files = summary["files"]
    done = sum(t["status"] == "done" for t in summary["trials"])
    print(f"{done}/{len(summary['trials'])} trials in {summary['wall_s']} s; "
          f"{files['markdown']}, {files['csv']}" + (f", {files['png']}" if files["png"] else ""))
