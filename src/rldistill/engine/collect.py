"""A round's collection, for :class:`rldistill.engine.loop.Loop`: who acts (the driver), the
teacher labels, the rows reach the buffer.

Where the teacher acts (teacher and mix drivers) it labels every step as it goes; where only the
student acts, the teacher labels the states in batches. The rows reach the buffer every
LABEL_CHUNK rows and at the end (a round of frames is not held twice). The teacher reads its own
observations where the student sees a view of them (:mod:`rldistill.envs.views`); a recurrent
student steps its state on every env at every step, whoever acts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from rldistill.engine.state import Task
from rldistill.core.errors import UserError

Loop = Any  # rldistill.engine.loop.Loop (which imports this module)

Progress = Callable[[int], None]
LABEL_CHUNK = 2048  # rows per teacher call when a whole round is labelled (frames: memory)


def collect(loop: Loop, i: int, task: Task, progress: Progress | None,
            stop: Callable[[], bool]) -> None:
    """Collect task ``i``'s labelled steps of the loop's current round (or until ``stop()``)."""
    cfg = loop.cfg
    start = loop.budget * loop.round // loop.n_rounds
    target = task.ends[loop.round]
    span = loop.base_budget if cfg.auto_budget else loop.budget  # auto: as planned
    share = loop.driver.teacher_share(start / span, loop.round)  # the teacher acts w.p. share
    rows: dict[str, list[torch.Tensor]] = {}  # obs, starts, env (tobs, cut, s_out) per step
    labels: list[torch.Tensor] = []  # the teacher's outputs per step, where it acts
    while task.labelled < target and not stop():
        obs_np = task.obs
        k = min(target - task.labelled, obs_np.shape[0])
        t_in = torch.from_numpy(task.teacher_obs[:k])
        s_out = _step_memory(loop, i, task)
        row = {"obs": torch.from_numpy(obs_np[:k]), "starts": torch.from_numpy(task.starts[:k]),
               "env": torch.arange(k, dtype=torch.int32)}
        if task.tobs is not None:
            row["tobs"] = t_in
        if s_out is not None and task.gap is not None:
            row["s_out"] = s_out[:k]
            row["cut"] = torch.from_numpy(task.starts[:k] | task.gap[:k])
            task.gap[:] = np.arange(len(task.gap)) >= k  # these envs' steps go unstored
        masks = None if task.venv.masks is None else torch.from_numpy(task.venv.masks.copy())
        if masks is not None:  # the valid actions: the teacher's labels are masked with them
            row["mask"] = masks[:k]
        for key, value in row.items():
            rows.setdefault(key, []).append(value)
        if task.t_memory is not None:  # a recurrent teacher labels as it steps, on every env
            keep = torch.from_numpy(~task.starts).unsqueeze(1).float()
            t_all, task.t_memory = task.teacher.step(torch.from_numpy(task.teacher_obs),
                                                     task.t_memory * keep)
            t_out = t_all[:k]
        else:
            t_out = task.teacher.outputs(t_in) if loop.driver.teacher_may_act else None
        if t_out is not None:
            t_out = t_out if masks is None else task.head.mask(t_out, masks[:k])
            labels.append(t_out)
            loop.teacher_queries += k
        s_act = s_out
        if masks is not None:  # the student acts within the masks, on every env
            s_act = task.head.mask(loop.student.outputs(torch.from_numpy(obs_np), i)
                                   if s_out is None else s_out, masks)
            if s_out is None:
                rows.setdefault("s_act", []).append(s_act[:k])
            elif "s_out" in row:  # a recurrent student's held-out metrics: masked too
                rows["s_out"][-1] = s_act[:k]
        elif s_out is None and share < 1.0:  # the student acts: its outputs serve the held-out
            s_act = loop.student.outputs(row["obs"], i)  # metrics too (no second forward)
            rows.setdefault("s_act", []).append(s_act)
        actions = _actions(loop, i, task, k, t_out, share, s_act)
        task.actions.append(actions)
        task.step(actions)
        task.labelled += k
        task.env_steps += obs_np.shape[0]
        if progress:
            progress(k)
        if len(rows["obs"]) * loop.n_envs >= LABEL_CHUNK:
            _flush(loop, i, task, rows, labels)
    if rows:
        _flush(loop, i, task, rows, labels)


def _step_memory(loop: Loop, i: int, task: Task) -> torch.Tensor | None:
    """A recurrent student's outputs for every env, its state carried (and reset at episode
    starts); None for other students."""
    if task.memory is None:
        return None
    keep = torch.from_numpy(~task.starts).unsqueeze(1).float()
    s_out, task.memory = loop.student.for_task(i).step(torch.from_numpy(task.obs),
                                                       task.memory * keep)
    return s_out


def _flush(loop: Loop, i: int, task: Task, rows: dict[str, list[torch.Tensor]],
           labels: list[torch.Tensor]) -> None:
    """The collected rows (labelled where the teacher acted) into the buffer, then emptied;
    NaN/inf in the labels stops the run with the labelled step."""
    cat = {k: torch.cat(v) for k, v in rows.items()}
    obs = cat["obs"]
    if labels:
        t_out = torch.cat(labels)
    else:  # the student drove: the teacher labels what it visited, in batches
        t_out = chunked(task.teacher.outputs, cat.get("tobs", obs))
        if "mask" in cat:
            t_out = task.head.mask(t_out, cat["mask"])
        loop.teacher_queries += obs.shape[0]
    bad = ~torch.isfinite(t_out).flatten(1).all(-1)
    if bad.any():
        step = loop.labelled - obs.shape[0] + int(bad.nonzero()[0, 0])
        raise UserError(f"teacher output holds NaN/inf at labelled step {step}: check the "
                        "teacher file; the last checkpoint is kept")
    task.buf.add(obs, t_out, cat["starts"], cat["env"], **{k: cat[k] for k in task.buf.optional})
    _measure_fresh(loop, i, task, obs, t_out, cat.get("s_out", cat.get("s_act")))
    rows.clear()
    labels.clear()


def _measure_fresh(loop: Loop, i: int, task: Task, obs: torch.Tensor, t_out: torch.Tensor,
                   s_out: torch.Tensor | None) -> None:
    """Add the student's agreement and KL on these new (not yet trained on) rows to the round's
    sums (RoundMetrics.fresh_*): the held-out view of how far it still is (a recurrent
    student's outputs as it stepped)."""
    if s_out is None:
        s_out = chunked(lambda x: loop.student.outputs(x, i), obs)
    task.fresh.agreement += float(task.head.agreement(s_out, t_out).sum())
    task.fresh.kl += float(task.head.divergence(t_out, s_out, task.teacher.kind).sum())
    task.fresh.rows += obs.shape[0]


def _actions(loop: Loop, i: int, task: Task, k: int, t_out: torch.Tensor | None, share: float,
             s_out: torch.Tensor | None) -> np.ndarray:
    """Actions for all envs, the driver's for the first ``k`` (labelled) envs; the others act
    unlabelled (the student). The student's come from ``s_out`` where given: a recurrent
    student's outputs for all envs, or the student's outputs for the first ``k``."""
    head, obs_np = task.head, task.obs
    gen = loop.act_gen if loop.cfg.explore else None
    policy = loop.student.for_task(i)

    def student(lo: int, hi: int) -> Any:
        if s_out is not None and hi <= len(s_out):
            return head.act(s_out[lo:hi], gen)
        return policy.act(torch.from_numpy(obs_np[lo:hi]), gen)

    return loop.driver.all_actions(head, k, obs_np.shape[0], t_out, share, student, loop.rng,
                                   loop.noise_gen)


def chunked(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``fn`` over ``x`` in chunks of LABEL_CHUNK rows (one call for vector observations)."""
    if len(x) <= LABEL_CHUNK:
        return fn(x)
    return torch.cat([fn(x[i:i + LABEL_CHUNK]) for i in range(0, len(x), LABEL_CHUNK)])
