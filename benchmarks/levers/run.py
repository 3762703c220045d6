"""Hard tasks with few env steps (issue 27): each lever of the one engine on or off, every task,
5 seeds, with the env steps and teacher queries it took and its wall-time cost.

    .venv/bin/python benchmarks/levers/run.py run   --tasks halfcheetah --configs base,perturb0.1
    .venv/bin/python benchmarks/levers/run.py table [--rows benchmarks/levers/results/rows.jsonl]

Every run is `rldistill distill` (``rldistill.run``) with ``--param-ratio 0.1`` unless the task
says otherwise, scored on ``--eval-episodes`` episodes on the final-evaluation seeds; a row per
run is appended to ``results/rows.jsonl`` (an interrupted table resumes: finished rows are kept);
``table`` writes ``results/table.md`` (``--rows results/rows_100ep.jsonl``: ``table_100ep.md``):
per task and config the IQM and mean of the normalized score over seeds with rliable's 95 %
stratified-bootstrap CIs, the worst seed, env steps, teacher queries and training seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
OUTSIDE = HERE.parent / "continuous" / "teachers"  # benchmarks/continuous/train_outside.py

# task -> DistillConfig options (the bank's tasks; teachers from the zoo or trained by
# benchmarks' own scripts)
TASKS: dict[str, dict[str, object]] = {
    "halfcheetah": dict(teacher="zoo:HalfCheetah-v5-ppo", env="HalfCheetah-v5", budget=20_000),
    "llc-ppo": dict(teacher="zoo:LunarLanderContinuous-v3-ppo",
                    env="LunarLanderContinuous-v3", budget=20_000),
    # SB3-default teachers from outside (benchmarks/continuous/train_outside.py remakes them)
    "llc-sac": dict(teacher=str(OUTSIDE / "LunarLanderContinuous-v3-sac.zip"),
                    env="LunarLanderContinuous-v3", budget=20_000),
    "llc-a2c": dict(teacher=str(OUTSIDE / "LunarLanderContinuous-v3-a2c.zip"),
                    env="LunarLanderContinuous-v3", budget=20_000),
    # more SB3-default tanh teachers from outside (the activation's check)
    "llc-ppo-outside": dict(teacher=str(OUTSIDE / "LunarLanderContinuous-v3-ppo.zip"),
                            env="LunarLanderContinuous-v3", budget=20_000),
    "pendulum-ppo-outside": dict(teacher=str(OUTSIDE / "Pendulum-v1-ppo.zip"), env="Pendulum-v1",
                                 budget=20_000),
    "pendulum-a2c": dict(teacher=str(OUTSIDE / "Pendulum-v1-a2c.zip"), env="Pendulum-v1",
                         budget=20_000),
    "pendulum-ppo": dict(teacher="zoo:Pendulum-v1-ppo", env="Pendulum-v1", budget=20_000),
    "pendulum-sac": dict(teacher="zoo:Pendulum-v1-sac", env="Pendulum-v1", budget=20_000),
    "lunarlander-ppo": dict(teacher="zoo:LunarLander-v3-ppo", env="LunarLander-v3",
                            budget=2_000),
    "lunarlander-dqn": dict(teacher="zoo:LunarLander-v3-dqn", env="LunarLander-v3",
                            budget=2_000),
}
# config -> the options it adds (the levers)
CONFIGS: dict[str, dict[str, object]] = {
    "base": {},
    "perturb0.05": dict(perturb=0.05),
    "perturb0.1": dict(perturb=0.1),
    "perturb0.2": dict(perturb=0.2),
    "perturb0.3": dict(perturb=0.3),
    "clip10": dict(grad_clip=10.0),  # gradient-norm clipping (first run as a trial patch)
    "clip100": dict(grad_clip=100.0),  # the default since
    "updates4096": dict(min_updates=4096),
    "perturb0.1+updates4096": dict(perturb=0.1, min_updates=4096),
    "perturb0.2+updates4096": dict(perturb=0.2, min_updates=4096),
    "updates16384": dict(min_updates=16384),
    "perturb0.1+updates16384": dict(perturb=0.1, min_updates=16384),
    "perturb0.2+updates16384": dict(perturb=0.2, min_updates=16384),
    "rounds20": dict(rounds=20),
    "rounds40": dict(rounds=40),
    "ratio0.25": dict(param_ratio=0.25),
    **{f"sobolev{w}": dict(sobolev=w) for w in (0.1, 1.0, 10.0)},
    # a trial lever patched into the engine by this script only (PATCHES), kept out of the
    # package unless the table says it wins
    **{f"ema{d}": dict(_patch="ema", _value=d) for d in (0.99, 0.998)},
    **{f"prio{a}": dict(_patch="prio", _value=a) for a in (0.5, 1.0)},
    **{f"clampmean{m}": dict(_patch="clampmean", _value=m) for m in (0.1, 0.5)},
    # round 0 shared between the teacher and the untrained student, the student alone after:
    # per step (each env's actor drawn at every step) or per env (the first envs the teacher's)
    **{f"r0step{v}": dict(driver="mix", _patch="r0step", _value=v) for v in (0.25, 0.5)},
    **{f"r0envs{v}": dict(driver="mix", _patch="r0envs", _value=v) for v in (0.25, 0.5)},
    # the default driver; round 0's rows (the teacher's play) left out of the updates from
    # round K on: the student then learns from its own states only
    **{f"drop-r0-from{k}": dict(_patch="dropr0", _value=k) for k in (1, 3, 5)},
    # the untrained student drives round 0, the teacher round R, the student every other round
    **{f"teacher-round{r}": dict(driver="mix", _patch="teacherround", _value=r) for r in (1, 2)},
    # early stopping on held-out states: the round's student with the lowest KL on the next
    # round's new states (before it trained on them) is the one handed back
    "pickfresh": dict(_patch="pickfresh", _value=0),
    "pickfresh-agree": dict(_patch="pickfresh", _value=1),
    # the student's shape at the same --param-ratio: 1 or 3 hidden layers (the default is 2)
    **{f"depth{d}": dict(_patch="depth", _value=d) for d in (1, 3)},
    # tanh between its layers (first run as a trial patch; the option since, whose default
    # "teacher" gives tanh to the students of SB3's PPO and A2C teachers); relu: the old default
    "tanh": dict(student_activation="tanh"),
    "relu": dict(student_activation="relu"),
    # progressive shrinking (born_again.py): a 25 % student with half the env steps teaches
    # the 10 % one with the other half
    "shrink25": dict(_shrink=0.25),
    "teacher": dict(driver="teacher"),
    "student": dict(driver="student"),
    **{f"dart{s}": dict(driver="teacher", dart=s) for s in (0.05, 0.1, 0.2, 0.3)},
    **{f"mix+dart{s}": dict(driver="mix", dart=s) for s in (0.1, 0.2)},
    "mix": dict(driver="mix"),  # its rows (seeds 0-9) ran when beta was 0.5^round for every head
    # the teacher's share per round: exp:0 (the teacher drives round 0 only), exp:0.25
    **{f"mix-beta{d}": dict(driver="mix", beta=f"exp:{d}") for d in (0, 0.25)},
    # the student samples its actions where it drives (--explore), with either driver
    "explore": dict(explore=True),
    "student-explore": dict(driver="student", explore=True),
    "teacher+perturb0.1": dict(driver="teacher", perturb=0.1),
    "default+perturb0.1": dict(perturb=0.1),
    "mse": dict(loss="mse"),
    "mse+updates4096": dict(loss="mse", min_updates=4096),
}


def patch_ema(decay: float) -> None:
    """An exponential moving average of the student's weights over each round's updates
    (Polyak averaging), started at the round's first update; the student ends each round with
    the average."""
    import torch

    from rldistill.engine.loop import Loop

    plain = Loop.update_round

    def update_round(self):  # type: ignore[no-untyped-def]
        ema: dict[str, torch.Tensor] = {}
        step = self.opt.step

        def averaged_step(*a, **k):  # type: ignore[no-untyped-def]
            out = step(*a, **k)
            with torch.no_grad():
                for name, v in self.student.state_dict().items():
                    if name not in ema:
                        ema[name] = v.detach().clone()
                    elif v.dtype.is_floating_point:
                        ema[name].mul_(decay).add_(v, alpha=1 - decay)
            return out

        self.opt.step = averaged_step
        try:
            metrics = plain(self)
        finally:
            self.opt.step = step
        self.student.load_state_dict(ema)
        return metrics

    Loop.update_round = update_round  # type: ignore[method-assign]


def patch_pick_fresh(by_agreement: bool = False) -> None:
    """Early stopping on held-out states: the student handed back is the round's whose KL to
    the teacher on the next round's new states (measured before it trained on them: the run's
    ``fresh_kl``) was lowest, or (``by_agreement``) whose agreement there was highest. The last
    round's student has no such measure and is not a candidate."""
    import copy

    from rldistill.engine.loop import Loop

    plain = Loop.update_round

    def update_round(self):  # type: ignore[no-untyped-def]
        fresh = [m for m in (t.fresh.means() for t in self.tasks) if m is not None]
        best = getattr(self, "_best_fresh", None)
        if self.round >= 1 and fresh:
            kl = -min(a for a, _ in fresh) if by_agreement else max(k for _, k in fresh)
            if best is None or kl < best[0]:
                self._best_fresh = (kl, copy.deepcopy(self.student.state_dict()), self.round)
        metrics = plain(self)
        if self.round >= self.n_rounds and getattr(self, "_best_fresh", None):
            kl, state, picked = self._best_fresh
            self.student.load_state_dict(state)
            what = "agreement" if by_agreement else "KL"
            print(f"pickfresh: round {picked}'s student (fresh {what} {abs(kl):.4f}) of "
                  f"{self.round}", flush=True)
        return metrics

    Loop.update_round = update_round  # type: ignore[method-assign]


def patch_prioritized(alpha: float, every: int = 50) -> None:
    """Minibatches drawn in proportion to each row's loss (half of them; the other half
    uniform), the per-row losses recomputed over the whole buffer every ``every`` updates:
    rare states the student still gets wrong (a cheetah about to flip) come up more often."""
    import torch

    from rldistill.engine.loop import Loop

    plain = Loop._batches

    def _batches(self, task, targets):  # type: ignore[no-untyped-def]
        if self.student.recurrent:
            return plain(self, task, targets)
        i, buf, fn = self.tasks.index(task), task.buf, self.loss_fns[self.tasks.index(task)]
        n = buf.size
        rows = torch.arange(n)

        def gen():  # type: ignore[no-untyped-def]
            while True:
                with torch.no_grad():
                    out = torch.cat([self.student(buf.observations(c), i)
                                     for c in rows.split(8192)])
                    per_row = torch.func.vmap(lambda s, p: fn(s[None], p[None]))(out, targets)
                    w = per_row.clamp_min(0) ** alpha
                    probs = 0.5 / n + 0.5 * w / w.sum().clamp_min(1e-12)
                idx = torch.multinomial(probs, self.batch * every, replacement=True,
                                        generator=self.gen)
                for b in idx.split(self.batch):
                    yield buf.observations(b), targets.index_select(0, b)

        return gen()

    Loop._batches = _batches  # type: ignore[method-assign]


def patch_round_shares(shares: dict[int, float], per_env: bool = False) -> None:
    """The teacher's share of each round from ``shares`` (0 for the rounds it leaves out);
    ``per_env``: the first round(share x k) envs are the teacher's for the whole round (else a
    draw per step, as the engine's mix driver does)."""
    import numpy as np

    from rldistill.engine.acting import Driver

    Driver.teacher_share = lambda self, progress, r: shares.get(r, 0.0)  # type: ignore
    if not per_env:
        return
    plain = Driver.actions

    def actions(self, head, k, t_out, s, student, rng, noise_gen):  # type: ignore
        if not 0.0 < s < 1.0:
            return plain(self, head, k, t_out, s, student, rng, noise_gen)
        out = head.to_env(student(0, k))
        mask = (np.arange(len(out)) < round(s * len(out))).reshape(-1, *[1] * (out.ndim - 1))
        return np.where(mask, head.to_env(self.teacher_actions(head, t_out, noise_gen)), out)

    Driver.actions = actions  # type: ignore[method-assign]


def patch_drop_round0(from_round: int) -> None:
    """Round 0's planned rows (all but the few it overshoots its end by) left out of the
    minibatches from round ``from_round`` on."""
    import torch

    from rldistill.engine.loop import Loop

    plain = Loop._batches

    def _batches(self, task, targets):  # type: ignore[no-untyped-def]
        n0, buf = task.ends[0], task.buf
        if self.round < from_round or self.student.recurrent or buf.size <= n0:
            return plain(self, task, targets)

        def gen():  # type: ignore[no-untyped-def]
            while True:
                perm = n0 + torch.randperm(buf.size - n0, generator=self.gen)
                for b in perm.split(self.batch):
                    yield buf.observations(b), targets.index_select(0, b)

        return gen()

    Loop._batches = _batches  # type: ignore[method-assign]


def patch_clamp_mean(margin: float) -> None:
    """A Gaussian teacher's means clamped to the bounds +- ``margin`` x the half range in the
    targets (the env clips every action to the bounds: a mean at 10 x the range acts as one at
    the bound, and a small student need not spend itself on fitting it)."""
    import torch

    from rldistill.heads.continuous import ContinuousLoss, GaussianHead

    plain = ContinuousLoss.prepare

    @torch.no_grad()
    def prepare(self, teacher):  # type: ignore[no-untyped-def]
        out = plain(self, teacher)
        h = self.head
        if self.name != "kl" or not isinstance(h, GaussianHead) or not h.bounded:
            return out
        mu, log_std = out.chunk(2, -1)
        half = (h.high - h.low) / 2
        return torch.cat([torch.maximum(torch.minimum(mu, h.high + margin * half),
                                        h.low - margin * half), log_std], -1)

    ContinuousLoss.prepare = prepare  # type: ignore[method-assign]


def patch_depth(depth: float) -> None:
    """--param-ratio's student with ``depth`` hidden layers of equal widths (the default: 2)."""
    from rldistill.students import network

    defaults = list(network.arch_for_ratio.__defaults__)  # (depth, heads)
    defaults[0] = int(depth)
    network.arch_for_ratio.__defaults__ = tuple(defaults)


PATCHES = {"ema": patch_ema, "depth": patch_depth, "prio": patch_prioritized,
           "clampmean": patch_clamp_mean,
           "r0step": lambda v: patch_round_shares({0: v}),
           "r0envs": lambda v: patch_round_shares({0: v}, per_env=True),
           "teacherround": lambda r: patch_round_shares({int(r): 1.0}),
           "dropr0": lambda k: patch_drop_round0(int(k)),
           "pickfresh": lambda v: patch_pick_fresh(bool(v))}


def run_one(task: str, config: str, seed: int, episodes: int) -> dict:
    import torch

    import rldistill

    torch.set_num_threads(1)
    if "_shrink" in CONFIGS[config]:
        from born_again import run_shrunk

        return {**run_shrunk(task, TASKS[task], seed, episodes,
                             float(CONFIGS[config]["_shrink"])), "config": config}  # type: ignore
    options = {"param_ratio": 0.1, **TASKS[task], **CONFIGS[config]}
    if "_patch" in options:
        PATCHES[str(options.pop("_patch"))](float(options.pop("_value")))  # type: ignore
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        r = rldistill.run(rldistill.DistillConfig(**options, seed=seed, eval_episodes=episodes,
                                                  out=tmp))  # type: ignore[arg-type]
        total = time.perf_counter() - t0
    return {"task": task, "config": config, "seed": seed, "options": options,
            "normalized_score": r["normalized_score"], "agreement": r["agreement"],
            "student_return": r["student"]["return_mean"],
            "teacher_return": r["teacher"]["return_mean"],
            "random_return": r["random"]["return_mean"], "student_params": r["student"]["params"],
            "teacher_params": r["teacher"]["params"], "env_steps": r["env_steps"],
            "teacher_queries": r["teacher_queries"], "labelled_steps": r["labelled_steps"],
            "updates": r["updates"], "train_s": r["wall_s"], "total_s": round(total, 1),
            "episodes": episodes}


def cmd_run(args: argparse.Namespace) -> None:
    RESULTS.mkdir(exist_ok=True)
    rows_path = Path(args.rows)
    done = {(r["task"], r["config"], r["seed"]) for r in _rows(rows_path)}
    todo = [(t, c, s) for t in args.tasks.split(",") for c in args.configs.split(",")
            for s in range(args.seeds) if (t, c, s) not in done]
    print(f"{len(todo)} runs ({len(done)} done already)", flush=True)
    with ProcessPoolExecutor(args.jobs, max_tasks_per_child=1) as pool:  # a fresh process per run
        futures = [pool.submit(run_one, t, c, s, args.episodes) for t, c, s in todo]
        for f in futures:
            row = f.result()
            with rows_path.open("a") as out:
                out.write(json.dumps(row) + "\n")
            print(f"{row['task']} {row['config']} seed {row['seed']}: "
                  f"{row['normalized_score']} (agreement {row.get('agreement', '-')}, "
                  f"{row['train_s']} s)", flush=True)


def cmd_table(args: argparse.Namespace) -> None:
    from rldistill.evaluation.stats import aggregate

    rows = _rows(Path(args.rows))
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["task"], r["config"]), []).append(r)
    lines = ["| task | config | seeds | IQM [95 % CI] | mean [95 % CI] | worst | agreement | "
             "env steps | teacher queries | train s |", "|" + "---|" * 10]
    for (task, config), rs in sorted(groups.items()):
        scores = [[r["normalized_score"]] for r in rs]
        agg = aggregate(scores)
        iqm, mean = agg["iqm"], agg["mean"]
        lines.append(
            f"| {task} | {config} | {len(rs)} | {iqm['value']:.3f} [{iqm['ci95'][0]:.3f}, "
            f"{iqm['ci95'][1]:.3f}] | {mean['value']:.3f} [{mean['ci95'][0]:.3f}, "
            f"{mean['ci95'][1]:.3f}] | {min(s[0] for s in scores):.3f} | "
            f"{_mean([r['agreement'] for r in rs if 'agreement' in r])} | {rs[0]['env_steps']} | "
            f"{round(sum(r['teacher_queries'] for r in rs) / len(rs))} | "
            f"{sum(r['train_s'] for r in rs) / len(rs):.1f} |")
    text = "\n".join(lines) + "\n"
    # beside its rows: rows.jsonl -> table.md, rows_100ep.jsonl -> table_100ep.md
    Path(args.rows).with_name(Path(args.rows).stem.replace("rows", "table", 1) + ".md"
                              ).write_text(text)
    print(text)


def _mean(values: list[float]) -> str:
    """The mean to 3 places; "-" for none (shrink25's rows: agreement with stage 1 only)."""
    return f"{sum(values) / len(values):.3f}" if values else "-"


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] \
        if path.exists() else []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--tasks", default="halfcheetah")
    r.add_argument("--configs", default="base")
    r.add_argument("--seeds", type=int, default=5)
    r.add_argument("--episodes", type=int, default=30)
    r.add_argument("--jobs", type=int, default=2)
    r.add_argument("--rows", default=str(RESULTS / "rows.jsonl"))
    t = sub.add_parser("table")
    t.add_argument("--rows", default=str(RESULTS / "rows.jsonl"))
    args = ap.parse_args()
    cmd_run(args) if args.cmd == "run" else cmd_table(args)


if __name__ == "__main__":
    sys.exit(main())
