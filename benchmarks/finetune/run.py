"""Distil, then fine-tune (issue 28): does RL on a distilled student keep what it was taught?

For each task a 10 % student of a zoo teacher (``rldistill distill --param-ratio 0.1``, the
defaults), then per seed: ``rldistill finetune`` with its defaults (``finetune``), the same with
no guard (``--warmup-steps 0 --anchor none``: ``unguarded``), and SB3's own continuation of the
exported student (``plain``: ``load`` + ``learn``, as ``benchmarks/runtime/sb3_continue.sh``
measured it, with the same evaluation curve). One JSON row per run.

    .venv/bin/python benchmarks/finetune/run.py run --tasks ll-ppo,pendulum-sac,ll-dqn \\
        --configs finetune,plain --seeds 3 --jobs 2
    .venv/bin/python benchmarks/finetune/run.py table
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STUDENTS = HERE / "students"  # not in git: `run` remakes them (seeded)
ROWS = HERE / "results" / "rows.jsonl"

TEACHERS = HERE / "teachers"  # not in git: `teacher` remakes them (seeded)
BANK = ROOT / "benchmarks/bank/teachers"
# name: (teacher, fine-tuning env steps, evaluation every); PPO evaluates once per rollout
# (LunarLander: 16 envs x 1024 steps)
TASKS = {
    "ll-ppo": ("zoo:LunarLander-v3-ppo", 100_000, 16_384),
    "ll-dqn": ("zoo:LunarLander-v3-dqn", 100_000, 16_384),  # fine-tuned by PPO (the default)
    "ll-dqn-td": ("zoo:LunarLander-v3-dqn", 20_000, 2_000),  # by DQN: configs finetune-dqn, plain
    # a student of the teacher's own size (--param-ratio 1): does DQN keep the teacher itself?
    "ll-dqn-td-full": ("zoo:LunarLander-v3-dqn", 20_000, 2_000),
    # students distilled with --loss mse (Q-values themselves, where KL leaves each state's
    # level free): does DQN keep a student whose values are the teacher's?
    "ll-dqn-td-mse": ("zoo:LunarLander-v3-dqn", 20_000, 2_000),
    "ll-dqn-td-mse-full": ("zoo:LunarLander-v3-dqn", 20_000, 2_000),
    # the teacher itself (its weights in ll-dqn-td-full's q_net, patched in run_one): does DQN
    # keep the policy it trained, from an empty replay buffer?
    "ll-dqn-td-teacher": ("zoo:LunarLander-v3-dqn", 20_000, 2_000),
    "pendulum-sac": ("zoo:Pendulum-v1-sac", 10_000, 1_000),
    # weak teachers: the zoo's LunarLanderContinuous PPO (76), a LunarLander PPO stopped early
    "llc-ppo": ("zoo:LunarLanderContinuous-v3-ppo", 300_000, 16_384),
    "ll-ppo-early": (str(TEACHERS / "LunarLander-v3-ppo-300k.zip"), 300_000, 16_384),
    "llc-ppo-1m": ("zoo:LunarLanderContinuous-v3-ppo", 1_000_000, 32_768),
    # the zoo's MinAtar Breakout PPO (5.9): a CNN student (StudentCNN in its SB3 export)
    "breakout-ppo": ("zoo:MinAtar-Breakout-v1-ppo", 1_000_000, 65_536),
    "breakout-ppo-3m": ("zoo:MinAtar-Breakout-v1-ppo", 3_000_000, 262_144),
    # the same teacher, a full-size student (--param-ratio 1): the 10 % one cannot get past it
    "breakout-ppo-full": ("zoo:MinAtar-Breakout-v1-ppo", 1_000_000, 65_536),
    # the same 10 % student fine-tuned by DQN (the MinAtar paper's, zoo/hyperparams.py), which
    # learns MinAtar Breakout far faster than PPO: config dqn-scratch
    "breakout-dqn": ("zoo:MinAtar-Breakout-v1-ppo", 500_000, 25_000),
    # and the full-size student (breakout-ppo-full's) fine-tuned by DQN
    "breakout-dqn-full": ("zoo:MinAtar-Breakout-v1-ppo", 500_000, 25_000),
    # a teacher the defaults were not chosen on: the hard bank's Walker2d SAC (benchmarks/bank)
    "walker-sac": (str(BANK / "Walker2d-v5-sac-s0.zip"), 10_000, 1_000),
    # students of strong teachers, for the entropy floor as a default (README: "Can the floor be
    # a default"): which are near-deterministic, and does the floor lose what they were taught?
    # The bank's MinAtar DQN teachers (in git; their students, at the fitted temperature, are
    # not near-deterministic: only measured) and the zoo's PPO / DQN teachers
    **{f"minatar-{g.lower()}-dqn": (str(BANK / f"MinAtar-{g}-v1-dqn-s1.zip"), 300_000, 32_768)
       for g in ("Breakout", "SpaceInvaders")},
    "si-ppo": ("zoo:MinAtar-SpaceInvaders-v1-ppo", 300_000, 32_768),
    "cartpole-ppo": ("zoo:CartPole-v1-ppo", 100_000, 8_192),
    "cartpole-dqn": ("zoo:CartPole-v1-dqn", 100_000, 8_192),
    "acrobot-ppo": ("zoo:Acrobot-v1-ppo", 100_000, 8_192),
}
# the same tasks with students of today's default activation (--student-activation teacher:
# tanh, as these PPO teachers); every other task's student is distilled with ReLU, as it was
TASKS |= {f"{t}-tanh": TASKS[t] for t in ("ll-ppo", "llc-ppo", "ll-ppo-early")}
# the early-stopped teacher: `rldistill teacher train` with RL Zoo's hyperparameters, 300k steps
# (at 100k it scored -175, the random policy's return: no teacher to normalize by)
EARLY = ["teacher", "train", "--algo", "ppo", "--env", "LunarLander-v3", "--steps", "300000",
         "--out", str(TEACHERS / "LunarLander-v3-ppo-300k.zip")]
# every config before --anchor best was the default ran with the anchor on the start ("student")
START = dict(anchor="student")
CONFIGS = {"finetune": START, "unguarded": dict(warmup_steps=0, anchor="none"), "plain": {},
           "finetune-dqn": dict(algo="dqn", **START),
           "dqn-scratch": dict(algo="dqn", compare_scratch=True),
           # DQN as it is (no warm-up), and with a value warm-up for the first tenth of the
           # steps (only what every action's Q-value shares moves; patched in run_one)
           "dqn": dict(algo="dqn"), "dqn-valuewarm": dict(algo="dqn"),
           # DQN at a tenth of its learning rate (patched in run_one)
           "dqn-lr0.1": dict(algo="dqn"),
           # DQN with its learning rate ramped from 0 over the first quarter of the steps, after
           # a value warm-up of the first tenth or alone (patched in run_one): were Adam's first
           # full-rate steps what lost the student? (no: README)
           "dqn-lrwarm": dict(algo="dqn"), "dqn-valuewarm-lrwarm": dict(algo="dqn"),
           # DQN after the KL student's Q-value levels are fitted to the teacher's: on the
           # distillation run's states, a linear function of the last hidden layer added to
           # every action's output alike (the gaps, so the greedy actions, unchanged)
           "dqn-levelfit": dict(algo="dqn"),
           # DQN whose replay buffer holds a tenth of the steps before its first update (SB3's
           # learning_starts, 0 in the zoo's recipe; patched in run_one): the teacher's own
           # q_net lost up to a third of its return from an empty buffer
           "dqn-fill": dict(algo="dqn"),
           # the large-margin anchor at full weight throughout (it follows the best evaluation)
           "dqn-const": dict(algo="dqn", anchor_lambda="constant:1"),
           "dqn-const-lr0.1": dict(algo="dqn", anchor_lambda="constant:1"),
           # the same with the anchor let go sooner (a half-life of 20k env steps)
           "dqn-anchor20k": dict(algo="dqn", anchor_lambda="exp:1:20000"),
           # the anchor's weight reaching 0 (the large margin holds the greedy actions while
           # it is > 0 at all: breakout-dqn-full's student held 1.0 for 500k steps)
           "dqn-linear100k": dict(algo="dqn", anchor_lambda="linear:1:100000"),
           "scratch": dict(compare_scratch=True, **START),
           "anchor-ratio": dict(anchor_lambda="return-ratio", **START),
           "anchor-ratio-floor": dict(anchor_lambda="return-ratio::0.1", compare_scratch=True,
                                      **START),
           # exploration experiments: the student's logits divided by T at the start (its greedy
           # actions unchanged, its entropy raised), patched in run_one
           "soft-t3": START, "soft-t10": START,
           # --entropy-floor (a share of ln n; off by default: these rows showed no gain)
           "entfloor0.5": dict(entropy_floor=0.5, **START),
           "nofloor": dict(entropy_floor=0.0, **START),
           "entfloor0.5-scratch": dict(entropy_floor=0.5, compare_scratch=True, **START),
           # Breakout's full-size student, which moved only at T = 10 (soft-t10): a floor high
           # enough to find such a T, with the default anchor (best) and with none
           "entfloor0.9-scratch": dict(entropy_floor=0.9, compare_scratch=True),
           "entfloor0.9-noanchor": dict(entropy_floor=0.9, anchor="none"),
           "entfloor0.9": dict(entropy_floor=0.9),  # the same floor on the good starts
           # the defaults with the scratch twin again, beside the floor's rows: on another CPU
           # the same options are another RL run (the earlier defaults' rows ran on another host)
           "defaults-scratch": dict(compare_scratch=True),
           # --anchor best (the default since): the anchor follows the best-evaluated policy;
           # "ratchet" rows were first run as a patch of the callback, the same rule
           "ratchet": dict(anchor="best"), "ratchet-scratch": dict(anchor="best",
                                                                   compare_scratch=True)}
# what export --format sb3 makes of the student (else the same)
PLAIN_ALGO = {t: "dqn" for t in ("ll-dqn-td", "ll-dqn-td-full", "ll-dqn-td-mse",
                                  "ll-dqn-td-mse-full", "ll-dqn-td-teacher")}


def student(task: str) -> Path:
    out, cli = STUDENTS / SAME_STUDENT.get(task, task), str(ROOT / ".venv/bin/rldistill")
    teacher = TASKS[task][0]
    if not teacher.startswith("zoo:") and not Path(teacher).exists():
        subprocess.run([cli, *EARLY], check=True, stdout=subprocess.DEVNULL)
    if not (out / "result.json").exists():
        env = ["--env", ENVS[task]] if task in ENVS else []
        ratio = "1.0" if task.endswith("-full") else "0.1"
        act = [] if task.endswith("-tanh") else ["--student-activation", "relu"]
        act += ["--loss", "mse"] if "-mse" in task else []
        subprocess.run([cli, "distill", "--teacher", teacher, *env, "--param-ratio", ratio, *act,
                        "--out", str(out), "--overwrite", "--json"], check=True,
                       stdout=subprocess.DEVNULL)
    return out


ENVS = {"ll-ppo-early": "LunarLander-v3", "ll-ppo-early-tanh": "LunarLander-v3",
        "walker-sac": "Walker2d-v5", "minatar-breakout-dqn": "MinAtar/Breakout-v1",
        "minatar-spaceinvaders-dqn": "MinAtar/SpaceInvaders-v1"}
SAME_STUDENT = {"ll-dqn-td": "ll-dqn", "llc-ppo-1m": "llc-ppo", "breakout-ppo-3m": "breakout-ppo",
                "breakout-dqn": "breakout-ppo", "breakout-dqn-full": "breakout-ppo-full",
                "ll-dqn-td-teacher": "ll-dqn-td-full"}


def run_one(task: str, config: str, seed: int) -> dict:
    import torch

    from rldistill.core.config import FinetuneConfig
    from rldistill.drivers import finetune

    torch.set_num_threads(1)
    _, steps, every = TASKS[task]
    with tempfile.TemporaryDirectory() as tmp:
        options = {**CONFIGS[config], **({"algo": PLAIN_ALGO[task]} if config == "plain"
                                         and task in PLAIN_ALGO else {})}
        cfg = FinetuneConfig(student=str(student(task)), steps=steps, eval_every=every,
                             seed=seed, out=tmp, **options)  # type: ignore[arg-type]
        if config.startswith("soft-t"):
            _soften(finetune, float(config[6:]))
        if config.startswith("dqn-valuewarm"):
            _value_warmup(finetune, cfg.steps // 10)  # the first tenth, as measured
        if task == "ll-dqn-td-teacher":
            from rldistill.zoo import zoo_path

            _teacher_weights(finetune, zoo_path(TASKS[task][0].removeprefix("zoo:")))
        if config.endswith("-fill"):
            _learning_starts(finetune, cfg.steps // 10)
        if config == "dqn-levelfit":
            _level_fit(finetune, TASKS[task][0])
        if config.endswith("lrwarm"):
            start = cfg.steps // 10 if config.startswith("dqn-valuewarm") else 0
            _lr_warmup(finetune, start, start + cfg.steps // 4)
        elif "-lr" in config:
            _learning_rate(finetune, float(config.split("-lr")[1]))
        if config == "plain":
            setup = finetune.Setup(cfg, Path(tmp))
            r = finetune._train(cfg, setup, Path(tmp), "plain", None, {}, None)
            r |= {"algo": setup.algo, "teacher": {"return_mean": setup.returns[0]}}
        else:
            r = finetune.run(cfg, plot=False)
    return {"task": task, "config": config, "seed": seed, "algo": r["algo"], "steps": steps,
            **{k: r[k] for k in ("scratch", "steps_to_final") if k in r},
            "teacher_return": r["teacher"]["return_mean"],
            **{k: r[k] for k in ("start_normalized_score", "lowest_normalized_score",
                                 "lowest_over_start", "normalized_score", "final_return_mean",
                                 "train_wall_s", "curve")}}


def _soften(finetune: object, temperature: float) -> None:
    """Setup.model's student phase with its categorical action layer divided by
    ``temperature`` (an experiment, not an option)."""
    import torch

    make = finetune.Setup.model  # type: ignore[attr-defined]

    def model(self: object, cfg: object, phase: str, tb: object) -> object:
        m = make(self, cfg, phase, tb)
        if phase == "student":
            with torch.no_grad():
                m.policy.action_net.weight.div_(temperature)
                m.policy.action_net.bias.div_(temperature)
        return m

    finetune.Setup.model = model  # type: ignore[attr-defined]


def _learning_rate(finetune: object, factor: float) -> None:
    """Setup.model's student phase with its learning rate times ``factor`` (an experiment)."""
    make = finetune.Setup.model  # type: ignore[attr-defined]

    def model(self: object, cfg: object, phase: str, tb: object) -> object:
        m = make(self, cfg, phase, tb)
        if phase == "student":
            base = m.lr_schedule
            m.lr_schedule = lambda progress: factor * base(progress)
        return m

    finetune.Setup.model = model  # type: ignore[attr-defined]


def _lr_warmup(finetune: object, start: int, end: int) -> None:
    """Setup.model's student phase with its learning rate ramped linearly from 0 at env step
    ``start`` to its own at ``end``; before ``start`` as it is (a value warm-up's steps: an
    experiment)."""
    make = finetune.Setup.model  # type: ignore[attr-defined]

    def model(self: object, cfg: object, phase: str, tb: object) -> object:
        m = make(self, cfg, phase, tb)
        if phase == "student":
            base = m.lr_schedule
            total = cfg.steps  # type: ignore[attr-defined]
            ramp = lambda t: 1.0 if t < start else min(1.0, (t - start) / (end - start))  # noqa: E731
            # SB3's progress is 1 - t / steps (rounded: 1999.99... is step 2 000); the model
            # itself would not pickle in a lambda
            m.lr_schedule = lambda progress: base(progress) * ramp(round((1 - progress) * total))
        return m

    finetune.Setup.model = model  # type: ignore[attr-defined]


def _learning_starts(finetune: object, steps: int) -> None:
    """Setup.model's DQN with no gradient step before ``steps`` env steps (SB3's
    learning_starts): the replay buffer holds that many transitions at its first update."""
    make = finetune.Setup.model  # type: ignore[attr-defined]

    def model(self: object, cfg: object, phase: str, tb: object) -> object:
        m = make(self, cfg, phase, tb)
        m.learning_starts = steps
        return m

    finetune.Setup.model = model  # type: ignore[attr-defined]


def _teacher_weights(finetune: object, zip_path: Path) -> None:
    """Setup.model's DQN with the teacher's own q_net and target net (an SB3 DQN zip of the
    student's architecture): what DQN does to the policy that trained it."""
    import io
    import zipfile

    import torch

    make = finetune.Setup.model  # type: ignore[attr-defined]
    with zipfile.ZipFile(zip_path) as z:
        weights = torch.load(io.BytesIO(z.read("policy.pth")), weights_only=True)

    def model(self: object, cfg: object, phase: str, tb: object) -> object:
        m = make(self, cfg, phase, tb)
        if phase != "scratch":
            m.policy.load_state_dict(weights)
        return m

    finetune.Setup.model = model  # type: ignore[attr-defined]


def _level_fit(finetune: object, teacher: str) -> None:
    """Setup.model's DQN with its Q-value levels fitted to the teacher's (an experiment): on
    4 096 states of the distillation run, the least-squares ``w . h(s) + b`` (``h``: the last
    hidden layer) of mean_a(Q_teacher - Q_student) is added to every row of the last layer, so
    each state's level moves toward the teacher's and no gap moves. Prints the RMS level error
    before and after."""
    import torch

    from rldistill.engine.checkpoint import buffer_obs
    from rldistill.sources import load_teacher

    make = finetune.Setup.model  # type: ignore[attr-defined]

    def model(self: object, cfg: object, phase: str, tb: object) -> object:
        m = make(self, cfg, phase, tb)
        if phase != "student":
            return m
        x = buffer_obs(Path(cfg.student), 0, 4096).float()  # type: ignore[attr-defined]
        layers = list(m.q_net.q_net)
        last = layers[-1]
        with torch.no_grad():
            h = torch.nn.Sequential(*layers[:-1])(x)
            gap = (load_teacher(teacher).outputs(x) - last(h)).mean(1)
            a = torch.cat([h, torch.ones(len(h), 1)], 1)
            sol = torch.linalg.lstsq(a.double(), gap.double()[:, None]).solution.float()[:, 0]
            last.weight += sol[:-1]
            last.bias += sol[-1]
            after = (gap - a @ sol).pow(2).mean().sqrt()
            print(f"level error RMS {gap.pow(2).mean().sqrt():.2f} -> {after:.2f}", flush=True)
            m.q_net_target.load_state_dict(m.q_net.state_dict())
        return m

    finetune.Setup.model = model  # type: ignore[attr-defined]


def _value_warmup(finetune: object, steps: int) -> None:
    """Setup.model's DQN with a value warm-up (an experiment, not an option): for its first
    ``steps`` env steps, of each gradient only the part that moves every action's Q-value alike
    is kept (``Q(s, a) += w . h(s) + b`` on the last layer's features ``h``; every row of the
    last layer gets the same gradient, so Adam moves them alike): the state values are fitted
    by TD while the gaps, and so the greedy actions, stay as distilled."""
    import torch

    make = finetune.Setup.model  # type: ignore[attr-defined]

    def model(self: object, cfg: object, phase: str, tb: object) -> object:
        m = make(self, cfg, phase, tb)
        if phase != "student":
            return m
        params = list(m.q_net.parameters())
        last = [x for x in m.q_net.modules() if isinstance(x, torch.nn.Linear)][-1]

        def hook(p: torch.Tensor) -> object:
            def project(g: torch.Tensor) -> torch.Tensor:
                if m.num_timesteps >= steps:
                    return g
                if p is last.weight or p is last.bias:
                    return g.mean(0, keepdim=True).expand_as(g).clone()
                return torch.zeros_like(g)
            return project

        for p in params:
            p.register_hook(hook(p))
        return m

    finetune.Setup.model = model  # type: ignore[attr-defined]


def cmd_run(args: argparse.Namespace) -> None:
    done = {(r["task"], r["config"], r["seed"]) for r in _rows()}
    tasks = args.tasks.split(",")
    for t in tasks:
        student(t)
    todo = [(t, c, s) for t in tasks for c in args.configs.split(",")
            for s in range(args.seeds) if (t, c, s) not in done]
    print(f"{len(todo)} runs", flush=True)
    ROWS.parent.mkdir(exist_ok=True)
    with ProcessPoolExecutor(args.jobs, max_tasks_per_child=1) as pool:
        futures = {pool.submit(run_one, *job): job for job in todo}
        for f, job in futures.items():
            row = f.result()
            with ROWS.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
            print(job, row["start_normalized_score"], row["lowest_normalized_score"],
                  row["normalized_score"], flush=True)


def _rows(path: Path = ROWS) -> list[dict]:
    return [json.loads(ln) for ln in path.read_text().splitlines()] if path.exists() else []


def cmd_table(args: argparse.Namespace) -> None:
    import numpy as np

    groups: dict[tuple[str, str], list[dict]] = {}
    for r in _rows(args.rows):
        groups.setdefault((r["task"], r["config"]), []).append(r)
    print("| task | config | seeds | start | lowest | lowest / start (worst seed) | final |")
    print("|---|---|---|---|---|---|---|")
    for (task, config), rows in sorted(groups.items()):
        m = {k: float(np.mean([r[k] for r in rows])) for k in
             ("start_normalized_score", "lowest_normalized_score", "normalized_score")}
        worst = min(r["lowest_normalized_score"] / r["start_normalized_score"] for r in rows)
        print(f"| {task} ({rows[0]['algo']}, {rows[0]['steps']} steps) | {config} | {len(rows)} "
              f"| {m['start_normalized_score']:.3f} | {m['lowest_normalized_score']:.3f} | "
              f"{worst:.4f} | {m['normalized_score']:.3f} |")
    scratch_table(args.rows)


def scratch_table(path: Path) -> None:
    """Fine-tuned against the same algorithm from scratch (config scratch*), per seed."""
    from rldistill.drivers.finetune import steps_to

    print("\n| task | config | seed | fine-tuned final | scratch final | env steps to 1.2 "
          "(curve): fine-tuned / scratch | to 1.2 for good: fine-tuned / scratch |")
    print("|---|---|---|---|---|---|---|")
    for r in _rows(path):
        if "scratch" in r:
            curves = (r["curve"], r["scratch"]["curve"])
            a, b = (steps_to(c, 1.2) for c in curves)
            c, d = (held_from(c, 1.2) for c in curves)
            print(f"| {r['task']} | {r['config']} | {r['seed']} | {r['normalized_score']:.3f} | "
                  f"{r['scratch']['normalized_score']:.3f} | {a or 'never'} / {b or 'never'} | "
                  f"{c or 'never'} / {d or 'never'} |")


def held_from(curve: list[dict], level: float) -> int | None:
    """Env steps from which every later evaluation of the curve is >= ``level`` (a 10-episode
    curve crosses a level by chance and falls back)."""
    at = None
    for p in curve:
        if p["normalized_score"] >= level:
            at = at if at is not None else int(p["env_steps"])
        else:
            at = None
    return at


def cmd_entropy(args: argparse.Namespace) -> None:
    """Each task's student: its median and mean state's policy entropy as a share of ln n, on
    the states of its distillation run (what finetune's result.json gives as
    start_entropy_share, and what --entropy-floor raises the mean to)."""
    import torch

    from rldistill.core.config import FinetuneConfig
    from rldistill.drivers import finetune
    from rldistill.engine.checkpoint import buffer_obs

    for task in args.tasks.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            setup = finetune.Setup(FinetuneConfig(student=str(student(task)), steps=1), Path(tmp))
            states = buffer_obs(setup.start.dir, 0, 4096)
            with torch.no_grad():
                share = setup.head.entropy_share(setup.student(states, 0))
            print(f"{task}: median {setup.entropy_share:.3f}, mean {float(share.mean()):.3f}",
                  flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--tasks", default="ll-ppo,pendulum-sac,ll-dqn")
    r.add_argument("--configs", default="finetune,plain")
    r.add_argument("--seeds", type=int, default=3)
    r.add_argument("--jobs", type=int, default=2)
    r.set_defaults(func=cmd_run)
    e = sub.add_parser("entropy")
    e.add_argument("--tasks", default="breakout-ppo,ll-ppo,ll-dqn")
    e.set_defaults(func=cmd_entropy)
    t = sub.add_parser("table")
    t.add_argument("--rows", type=Path, default=ROWS)
    t.set_defaults(func=cmd_table)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
