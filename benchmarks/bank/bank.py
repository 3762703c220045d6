"""The teacher bank of issue 19: teachers nobody tuned the defaults on, and how the defaults
(and ``--budget auto``) do on them.

    python benchmarks/bank/bank.py train   --out DIR [--jobs N]   # the bank's teachers
    python benchmarks/bank/bank.py distill --teachers DIR --out FILE.jsonl [--jobs N]
                                           [--configs default,mix,auto] [--seeds 5]
    python benchmarks/bank/bank.py table   FILE.jsonl [...]       # Markdown summary
    python benchmarks/bank/bank.py ship    TEACHER.zip [...]      # small enough for git

Teachers are made by ``rldistill teacher train`` (RL Zoo's hyperparameters, other seeds and
algorithms than the zoo's own, some with fewer steps: weak and noisy teachers belong in a
bank). Each is in one half: ``choose`` (where defaults may be picked) or ``check`` (where they
are only checked). Every distill run is ``rldistill distill --param-ratio 0.1`` with the
config's extra flags, 100 evaluation episodes, one subprocess per run (``--jobs`` at a time,
one thread each); rows are appended to the JSONL file as they finish, so an interrupted table
resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# name: (algo, env, steps, seed, half); half "hard": the hard-task bank (--bank hard)
BANK = {
    "CartPole-v1-dqn-s0": ("dqn", "CartPole-v1", 50_000, 0, "choose"),
    "CartPole-v1-dqn-s2": ("dqn", "CartPole-v1", 50_000, 2, "check"),
    "CartPole-v1-qrdqn-s0": ("qrdqn", "CartPole-v1", 50_000, 0, "check"),
    "Acrobot-v1-dqn-s0": ("dqn", "Acrobot-v1", 50_000, 0, "choose"),
    "Acrobot-v1-qrdqn-s0": ("qrdqn", "Acrobot-v1", 100_000, 0, "choose"),
    "LunarLander-v3-dqn-s1": ("dqn", "LunarLander-v3", 50_000, 1, "check"),
    "CartPole-v1-ppo-s1": ("ppo", "CartPole-v1", 100_000, 1, "check"),
    "CartPole-v1-a2c-s0": ("a2c", "CartPole-v1", 500_000, 0, "choose"),
    "Acrobot-v1-ppo-s1": ("ppo", "Acrobot-v1", 1_000_000, 1, "choose"),
    "Acrobot-v1-a2c-s0": ("a2c", "Acrobot-v1", 500_000, 0, "check"),
    "LunarLander-v3-ppo-s1": ("ppo", "LunarLander-v3", 300_000, 1, "choose"),
    "LunarLander-v3-a2c-s0": ("a2c", "LunarLander-v3", 200_000, 0, "check"),
    # the hard-task bank of issue 27 (``--bank hard``): MuJoCo locomotion with RL Zoo's
    # hyperparameters (its v4 entries on v5); SAC cut to 150k steps (zoo: 1M), ~30 min each on
    # one core of this machine (SB3's SAC makes ~100 steps/s here)
    "Hopper-v5-ppo-s0": ("ppo", "Hopper-v5", 1_000_000, 0, "hard"),
    "Ant-v5-ppo-s0": ("ppo", "Ant-v5", 1_000_000, 0, "hard"),
    "Hopper-v5-sac-s0": ("sac", "Hopper-v5", 150_000, 0, "hard"),
    "Walker2d-v5-sac-s0": ("sac", "Walker2d-v5", 150_000, 0, "hard"),
    "Ant-v5-sac-s0": ("sac", "Ant-v5", 150_000, 0, "hard"),
    # a second Hopper SAC seed, trained for as long as --max-seconds 2700 allows (the zoo's 1M
    # asked): the 150k seed 0 falls within ~300 steps; a hopping teacher for the Hopper goal
    "Hopper-v5-sac-s1": ("sac", "Hopper-v5", 1_000_000, 1, "hard"),
    # and an Ant TD3 teacher the same way (the zoo's TD3 values; seed 0 was cut at 46k steps)
    "Ant-v5-td3-s1": ("td3", "Ant-v5", 1_000_000, 1, "hard"),
    # an Ant SAC teacher made in --max-seconds slices of one core (each call of `train` goes on
    # from the checkpoint the last one left), towards the zoo's 1M steps
    "Ant-v5-sac-s1": ("sac", "Ant-v5", 1_000_000, 1, "hard"),
    # a second seed in one sitting (seed 1 stalled: 949 at 162k steps, 1 176 at 358k)
    "Ant-v5-sac-s2": ("sac", "Ant-v5", 1_000_000, 2, "hard"),
    # trained on a lent GPU machine (device_run_mujoco.sh: SB3 on CUDA, stopped by
    # --max-seconds; the record gives the steps trained, the zoo's 1M asked)
    "HalfCheetah-v5-sac-s0": ("sac", "HalfCheetah-v5", 1_000_000, 0, "hard"),
    "HalfCheetah-v5-td3-s0": ("td3", "HalfCheetah-v5", 1_000_000, 0, "hard"),
    "Ant-v5-td3-s0": ("td3", "Ant-v5", 1_000_000, 0, "hard"),
    # MinAtar games beside the zoo's Breakout and SpaceInvaders (the zoo's recipe: PPO with
    # the MinAtar network, 3M steps, ~25 min each on one core)
    "MinAtar-Asterix-v1-ppo-s0": ("ppo", "MinAtar/Asterix-v1", 3_000_000, 0, "hard"),
    "MinAtar-Freeway-v1-ppo-s0": ("ppo", "MinAtar/Freeway-v1", 3_000_000, 0, "hard"),
    "MinAtar-Seaquest-v1-ppo-s0": ("ppo", "MinAtar/Seaquest-v1", 3_000_000, 0, "hard"),
    # DQN teachers for the Rusu table (Rusu et al. distilled DQN teachers): the MinAtar paper's
    # DQN (zoo/hyperparams.py), one update every 4 frames, 5M frames asked, stopped by
    # --max-seconds (three at a time on the 2 cores)
    **{f"MinAtar-{game}-v1-dqn-s0": ("dqn", f"MinAtar/{game}-v1", 5_000_000, 0, "hard")
       for game in ("Breakout", "SpaceInvaders", "Freeway")},
    # the same, longer (seed 1, towards the paper's 5M frames: Breakout and SpaceInvaders
    # stopped by --max-seconds 7000, Freeway by 3000, all three started together on the 2 cores)
    **{f"MinAtar-{game}-v1-dqn-s1": ("dqn", f"MinAtar/{game}-v1", 5_000_000, 1, "hard")
       for game in ("Breakout", "SpaceInvaders", "Freeway")},
    # an Atari teacher (RL Zoo's Atari PPO, its frames; the zoo trains 10M steps): what one
    # core of this machine makes in ~45 min (~190 steps/s), for the CNN students of issue 31
    "BreakoutNoFrameskip-v4-ppo-s0": ("ppo", "BreakoutNoFrameskip-v4", 500_000, 0, "hard"),
    # trained outside the project, by RL Zoo's own ``rl_zoo3.train`` (its hyperparameters, its
    # log folder: config.yml, args.yml, vecnormalize.pkl), in a venv of its own (--zoo-python)
    "rlzoo-HalfCheetah-v4-ppo-s0": ("ppo", "HalfCheetah-v4", 1_000_000, 0, "hard"),
    "rlzoo-Hopper-v4-ppo-s0": ("ppo", "Hopper-v4", 1_000_000, 0, "hard"),
    "rlzoo-Hopper-v4-ppo-s1": ("ppo", "Hopper-v4", 1_000_000, 1, "hard"),
    "rlzoo-Hopper-v4-ppo-s2": ("ppo", "Hopper-v4", 1_000_000, 2, "hard"),
}
Q_ALGOS = ("dqn", "qrdqn")


def teacher_path(teachers: Path, name: str) -> Path:
    """A bank teacher's zip, or for ``rlzoo-`` teachers the RL Zoo log folder (run 1 of a
    folder per seed)."""
    algo, env, _, seed, _ = BANK[name]
    return (teachers / "rlzoo" / f"s{seed}" / algo / f"{env}_1" if name.startswith("rlzoo-")
            else teachers / f"{name}.zip")
CONFIGS = {  # extra distill flags per config
    "student": ["--driver", "student"],  # the default before issue 19 ("before")
    "mix": ["--driver", "mix"],  # the default after it, for discrete actions ("after")
    # the student's activation (rows of PPO and A2C teachers, whose own is tanh, retrained for
    # them; "mix" rows ran with ReLU students, before --student-activation's default became the
    # teacher's)
    "mix-tanh": ["--driver", "mix", "--student-activation", "tanh"],
    "mix-relu": ["--driver", "mix", "--student-activation", "relu"],
    "auto-student": ["--budget", "auto:50000", "--driver", "student"],
    "auto": ["--budget", "auto:50000", "--driver", "mix"],
    # the temperature of Q-value teachers (rows_temperature.jsonl): Rusu's 0.01, the default
    # until it was fitted to the teacher's action gaps, and the defaults since ("gap")
    "t0.01": ["--temperature", "0.01"],
    "gap": [],
    # the hard bank (issue 27): 20k env steps, 30 evaluation episodes (1 000 steps each)
    "hard-student": ["--budget", "20000", "--eval-episodes", "30", "--driver", "student"],
    "hard-teacher": ["--budget", "20000", "--eval-episodes", "30", "--driver", "teacher"],
    "hard-mix": ["--budget", "20000", "--eval-episodes", "30", "--driver", "mix"],
    "hard-mix-beta0": ["--budget", "20000", "--eval-episodes", "30", "--driver", "mix",
                       "--beta", "exp:0"],
    "hard-default": ["--budget", "20000", "--eval-episodes", "30"],
    "hard-default-50k": ["--budget", "50000", "--eval-episodes", "30"],
    # gradient-norm clipping at 10 (run as a trial patch), at 100 (the default since)
    "hard-default-clip10": ["--budget", "20000", "--eval-episodes", "30", "--grad-clip", "10"],
    "hard-default-clip100": ["--budget", "20000", "--eval-episodes", "30", "--grad-clip", "100"],
    "hard-default-r25-clip100": ["--budget", "20000", "--eval-episodes", "30", "--param-ratio",
                                 "0.25", "--grad-clip", "100"],
    # levers for a student that underfits (MinAtar Asterix): a larger one, more updates
    "hard-default-r25": ["--budget", "20000", "--eval-episodes", "30", "--param-ratio", "0.25"],
    "hard-default-u32k": ["--budget", "20000", "--eval-episodes", "30", "--min-updates",
                          "32000"],
    # the levers of benchmarks/levers on a teacher that walks (Ant-v5-sac-s2): relabelled
    # perturbations, 4x the update floor
    "hard-default-perturb0.1": ["--budget", "20000", "--eval-episodes", "30", "--perturb", "0.1"],
    "hard-default-u16k": ["--budget", "20000", "--eval-episodes", "30", "--min-updates",
                          "16384"],
    # a stochastic teacher's greedy policy (MinAtar Asterix: greedy 19.7, sampled 10.1): the NLL
    # of its argmax, or a sharper temperature on both distributions
    "hard-default-nll": ["--budget", "20000", "--eval-episodes", "30", "--loss", "nll"],
    "hard-default-t0.3": ["--budget", "20000", "--eval-episodes", "30", "--temperature", "0.3"],
    "hard-default-t2": ["--budget", "20000", "--eval-episodes", "30", "--temperature", "2"],
    "hard-default-t4": ["--budget", "20000", "--eval-episodes", "30", "--temperature", "4"],
    "hard-mix-dart": ["--budget", "20000", "--eval-episodes", "30", "--driver", "mix",
                      "--dart", "0.1"],
    # half the noise: does it keep the walking Ant's gain without Walker2d's fall?
    "hard-dart0.05": ["--budget", "20000", "--eval-episodes", "30", "--dart", "0.05"],
    # Jacobian matching (benchmarks/levers: no win on HalfCheetah), untried on Ant until then
    "hard-sobolev1": ["--budget", "20000", "--eval-episodes", "30", "--sobolev", "1"],
    # the Ant SAC teachers' students, below what copies of the teacher score (README): MSE
    # on the squashed mean alone (hard-default-t0.3 above: the teacher's std x 0.3 in the KL)
    "hard-default-mse": ["--budget", "20000", "--eval-episodes", "30", "--loss", "mse"],
}
PY = sys.executable
DEADLINE = [float("inf")]  # --deadline: runs still going then are killed, later ones skipped


def call(cmd: list[str]) -> subprocess.CompletedProcess | None:
    left = DEADLINE[0] - time.monotonic()
    if left <= 0:
        return None
    try:
        return subprocess.run(cmd, capture_output=True, text=True, env=ENV,
                              timeout=None if left == float("inf") else left)
    except subprocess.TimeoutExpired:
        print("deadline:", " ".join(cmd[3:9]), flush=True)
        return None
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def trained(teachers: Path, name: str) -> bool:
    path = teacher_path(teachers, name)
    return (path / f"{BANK[name][1]}.zip" if path.is_dir() else path).exists()


def train(out: Path, jobs: int, only: list[str], extra: list[str], zoo_python: str) -> None:
    out.mkdir(parents=True, exist_ok=True)

    def one(name: str) -> None:
        algo, env, steps, seed, _ = BANK[name]
        # a training --max-seconds stopped left a checkpoint: this call goes on from it
        resume = (out / f"{name}.checkpoint.safetensors").exists()
        if not resume and ((out / f"{name}.json").exists() or trained(out, name)):
            return
        if name.startswith("rlzoo-"):  # RL Zoo's own command, its own folder layout
            (out / "rlzoo" / f"s{seed}").mkdir(parents=True, exist_ok=True)
            cmd = [zoo_python, "-m", "rl_zoo3.train", "--algo", algo, "--env", env, "-n",
                   str(steps), "-f", str(out / "rlzoo" / f"s{seed}"), "--seed", str(seed),
                   "--eval-freq",
                   "-1", "--num-threads", "1", "--vec-env", "dummy"]
        else:
            cmd = [PY, "-m", "rldistill.cli", "teacher", "train", "--algo", algo, "--env", env,
                   "--steps", str(steps), "--seed", str(seed), "--out", str(out / f"{name}.zip"),
                   "--eval-episodes", "20", *extra, *(["--resume"] if resume else [])]
        p = call(cmd)
        if p is not None:
            print(name, p.returncode, (p.stdout or p.stderr).strip()[-300:], flush=True)

    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, [n for n in BANK if not only or n in only]))


def distill(teachers: Path, out: Path, jobs: int, configs: list[str], seeds: int,
            only: list[str]) -> None:
    done = {(r["teacher"], r["config"], r["seed"]) for r in rows(out)}
    todo = [(n, c, s) for c in configs for n in BANK for s in range(seeds)
            if (n, c, s) not in done and trained(teachers, n)
            and (not only or n in only)]

    def one(key: tuple[str, str, int]) -> None:
        name, config, seed = key
        algo, env, *_ = BANK[name]
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [PY, "-m", "rldistill.cli", "distill", "--teacher",
                   str(teacher_path(teachers, name)), "--env", env, "--param-ratio", "0.1",
                   "--seed", str(seed), "--out", tmp, "--overwrite", "--json",
                   *CONFIGS[config]]
            p = call(cmd)
        if p is None:
            return
        if p.returncode:
            print(name, config, seed, "failed:", p.stderr.strip()[-300:], flush=True)
            return
        r = json.loads(p.stdout.strip().splitlines()[-1])
        row = {"teacher": name, "algo": algo, "env": env, "half": BANK[name][4],
               "q": algo in Q_ALGOS, "config": config, "seed": seed,
               "normalized_score": r["normalized_score"], "agreement": r["agreement"],
               "student_return": r["student"]["return_mean"],
               "teacher_return": r["teacher"]["return_mean"],
               "random_return": r["random"]["return_mean"], "labelled_steps": r["labelled_steps"],
               "wall_s": r["wall_s"], "params": f"{r['student']['params']}/"
                                                 f"{r['teacher']['params']}",
               "stopped": (r.get("auto_budget") or {}).get("stopped"),
               **({"temperature": r["temperature"]} if "temperature" in r else {}),
               "warnings": r.get("warnings", [])}
        with open(out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row)[:200], flush=True)

    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, todo))


def rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def table(paths: list[Path]) -> str:
    data = [r for p in paths for r in rows(p)]
    lines = ["| config | teachers | half | runs | mean | 5th pct | min | share >= 0.9 | "
             "labelled steps (median) |", "|---|---|---|---|---|---|---|---|---|"]
    for config in CONFIGS:
        for half in ("all", "choose", "check", "hard"):
            rs = [r for r in data if r["config"] == config and (half == "all" or
                                                                r["half"] == half)
                  and r["normalized_score"] is not None]
            if not rs:
                continue
            s = [r["normalized_score"] for r in rs]
            lines.append(f"| {config} | {len({r['teacher'] for r in rs})} | {half} | {len(s)} | "
                         f"{statistics.mean(s):.3f} | {pct(s, 0.05):.3f} | {min(s):.3f} | "
                         f"{sum(x >= 0.9 for x in s) / len(s):.2f} | "
                         f"{statistics.median(r['labelled_steps'] for r in rs):.0f} |")
    configs = [c for c in CONFIGS if any(r["config"] == c for r in data)]
    lines += ["", "| teacher | teacher return | " + " | ".join(configs) + " |",
              "|---|---|" + "---|" * len(configs)]
    for name in BANK:
        if not any(r["teacher"] == name for r in data):
            continue
        cells = []
        for config in configs:
            rs = [r for r in data if r["teacher"] == name and r["config"] == config]
            s = [r["normalized_score"] for r in rs if r["normalized_score"] is not None]
            steps = statistics.median(r["labelled_steps"] for r in rs) if rs else 0
            cells.append(f"{statistics.mean(s):.3f} (min {min(s):.3f}, {steps:.0f} steps)"
                         if s else "-")
        ret = next((r["teacher_return"] for r in data if r["teacher"] == name), None)
        lines.append(f"| {name} | {ret} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def ship(path: Path) -> None:
    """Makes a trained teacher's SB3 zip small enough for git: its optimizers' running moments
    (RMSprop's or Adam's, as large as the network twice over; SAC keeps three optimizers: the
    actor's, the critic's and the entropy coefficient's) are dropped, the rest of the zip is
    kept byte for byte. SB3 still loads it (an optimizer state with no moments is a valid one);
    rldistill reads only the policy. Training it on with SB3 restarts the moments."""
    import io
    import zipfile

    import torch

    with zipfile.ZipFile(path) as z:
        entries = [(info, z.read(info)) for info in z.infolist()]
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".zip", delete=False) as tmp:
        try:
            with zipfile.ZipFile(tmp, "w") as out:
                for info, data in entries:
                    if info.filename.endswith("optimizer.pth"):  # ent_coef_optimizer.pth too
                        state = torch.load(io.BytesIO(data), weights_only=True)
                        buf = io.BytesIO()
                        torch.save({**state, "state": {}}, buf)
                        data = buf.getvalue()
                    out.writestr(info, data)
        except BaseException:  # the teacher stays as it was, and no half-written copy beside it
            os.unlink(tmp.name)
            raise
    before = path.stat().st_size
    os.replace(tmp.name, path)
    print(f"{path}: {before} -> {path.stat().st_size} bytes", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["train", "distill", "table", "ship"])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--teachers", type=Path)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--configs", default="student,mix,auto")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--only", default="")
    ap.add_argument("--bank", choices=["classic", "hard"], default="classic",
                    help="classic: issue 19's teachers; hard: issue 27's MuJoCo teachers")
    ap.add_argument("--device", default="cpu", help="train: where SB3 learns (cuda on a GPU)")
    ap.add_argument("--max-seconds", type=float, default=None,
                    help="train: stop each teacher after this much wall time")
    ap.add_argument("--zoo-python", default="python",
                    help="train: the Python with rl_zoo3 for the rlzoo- teachers")
    ap.add_argument("--deadline", type=float, default=float("inf"),
                    help="seconds from now after which runs are killed and no more start")
    a = ap.parse_args()
    DEADLINE[0] = time.monotonic() + a.deadline
    chosen = {n: v for n, v in BANK.items() if (v[4] == "hard") == (a.bank == "hard")}
    BANK.clear()
    BANK.update(chosen)
    only = [x for x in a.only.split(",") if x]
    if a.mode == "train":
        extra = ((["--device", a.device] if a.device != "cpu" else [])
                 + (["--max-seconds", str(a.max_seconds)] if a.max_seconds else []))
        train(a.out, a.jobs, only, extra, a.zoo_python)
    elif a.mode == "distill":
        distill(a.teachers, a.out, a.jobs, a.configs.split(","), a.seeds, only)
    elif a.mode == "ship":
        for path in a.files:
            ship(path)
    else:
        print(table(a.files), end="")


if __name__ == "__main__":
    main()
