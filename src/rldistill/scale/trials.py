"""Ray Tune for sweeps and compress: a list of distill configs run as trials (on the Ray of
:mod:`rldistill.core.ray`: local, or the cluster at ``--address``).

Each trial is an ordinary :func:`rldistill.drivers.distill.run` in its own directory (``cfg.out``),
with its own checkpoint and ``result.json``; after every round it reports the round's metrics to
Tune (the loop's callback), and at the end its scores. When a trial's worker dies, Tune restarts the
trial (``FailureConfig(max_failures)``) and the trial resumes from its own rldistill checkpoint,
so it ends with the same student, bit for bit, as an uninterrupted run. compress, which asks for a
few trials at every step of its search, keeps one :class:`TrialPool` of workers instead (Tune
starts new worker processes at every call). Ray is imported here only when a sweep runs (extra
``rldistill[ray]``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rldistill.core.config import DistillConfig
from rldistill.core.ray import check_gpus, trial_gpus
from rldistill.engine.checkpoint import CKPT_NAME
from rldistill.engine.rundir import differences, finished_result
from rldistill.report.runlog import read_rounds, round_row

PID_FILE = "worker.pid"  # each trial writes its worker's pid here (to watch or kill it)
STARTS = "starts.jsonl"  # a line per start of a trial: its pid, and whether it resumed
MAX_FAILURES = 3  # restarts of a trial whose worker died


@dataclass(frozen=True)
class Trial:
    """One trial: its name (also its directory under the sweep) and its full config."""

    name: str
    cfg: DistillConfig


def run_trials(trials: Sequence[Trial], storage: Path, label: str,
               max_concurrent: int | None = None,
               max_failures: int = MAX_FAILURES) -> dict[str, dict[str, Any] | str]:
    """Run ``trials`` on Ray Tune (inside :func:`rldistill.core.ray.ray_session`), at
    most ``max_concurrent`` at a time (default: as many as the cluster's CPUs allow, one CPU
    each and one per --collectors actor); Tune's own records go to ``storage/label``.
    Finished runs of the same options are read back without Ray. Returns name -> the trial's
    result (its result.json), or an error line."""
    out: dict[str, dict[str, Any] | str] = {}
    for t in trials:  # finished runs of the same options are read back, not run again
        if (done := finished_result(Path(t.cfg.out), t.cfg)) is not None:
            out[t.name] = done
    trials = [t for t in trials if t.name not in out]
    if not trials:
        return out
    import ray
    from ray import tune

    check_gpus(ray, any(trial_gpus(t.cfg.device) for t in trials))

    shutil.rmtree(storage / label, ignore_errors=True)  # Tune's records of an earlier call
    space = {"trial": tune.grid_search([{"name": t.name, "cfg": t.cfg.to_dict()}
                                        for t in trials])}
    tuner = tune.Tuner(
        tune.with_resources(trainable, _resources), param_space=space,
        tune_config=tune.TuneConfig(max_concurrent_trials=max_concurrent, reuse_actors=True,
                                    trial_name_creator=_tune_name,
                                    trial_dirname_creator=_tune_name),
        run_config=tune.RunConfig(name=label, storage_path=str(storage.resolve()), verbose=0,
                                  failure_config=tune.FailureConfig(max_failures=max_failures)))
    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for our table and --json line
        grid = tuner.fit()
    for i in range(len(grid)):
        r = grid[i]
        name = (r.config or {})["trial"]["name"]
        metrics = r.metrics or {}
        if r.error is not None or "result_json" not in metrics:
            out[name] = "failed: " + (str(r.error).strip().splitlines() or ["?"])[-1][:300]
        else:
            out[name] = json.loads(metrics["result_json"])
    return out


def _resources(config: dict[str, Any]) -> Any:
    """A CPU for the trial (and a GPU where it runs on CUDA) and one CPU for each of its
    --collectors actors (of every task), placed with it."""
    from ray import tune

    cfg = DistillConfig(**config["trial"]["cfg"])
    gpus = trial_gpus(cfg.device)
    return tune.PlacementGroupFactory([{"CPU": 1, **({"GPU": gpus} if gpus else {})}]
                                      + [{"CPU": 1}] * (cfg.collectors * len(cfg.tasks)))


def _tune_name(trial: Any) -> str:
    return re.sub(r"[^A-Za-z0-9=._-]", "_", trial.config["trial"]["name"])[:120]


def trainable(config: dict[str, Any]) -> None:
    """A Tune trial (in a Ray worker): :func:`run_one`, every round's metrics and the final
    scores reported to Tune."""
    from ray import tune

    def report(loop: Any, m: Any) -> None:
        row = {k: v for k, v in round_row(m).items() if k != "task_losses"}
        tune.report({**row, "done": False})

    result = run_one(config["trial"]["cfg"], (report,))
    tune.report({"done": True, "normalized_score": result.get("normalized_score"),
                 "agreement": result.get("agreement"),
                 "params": result.get("student", {}).get("params"),
                 "result_json": json.dumps(result)})


def run_one(cfg_dict: dict[str, Any], callbacks: Sequence[Any] = ()) -> dict[str, Any]:
    """A trial in this (worker) process: an ordinary distill run in ``cfg.out``, resumed from
    its checkpoint after a restart (a line in STARTS says where), read back when finished."""
    import torch

    from rldistill.drivers.distill import run

    torch.set_num_threads(1)  # as the CLI: the same float results as a run alone
    cfg = DistillConfig(**cfg_dict)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / PID_FILE).write_text(f"{os.getpid()}\n")
    result = finished_result(out, cfg)
    if result is None:
        resume = (out / CKPT_NAME).exists()
        with (out / STARTS).open("a") as f:  # a restarted trial says where it resumed
            f.write(json.dumps({"pid": os.getpid(), "resume": resume,
                                "rounds_done": len(read_rounds(out)) if resume else 0}) + "\n")
        result = run(cfg, resume=resume, overwrite=not resume, callbacks=tuple(callbacks))
    return result


class _Worker:
    """A Ray actor that runs trials one after another (:func:`run_one`): its process, imports
    and loaded modules are paid for once, not once per trial."""

    def run(self, cfg_dict: dict[str, Any]) -> dict[str, Any]:
        return run_one(cfg_dict)


class TrialPool:
    """``size`` Ray workers kept across calls of :meth:`run` (compress: one call per search
    step, so its workers start once). A trial whose worker dies is given to a new worker and
    resumes from its checkpoint, up to ``max_failures`` times, as Tune restarts a trial."""

    def __init__(self, ray: Any, size: int, max_failures: int = MAX_FAILURES,
                 device: str = "cpu") -> None:
        gpus = trial_gpus(device)  # a worker per GPU where the trials run on CUDA
        check_gpus(ray, gpus > 0)
        if gpus:
            size = min(size, int(ray.cluster_resources()["GPU"]))
        self._ray, self.size, self.max_failures = ray, size, max_failures
        self._remote = ray.remote(num_cpus=1, num_gpus=gpus, max_restarts=0)(_Worker)
        self._idle: list[Any] = []

    def run(self, trials: Sequence[Trial]) -> dict[str, dict[str, Any] | str]:
        """name -> the trial's result (its result.json) or an error line; finished runs of the
        same options are read back without Ray."""
        from ray.exceptions import RayActorError, RayTaskError

        out: dict[str, dict[str, Any] | str] = {}
        queue = []
        for t in trials:
            done = finished_result(Path(t.cfg.out), t.cfg)
            if done is not None:
                out[t.name] = done
            else:
                queue.append(t)
        failures: dict[str, int] = {}
        running: dict[Any, tuple[Trial, Any]] = {}  # object ref -> (trial, worker)
        while queue or running:
            while queue and len(running) < self.size:
                t = queue.pop(0)
                w = self._idle.pop() if self._idle else self._remote.remote()
                running[w.run.remote(t.cfg.to_dict())] = (t, w)
            (ref,), _ = self._ray.wait(list(running), num_returns=1)
            t, w = running.pop(ref)
            try:
                out[t.name] = self._ray.get(ref)
                self._idle.append(w)
            except RayTaskError as e:  # the run raised: its error, the worker kept
                out[t.name] = "failed: " + (str(e.cause if hasattr(e, "cause") else e)
                                            .strip().splitlines() or ["?"])[-1][:300]
                self._idle.append(w)
            except RayActorError:  # the worker died: the trial resumes on a new one
                failures[t.name] = failures.get(t.name, 0) + 1
                if failures[t.name] > self.max_failures:
                    out[t.name] = f"failed: its worker died {failures[t.name]} times"
                else:
                    queue.insert(0, t)
        return {t.name: out[t.name] for t in trials}

    def close(self) -> None:
        for w in self._idle:
            self._ray.kill(w)
        self._idle = []


def held_by_other(out: Path, cfg: DistillConfig) -> bool:
    """Whether ``out`` holds a run that ``cfg``'s trial may not continue or read back (the one
    rule, :func:`rldistill.engine.rundir.differences`)."""
    return bool(differences(out, cfg))
