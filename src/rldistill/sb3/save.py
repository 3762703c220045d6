"""A distilled student as an SB3 model (``rldistill export --format sb3``): a zip that
``DQN.load``, ``PPO.load``, ``A2C.load``, ``SAC.load``, ``TD3.load`` (and sb3-contrib's
``TQC.load``, SB3's ``DDPG.load``) open and keep training.

The student's layers become the model's acting path (:func:`rldistill.sb3.policy.
set_student_layers`); what SB3 adds beside it (PPO's value net, SAC's and TD3's critics, the
optimizers) starts fresh, with RL Zoo's hyperparameters for the env where the zoo has them. Two
things do not map one to one, and the report says how they were mapped:

- a Q-value teacher's student trained with KL / CE at temperature T outputs about Q / T (plus a
  constant per state): DQN gets T times its last layer, so its q_net is on the teacher's Q scale
  and its greedy actions are the student's;
- a Gaussian student's log std depends on the state, SB3's PPO / A2C keep one per action
  dimension: it gets the student's mean log std over the run's own states.

A student of a VecNormalize teacher takes raw observations; SB3 takes them normalised by a
``VecNormalize`` wrapper, written beside the zip as ``OUT.vecnormalize.pkl`` (load it with
``VecNormalize.load(path, venv)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from rldistill.errors import UserError
from rldistill.files import atomic_write
from rldistill.students import check_task, load_student, saved_env, task_meta

# which SB3 algorithms can hold which head's student, the first one by default (by teacher kind
# for categorical heads: a Q-value teacher's student becomes a DQN)
ALGOS_FOR_HEAD = {"categorical": ("ppo", "a2c", "dqn"), "gaussian": ("ppo", "a2c"),
                  "squashed_gaussian": ("sac", "tqc"), "deterministic": ("td3", "ddpg")}


def default_algo(head: str, teacher_kind: str | None) -> str:
    return "dqn" if head == "categorical" and teacher_kind == "q" else ALGOS_FOR_HEAD[head][0]


def _pairs(student: Any, task: int, algo: str, calib: torch.Tensor, meta: dict[str, Any]
           ) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], dict[str, Any]]:
    """The student's (weight, bias) per Linear as the SB3 model of ``algo`` takes them, and how
    its outputs were mapped."""
    pairs = [(m.weight.detach().clone(), m.bias.detach().clone()) for m in student.linears(task)]
    head = student.action_heads[task]
    w, b = pairs[-1]
    note: dict[str, Any] = {}
    cfg, kind = meta.get("config", {}), task_meta(meta, task).get("teacher", {}).get("kind")
    if algo == "dqn":
        loss = cfg.get("loss") or head.default_loss
        scale = 1.0
        if kind == "q" and loss in ("kl", "ce"):
            scale = float(cfg.get("temperature") or head.default_temperature(kind))
        pairs[-1] = (w * scale, b * scale)
        note["q_scale"] = scale
    elif head.name == "gaussian":
        n = head.dim
        with torch.inference_mode():
            log_std = student(calib, task)[:, n:].mean(0)
        pairs[-1] = (torch.cat([w[:n], torch.zeros_like(w[n:])]), torch.cat([b[:n], log_std]))
        note["log_std"] = [round(float(x), 4) for x in log_std]
    return pairs, note


def _vecnormalize(norm: Any, env: Any, path: Path) -> None:
    """SB3's VecNormalize with the student's observation statistics (not updated unless the
    user sets ``training = True``; rewards not normalised), saved to ``path``."""
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    eps = 1e-8
    vn = VecNormalize(DummyVecEnv([lambda: env]), training=False, norm_obs=True,
                      norm_reward=False, clip_obs=float(norm.clip), epsilon=eps)
    rms: Any = vn.obs_rms  # one RunningMeanStd for a Box observation
    rms.mean = norm.mean.double().numpy()
    rms.var = (norm.std.double() ** 2 - eps).clamp_min(0).numpy()
    atomic_write(path, lambda tmp: vn.save(str(tmp)))


def export_sb3(student_dir: str | Path, out: str | Path, task: int = 0, algo: str | None = None,
               check_rows: int = 4096, seed: int = 0) -> dict[str, Any]:
    """Write the student (task ``task``) as an SB3 zip at ``out``, reload it with SB3 and check
    its deterministic actions against the student's greedy ones on ``check_rows`` states of the
    run's buffer (random normal ones when the run kept no checkpoint). Returns the report."""
    from rldistill.drivers.kickstart import sb3_kwargs
    from rldistill.engine.checkpoint import buffer_obs
    from rldistill.envs import make_env
    from rldistill.zoo.hyperparams import lookup
    from rldistill.zoo.train import sb3_class

    student, meta = load_student(student_dir)
    check_task(student, task)
    out = Path(out)
    if out.suffix != ".zip":
        raise UserError(f"--out {out} should end in .zip for --format sb3")
    head = student.action_heads[task]
    tmeta = task_meta(meta, task)
    allowed = ALGOS_FOR_HEAD[head.name]
    algo = algo or default_algo(head.name, tmeta.get("teacher", {}).get("kind"))
    if algo not in allowed:
        raise UserError(f"--algo {algo} cannot hold a {head.name} student: choose one of "
                        f"{', '.join(allowed)}")
    env_id = tmeta.get("env")
    if not env_id:
        raise UserError(f"{student_dir} does not name its env: it was not written by distill")
    spec = student.specs[task]
    calib = buffer_obs(Path(student_dir), task, check_rows, seed)
    source = "buffer" if calib is not None else "random normal"
    if calib is None:
        calib = torch.randn(check_rows, *spec.obs_shape,
                            generator=torch.Generator().manual_seed(seed))
    pairs, note = _pairs(student, task, algo, calib, meta)
    hidden = tuple(w.shape[0] for w, _ in pairs[:-1])
    env = make_env(saved_env(meta, task))
    _, kwargs = sb3_kwargs(algo, env_id, hidden)
    noise = lookup(algo, env_id)[1].get("noise_std")
    if noise is not None:  # TD3 / DDPG explore with Gaussian action noise (RL Zoo's)
        from stable_baselines3.common.noise import NormalActionNoise

        dim = int(np.prod(spec.action.shape))
        kwargs["action_noise"] = NormalActionNoise(np.zeros(dim), noise * np.ones(dim))
    cls = sb3_class(algo)
    model = cls("MlpPolicy", env, seed=seed, device="cpu", **kwargs)
    from rldistill.sb3.policy import set_student_layers

    set_student_layers(model.policy, pairs)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, lambda tmp: model.save(tmp))
    except OSError as e:
        raise UserError(f"cannot write {out}: {e.strerror or e}: pass another --out") from None
    norm = student.obs_norms[task] if student.arch.obs_norm and student.arch.obs_norm[task] \
        else None
    report: dict[str, Any] = {"sb3": str(out), "algo": algo, "bytes": out.stat().st_size,
                              "env": env_id, "task": task, "hidden": list(hidden), **note}
    if norm is not None:
        vn_path = out.with_name(out.stem + ".vecnormalize.pkl")
        _vecnormalize(norm, env, vn_path)
        report["vecnormalize"] = str(vn_path)

    loaded = cls.load(str(out), device="cpu")
    x = calib.float()
    with torch.inference_mode():
        want = head.to_env(student.act(x, task))
        seen = norm(x) if norm is not None else x
    got, _ = loaded.predict(seen.numpy(), deterministic=True)
    match = np.isclose(np.asarray(got, dtype=np.float64).reshape(len(x), -1),
                       np.asarray(want, dtype=np.float64).reshape(len(x), -1),
                       rtol=0.0, atol=1e-4).all(-1)
    report.update(check_rows=len(x), check_states=source, action_agreement=float(match.mean()))
    return report
