"""The VecNormalize case of the continuous-control issue, measured: a PPO CartPole teacher trained
on VecNormalize (a plain SB3 script, RL Zoo's CartPole hyperparameters) saved in RL Zoo's layout,
then distilled by rldistill with no flags, and once with ``--teacher-normalize none`` (what
every version before this one did, silently).

    .venv/bin/python benchmarks/continuous/vecnormalize_cartpole.py

Writes ``results/vecnormalize_cartpole.json``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def main() -> None:
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import VecNormalize

    import rldistill
    from rldistill import DistillConfig

    torch.set_num_threads(1)
    root = Path(tempfile.mkdtemp(prefix="vecnorm-"))
    folder = root / "logs" / "ppo" / "CartPole-v1_1"
    (folder / "CartPole-v1").mkdir(parents=True)
    venv = VecNormalize(make_vec_env("CartPole-v1", n_envs=8, seed=0), norm_reward=True)
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
                n_epochs=20, ent_coef=0.0, learning_rate=1e-3, clip_range=0.2, seed=0,
                verbose=0, device="cpu")
    model.learn(100_000)
    model.save(folder / "CartPole-v1.zip")
    venv.save(str(folder / "CartPole-v1" / "vecnormalize.pkl"))
    venv.training, venv.norm_reward = False, False
    sb3_mean, _ = evaluate_policy(model, venv, n_eval_episodes=20)
    out: dict = {"sb3_evaluate_policy_with_statistics": round(float(sb3_mean), 1)}
    for label, extra in (("rldistill_no_flags", {}),
                         ("rldistill_normalize_none", {"teacher_normalize": "none"})):
        cfg = DistillConfig(teacher=str(folder / "CartPole-v1.zip"), env="CartPole-v1",
                            param_ratio=0.1, budget=10_000, eval_episodes=100,
                            out=str(root / label), **extra)
        r = rldistill.run(cfg)
        out[label] = {k: r[k] for k in ("normalized_score", "agreement", "param_ratio")} | {
            "teacher_return": r["teacher"]["return_mean"],
            "student_return": r["student"]["return_mean"],
            "random_return": r["random"]["return_mean"]}
    from rldistill.deploy.onnx import export_onnx

    report = export_onnx(root / "rldistill_no_flags", root / "s.onnx")
    out["onnx_export_on_raw_obs"] = {k: report[k] for k in ("action_agreement", "max_abs_diff")}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "vecnormalize_cartpole.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
