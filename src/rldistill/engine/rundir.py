"""What a run does with its ``--out`` dir, one rule for every run kind (distill, online,
kickstart, each ``--seeds`` run, sweep and compress trials, the MLP baseline):

- ``--overwrite``: the run's files there are removed, the run starts;
- ``--resume`` over a finished run of the same options: its result is read back, nothing runs
  (a restart loop that always passes ``--resume`` is idempotent);
- ``--resume`` over a checkpoint: the run continues when its options are the same but for
  :data:`~rldistill.core.config.RESUMABLE` (a larger budget extends it);
- ``--resume`` with nothing to resume (a run killed before its first checkpoint, a scheduler's
  first start): the run starts, with one notice line;
- otherwise a dir that holds a run is refused, and so is any ``--resume`` whose options differ
  from the run on disk, in one line naming the options (the rule:
  :func:`rldistill.core.config.changed_options`).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rldistill.core.config import (BEFORE, RESUMABLE, DistillConfig, FinetuneConfig,
                                   KickstartConfig, changed_options)
from rldistill.engine.checkpoint import CKPT_NAME, load_checkpoint, remove_checkpoint
from rldistill.core.errors import UserError, notice

RESULT = "result.json"
Config = DistillConfig | KickstartConfig | FinetuneConfig


@dataclass(frozen=True)
class RunDir:
    """The decision: ``finished`` (the same run's result: nothing to do), else whether to
    ``resume`` the checkpoint there or to start."""

    path: Path
    resume: bool = False
    finished: dict[str, Any] | None = None


def saved_config(out: Path) -> dict[str, Any] | None:
    """The config of the run in ``out``: its checkpoint's, else its result.json's."""
    if (out / CKPT_NAME).exists():
        return dict(load_checkpoint(out / CKPT_NAME)[1]["config"])
    if (out / RESULT).exists():
        return dict(json.loads((out / RESULT).read_text()).get("config", {}))
    return None


def finished_result(out: Path, cfg: Config) -> dict[str, Any] | None:
    """The result.json in ``out`` if it is a finished run of ``cfg``'s options, else None."""
    path = out / RESULT
    if not path.exists():
        return None
    result: dict[str, Any] = json.loads(path.read_text())
    return None if changed_options(result.get("config", {}), cfg) else result


def differences(out: Path, cfg: Config) -> list[str] | None:
    """How the run in ``out`` differs from ``cfg`` (as ``--resume`` would see it): [] for a
    finished run of the same options or a checkpoint it may continue, the options that differ
    otherwise (``["?"]`` for a dir with a student but no config), None for no run."""
    if finished_result(out, cfg) is not None:
        return []
    if (out / CKPT_NAME).exists():
        return changed_options(load_checkpoint(out / CKPT_NAME)[1]["config"], cfg, RESUMABLE)
    if (out / RESULT).exists():
        return changed_options(json.loads((out / RESULT).read_text()).get("config", {}), cfg)
    return ["?"] if (out / "student.json").exists() else None


def other_options(out: Path, diff: list[str], saved: dict[str, Any] | None, cfg: Config
                  ) -> None:
    """Refuse to resume the run in ``out`` where options differ (``diff``), in one line that
    names each option with its value there and here."""
    if not diff:
        return
    if diff == ["?"]:
        raise UserError(f"--resume: {out} holds a student but neither its checkpoint nor its "
                        "result.json: pass --overwrite to replace it, or another --out")
    want, default = cfg.to_dict(), type(cfg)().to_dict()
    there = {k: (saved or {}).get(k, BEFORE.get(k, default[k])) for k in diff}
    text = "; ".join(f"--{k.replace('_', '-')} {there[k]} there, {want[k]} here" for k in diff)
    raise UserError(f"--resume: the run in {out} was made with other options ({text}): pass "
                    "the same options, --overwrite to replace it, or another --out")


def other_plan(out: Path, planned: dict[str, Any], plan: dict[str, Any]) -> None:
    """Refuse to resume a run whose defaults this version of rldistill resolves otherwise
    (rounds, envs, epochs, batch, updates, driver, beta), naming each value there and now."""
    planned = {"beta": "exp:0.5", **planned}  # the one schedule before the heads chose it
    if planned != plan:
        diff = "; ".join(f"{k} {planned.get(k)} there, {v} now" for k, v in plan.items()
                         if planned.get(k) != v)
        raise UserError(f"--resume: the run in {out} was planned by another version of "
                        f"rldistill ({diff}): pass those values as options (--rounds, --n-envs, "
                        "--epochs, --batch-size, --min-updates, --driver, --beta), or "
                        "--overwrite to start again")


def open_run_dir(out: Path, cfg: Config, resume: bool = False, overwrite: bool = False,
                 files: Sequence[str] = ()) -> RunDir:
    """Decide what the run of ``cfg`` does with ``out`` (the rule above); ``files`` (and
    directories) are the run's own, removed by ``overwrite`` or before a fresh start over a run
    that left no checkpoint."""
    if overwrite and resume:
        raise UserError("--overwrite and --resume contradict each other: pass one")
    diff = differences(out, cfg)
    if resume:
        other_options(out, diff or [], saved_config(out) if diff else None, cfg)
        if diff == []:  # the same run: finished (read back), or a checkpoint to continue
            done = finished_result(out, cfg)
            if done is not None:
                return RunDir(out, finished=done)
            _check_writable(out)
            return RunDir(out, resume=True)
        notice(f"--resume: nothing to resume in {out} (no checkpoint yet): starting the run")
        overwrite = True  # what a run killed before its first checkpoint left is of no use
    elif diff is not None and not overwrite:
        raise UserError(f"output dir {out} already holds a run: pass --resume to continue it, "
                        "--overwrite to replace it, or --out to choose another dir")
    _check_writable(out)
    if overwrite:
        remove_checkpoint(out)
        for name in files:
            path = out / name
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    return RunDir(out)


def _check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise UserError(f"output dir {out} is not writable ({e.strerror}): pass --out with a "
                        "writable dir") from None
