"""``--collectors N``, stepping ahead: each Ray actor plays its slice of the envs through the
round on its own, with the round's student and the teacher (where it acts), and sends back its
rows in segments while it plays on; the learner only stores them. Where the teacher acts it
labels in the actor (the outputs it acted on); with the student driver the learner labels the
rows in batches, as without collectors.

The rows are merged step by step in env order and the round ends where it would in one process
(the same steps, the same labelled envs in the last one, the same action log for
checkpoints), but each actor draws from its own random streams (seeded by the run's seed, the
task, the round and the actor) and runs the networks on its own slice: a run is the same, bit
for bit, for the same N, not across N. Recurrent students and students that see a view of the
teacher's observations step in lock with the learner (:mod:`rldistill.envs.remote`), which is
the same run for every N.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from rldistill.engine.collect import LABEL_CHUNK, Progress, _flush
from rldistill.engine.state import Task

Loop = Any  # rldistill.engine.loop.Loop
IN_FLIGHT = 2  # segments asked of each actor before the first comes back


def plays_ahead(task: Task) -> bool:
    """Whether ``task``'s envs are Ray actors that may play a round on their own."""
    return hasattr(task.venv, "actors") and task.memory is None and task.tobs is None \
        and task.t_memory is None


def collect_ahead(loop: Loop, i: int, task: Task, progress: Progress | None,
                  stop: Any = None) -> None:
    """Task ``i``'s labelled steps of the loop's current round, played by its actors (to the
    round's end: ``stop`` is not asked)."""
    import ray

    cfg, venv, n = loop.cfg, task.venv, loop.n_envs
    left = task.ends[loop.round] - task.labelled
    if left <= 0:
        return
    start = loop.budget * loop.round // loop.n_rounds
    span = loop.base_budget if cfg.auto_budget else loop.budget
    share = loop.driver.teacher_share(start / span, loop.round)
    steps, last_k = math.ceil(left / n), left - (math.ceil(left / n) - 1) * n
    # the teacher and the student's module go once to each actor, then the student's weights
    # (the teacher every round where it still learns: --teacher-train)
    first = not getattr(venv, "played", False) or bool(cfg.teacher_train)
    nets = ray.put((task.teacher, loop.student) if first else loop.student.state_dict())
    venv.played = True
    for j, actor in enumerate(venv.actors):
        actor.run.remote(begin, nets, loop.driver, i, share, last_k, steps, cfg.explore,
                         [cfg.seed, i, loop.round, j])
    per = max(1, LABEL_CHUNK // n)  # steps per segment
    segments = [(a, min(steps, a + per)) for a in range(0, steps, per)]
    asked: list[list[Any]] = []

    def ask(s: int) -> None:
        if s < len(segments):
            asked.append([actor.run.remote(play, *segments[s]) for actor in venv.actors])

    for s in range(IN_FLIGHT):
        ask(s)
    for s in range(len(segments)):
        parts = ray.get(asked[s])
        ask(s + IN_FLIGHT)
        a, b = segments[s]
        labelled = np.ones((b - a, n), bool)  # step x env
        if b == steps:
            labelled[-1] = np.arange(n) < last_k

        def rows(key: str) -> torch.Tensor:  # the labelled rows, step by step in env order
            return torch.from_numpy(np.concatenate([p[key] for p in parts], axis=1)[labelled])

        k = int(labelled.sum())
        env = torch.from_numpy(np.nonzero(labelled)[1].astype(np.int32))
        labels = [rows("t_out")] if loop.driver.teacher_may_act else []
        loop.teacher_queries += k if labels else 0
        task.actions.extend(np.concatenate([p["actions"] for p in parts], axis=1))
        task.labelled += k
        task.env_steps += (b - a) * n
        _flush(loop, i, task, {"obs": [rows("obs")], "starts": [rows("starts")], "env": [env],
                               "s_act": [rows("s_act")]}, labels)
        if progress:
            progress(k)
    last = ray.get([actor.run.remote(current) for actor in venv.actors])
    task.obs = np.concatenate([o for o, _ in last])
    task.starts = np.concatenate([s for _, s in last])


def begin(c: Any, nets: Any, driver: Any, i: int, share: float, last_k: int, steps: int,
          explore: bool, seed: list[int]) -> None:
    """In actor ``c``: the round's networks (the teacher and student, or the student's new
    weights), driver and random streams."""
    if isinstance(nets, tuple):
        c.nets = nets
    else:
        c.nets[1].load_state_dict(nets)
    teacher, student = c.nets
    seeds = np.random.SeedSequence(seed).generate_state(3)
    c.round = {"teacher": teacher, "student": student, "driver": driver, "i": i,
               "share": share, "last_k": last_k, "steps": steps,
               "rng": np.random.default_rng(int(seeds[0])),
               "act_gen": torch.Generator().manual_seed(int(seeds[1])) if explore else None,
               "noise_gen": torch.Generator().manual_seed(int(seeds[2]))}


def play(c: Any, first_step: int, end_step: int) -> dict[str, np.ndarray | None]:
    """In actor ``c``: steps ``first_step .. end_step - 1`` of the round on its envs (the driver
    acts for the labelled envs: the first ``last_k`` envs of the vec env in the round's last
    step, all of them before; the student for the others); per step (first axis) and env its
    observations, episode starts, student and teacher outputs and actions."""
    r = c.round
    head, teacher, driver = r["teacher"].head, r["teacher"], r["driver"]
    n, lo = c.venv.num_envs, c.first
    out: dict[str, list[Any]] = {k: [] for k in ("obs", "starts", "s_act", "t_out", "actions")}
    for step in range(first_step, end_step):
        k = min(n, max(0, (r["last_k"] if step == r["steps"] - 1 else lo + n) - lo))
        obs = torch.from_numpy(c.obs)
        s_out = r["student"].outputs(obs, r["i"])
        t_out = teacher.outputs(obs) if driver.teacher_may_act else None

        def student(a: int, b: int) -> torch.Tensor:
            return head.act(s_out[a:b], r["act_gen"])

        actions = driver.all_actions(head, k, n, None if t_out is None else t_out[:k],
                                     r["share"], student, r["rng"], r["noise_gen"])
        for key, value in (("obs", c.obs), ("starts", c.starts.copy()), ("s_act", s_out),
                           ("t_out", t_out), ("actions", actions)):
            out[key].append(value)
        c.step(actions)
    return {k: None if v[0] is None else np.stack([np.asarray(x) for x in v])
            for k, v in out.items()}


def current(c: Any) -> tuple[np.ndarray, np.ndarray]:
    """In actor ``c``: its envs' observations and episode starts now."""
    return c.obs, c.starts
