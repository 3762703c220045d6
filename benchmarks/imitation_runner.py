"""imitation 1.0.1 BC and DAgger on rldistill's zoo teachers; runs in benchmarks/.venv-imitation.

    benchmarks/.venv-imitation/bin/python benchmarks/imitation_runner.py --jobs jobs.json --out DIR

``jobs.json`` is a list of {"method": "bc"|"dagger", "env": ID, "teacher": zoo:NAME|path,
"budget": N, "seed": S}. For each job the trained student's acting weights (Linear obs->32, ReLU,
Linear 32->n_actions) go to ``DIR/<method>-<env>-<budget>-<seed>.npz`` and a line of timings to
``DIR/timings.json``; the main venv evaluates the students with rldistill's evaluator (compare.py).

Versions: imitation 1.0.1 pins gymnasium 0.29 and SB3 2.2, where LunarLander is v2 (v3 exists
only from gymnasium 1.0): LunarLander-v3 jobs collect and train on LunarLander-v2 here.

The teacher: a fresh SB3 2.2 ``PPO`` with the zip's net_arch and activation, whose policy loads
``policy.pth`` read with ``torch.load(weights_only=True)`` (a zip saved by SB3 2.9 is not
unpickled). It acts greedily (``deterministic=True``).

Settings chosen to match rldistill's (same budget, [32] ReLU student, Adam lr 3e-3, batch 256,
the same update counts, DAgger beta = 0.5 ** round); imitation's own loss is used (BC: NLL of the
expert's action - 1e-3 x entropy; imitation cannot train on the teacher's logits). BC's
evaluation rollouts during training (``log_rollouts_venv``) and its progress bar are switched off:
they are logging, not distillation.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import re
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT / "src" / "rldistill" / "zoo"
ENV_HERE = {"LunarLander-v3": "LunarLander-v2"}  # gymnasium 0.29 has v2 only
MIN_UPDATES, BATCH, LR = 1000, 256, 3e-3
_ACT = {"Tanh": nn.Tanh, "ReLU": nn.ReLU, "ELU": nn.ELU, "LeakyReLU": nn.LeakyReLU}


def teacher_path(spec: str) -> Path:
    return ZOO / f"{spec[4:]}.zip" if spec.startswith("zoo:") else Path(spec)


def load_teacher(spec: str, venv):
    """SB3 2.2 PPO with the zip's architecture; weights via torch.load(weights_only=True)."""
    from stable_baselines3 import PPO

    with zipfile.ZipFile(teacher_path(spec)) as zf:
        data = json.loads(zf.read("data"))
        state = torch.load(io.BytesIO(zf.read("policy.pth")), map_location="cpu",
                           weights_only=True)

    def widths(prefix: str) -> list[int]:
        idx = sorted({int(k[len(prefix):].split(".")[0]) for k in state if k.startswith(prefix)})
        return [int(state[f"{prefix}{i}.weight"].shape[0]) for i in idx]

    act_text = str(data.get("policy_kwargs", {}).get("activation_fn", ""))
    m = re.search(r"\.(\w+)'>", act_text)
    kwargs = {"net_arch": {"pi": widths("mlp_extractor.policy_net."),
                           "vf": widths("mlp_extractor.value_net.")},
              "activation_fn": _ACT[m.group(1)] if m else nn.Tanh}
    model = PPO("MlpPolicy", venv, policy_kwargs=kwargs, device="cpu", verbose=0)
    model.policy.load_state_dict(state)
    model.policy.set_training_mode(False)
    return model.policy


class Counter:
    """Counts the observations the expert labels (its predict calls)."""

    def __init__(self, policy) -> None:
        self.n = 0
        orig = policy.predict

        def predict(obs, *a, **k):
            self.n += len(obs)
            return orig(obs, *a, **k)

        policy.predict = predict


def quiet_logger():
    from imitation.util import logger as imit_logger

    return imit_logger.configure(folder=tempfile.mkdtemp(prefix="imit-log-"), format_strs=[])


def student_policy(venv):
    from stable_baselines3.common.policies import ActorCriticPolicy

    return ActorCriticPolicy(venv.observation_space, venv.action_space, lambda _: LR,
                             net_arch=[32], activation_fn=nn.ReLU)


def acting_weights(policy) -> dict[str, np.ndarray]:
    sd = {k: v.detach().cpu().numpy() for k, v in policy.state_dict().items()}
    return {"net.0.weight": sd["mlp_extractor.policy_net.0.weight"],
            "net.0.bias": sd["mlp_extractor.policy_net.0.bias"],
            "net.2.weight": sd["action_net.weight"], "net.2.bias": sd["action_net.bias"]}


def n_updates(n: int, epochs: int) -> int:
    return max(MIN_UPDATES, epochs * math.ceil(n / BATCH))


def run_bc(job: dict, env_id: str, rng: np.random.Generator):
    from imitation.algorithms import bc
    from imitation.data import rollout
    from imitation.data.wrappers import RolloutInfoWrapper
    from imitation.util.util import make_vec_env

    budget = job["budget"]
    t0 = time.perf_counter()
    venv = make_vec_env(env_id, n_envs=8, rng=rng,
                        post_wrappers=[lambda e, _: RolloutInfoWrapper(e)])
    expert = load_teacher(job["teacher"], venv)
    count = Counter(expert)
    trajs = rollout.rollout(expert, venv, rollout.make_sample_until(min_timesteps=budget),
                            rng=rng, deterministic_policy=True)
    # whole episodes from 8 envs: the partial ones are dropped (expert_queries counts them too);
    # the dataset is cut to exactly the budget
    trans = rollout.flatten_trajectories(trajs)[:budget]
    t_collect = time.perf_counter() - t0
    trainer = bc.BC(observation_space=venv.observation_space, action_space=venv.action_space,
                    rng=rng, policy=student_policy(venv), demonstrations=trans, batch_size=BATCH,
                    optimizer_kwargs={"lr": LR}, device="cpu", custom_logger=quiet_logger())
    trainer.train(n_batches=n_updates(len(trans), 20), progress_bar=False,
                  log_interval=10**9)
    wall = time.perf_counter() - t0
    venv.close()
    return trainer.policy, {"labelled_steps": len(trans), "expert_queries": count.n,
                            "collect_s": t_collect, "wall_s": wall}


def run_dagger(job: dict, env_id: str, rng: np.random.Generator):
    from imitation.algorithms import bc
    from imitation.algorithms.dagger import ExponentialBetaSchedule, SimpleDAggerTrainer
    from imitation.util.util import make_vec_env

    budget = job["budget"]
    round_ts = max(budget // 10, BATCH)  # ~10 rounds like rldistill (at least one batch)
    est_rounds = math.ceil(budget / round_ts)
    t0 = time.perf_counter()
    venv = make_vec_env(env_id, n_envs=1, rng=rng)  # 1 env: rounds end on whole episodes
    expert = load_teacher(job["teacher"], venv)
    count = Counter(expert)
    log = quiet_logger()
    trainer_bc = bc.BC(observation_space=venv.observation_space, action_space=venv.action_space,
                       rng=rng, policy=student_policy(venv), batch_size=BATCH,
                       optimizer_kwargs={"lr": LR}, device="cpu", custom_logger=log)

    class Dagger(SimpleDAggerTrainer):
        """rldistill's per-round update count: max(min_updates / rounds, 4 epochs)."""

        def extend_and_update(self, bc_train_kwargs=None):
            self._try_load_demos()
            n = len(self._all_demos and [0]) and sum(len(t) for t in self._all_demos)
            kw = {"n_batches": max(math.ceil(MIN_UPDATES / est_rounds), 4 * math.ceil(n / BATCH)),
                  "log_rollouts_venv": None, "progress_bar": False, "log_interval": 10**9}
            return super().extend_and_update(kw)

    with tempfile.TemporaryDirectory() as scratch:
        trainer = Dagger(venv=venv, scratch_dir=scratch, expert_policy=expert,
                         bc_trainer=trainer_bc, rng=rng, beta_schedule=ExponentialBetaSchedule(0.5),
                         custom_logger=log)
        trainer.train(total_timesteps=budget, rollout_round_min_episodes=1,
                      rollout_round_min_timesteps=round_ts)
        labelled = sum(len(t) for t in trainer._all_demos)
        rounds = trainer.round_num
    wall = time.perf_counter() - t0
    venv.close()
    return trainer_bc.policy, {"labelled_steps": labelled, "expert_queries": count.n,
                               "rounds": rounds, "wall_s": wall}


def main() -> None:
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    import logging

    import datasets

    datasets.disable_progress_bars()
    logging.getLogger().setLevel(logging.WARNING)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = json.loads(Path(a.jobs).read_text())
    rows = []
    for job in jobs:
        env_id = ENV_HERE.get(job["env"], job["env"])
        torch.manual_seed(job["seed"])
        rng = np.random.default_rng(job["seed"])
        fn = run_bc if job["method"] == "bc" else run_dagger
        policy, info = fn(job, env_id, rng)
        name = f"{job['method']}-{job['env']}-{job['budget']}-{job['seed']}.npz"
        np.savez(out / name, **acting_weights(policy))
        row = {**job, "env_trained": env_id, "file": name, **info}
        rows.append(row)
        print(json.dumps(row), flush=True)
    (out / "timings.json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
