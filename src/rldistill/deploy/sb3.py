"""A distilled student as an SB3 model (``rldistill export --format sb3``): a zip that
``DQN.load``, ``PPO.load``, ``A2C.load``, ``SAC.load``, ``TD3.load`` (and sb3-contrib's
``TQC.load``, SB3's ``DDPG.load``) open and keep training.

The student's layers become the model's acting path (:func:`rldistill.sources.sb3_policy.
set_student_layers`); what SB3 adds beside it (PPO's value net, SAC's and TD3's critics, the
optimizers) starts fresh, with RL Zoo's hyperparameters for the env where the zoo has them. Two
things do not map one to one, and the report says how they were mapped:

- a Q-value teacher's student trained with KL / CE at temperature T (``--temperature``, else
  the one fitted to the teacher's action gaps, in student.json) outputs about Q / T (plus a
  constant per state): DQN gets T times its last layer, so its q_net is on the teacher's Q scale
  and its greedy actions are the student's;
- a Gaussian student's log std depends on the state, SB3's PPO / A2C keep one per action
  dimension: it gets the student's mean log std over the run's own states.

A student of a VecNormalize teacher takes raw observations; SB3 takes them normalised by a
``VecNormalize`` wrapper, written beside the zip as ``OUT.vecnormalize.pkl`` (load it with
``VecNormalize.load(path, venv)``).

A CNN student becomes a ``CnnPolicy``: with SB3's own ``NatureCNN`` where that is its layout
(convolutions of 32 channels 8x8 stride 4, 64 4x4 stride 2, 64 3x3 stride 1, then a dense
layer: the student's first hidden layer is NatureCNN's ``features_dim``, the others the policy's
``net_arch``), else with :class:`~rldistill.deploy.sb3_extractor.StudentCNN` holding its own
convolutions (a zip SB3 opens where rldistill is installed); SB3 divides uint8 frames by 255
(``normalize_images``) and moves channel-last ones first (``VecTransposeImage``) as the student
does. CNN students without a dense layer and recurrent students have no SB3 policy to hold them:
a one-line error that points to ONNX export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from rldistill.core.errors import UserError
from rldistill.core.spaces import key_arrays
from rldistill.core.files import atomic_write
from rldistill.deploy.states import check_states
from rldistill.students.saved import SavedRun

# which SB3 algorithms can hold which head's student, the first one by default (by teacher kind
# for categorical heads: a Q-value teacher's student becomes a DQN)
ALGOS_FOR_HEAD = {"categorical": ("ppo", "a2c", "dqn"), "gaussian": ("ppo", "a2c"),
                  "squashed_gaussian": ("sac", "tqc"), "deterministic": ("td3", "ddpg"),
                  "multi_categorical": ("ppo", "a2c"), "multi_binary": ("ppo", "a2c")}


CHECK_BATCH = 512  # states per batch of the agreement check

# SB3's NatureCNN (its CnnPolicy's features extractor): (out channels, kernel, stride) per layer
NATURE_CNN = ((32, 8, 4), (64, 4, 2), (64, 3, 1))

def onnx_hint(student_dir: str | Path, out: Path) -> str:
    return (f"export it to ONNX instead (rldistill export --student {student_dir} --out "
            f"{out.with_suffix('.onnx')})")


def layout_error(arch: Any, student_dir: str | Path, out: Path) -> str | None:
    """Why a student of ``arch`` has no SB3 policy to hold it (one line, with what to do
    instead); None where it has one."""
    if arch.cell:
        return (f"--format sb3 cannot hold a recurrent student ({arch.cell}:{arch.cell_size}): "
                "SB3 has no recurrent DQN / PPO / A2C (their policies keep no state between "
                f"steps): {onnx_hint(student_dir, out)}; its graph takes and returns the cell's "
                "state")
    if arch.conv and not arch.hidden:
        convs = ", ".join(f"{c} ch {k}x{k} stride {st}" for c, k, st in arch.conv)
        return (f"--format sb3 cannot hold this CNN student (convolutions {convs}; dense "
                "none): an SB3 features extractor ends in a dense layer: "
                f"{onnx_hint(student_dir, out)}, or distil with a dense layer after the "
                "convolutions (--student-arch cnn:C1,C2:D)")
    return None


def _image_kwargs(student: Any, task: int, env: Any, env_id: str, student_dir: str | Path,
                  out: Path) -> dict[str, Any]:
    """A NatureCNN-shaped student's CnnPolicy arguments, once SB3 is known to see the env's
    frames as the student does (scaled by 1/255 or not, channels moved first or not)."""
    from gymnasium import spaces
    from stable_baselines3.common.preprocessing import (is_image_space,
                                                        is_image_space_channels_first)

    arch, shape = student.arch, tuple(student.specs[task].obs_shape)
    space = env.observation_space
    hint = onnx_hint(student_dir, out)
    if not isinstance(space, spaces.Box) or tuple(space.shape) != shape:
        raise UserError(f"env {env_id} gives observations {getattr(space, 'shape', space)}, the "
                        f"CNN student takes {shape}: {hint}")
    image = is_image_space(space)  # uint8 in [0, 255]: SB3 scales them, channels first
    if arch.image_scale and not image:
        raise UserError(f"the CNN student divides its frames by 255, SB3 does so only for uint8 "
                        f"frames in [0, 255] and env {env_id}'s are {space.dtype} in "
                        f"[{space.low.min()}, {space.high.max()}]: {hint}")
    transposed = image and not is_image_space_channels_first(space)
    if transposed and not arch.channels_last:
        raise UserError(f"the CNN student reads env {env_id}'s {shape} frames channel-first, "
                        f"SB3 would move their last axis first: {hint}")
    kw: dict[str, Any] = {"features_extractor_kwargs": {"features_dim": int(arch.hidden[0])},
                          "normalize_images": bool(arch.image_scale)}
    if tuple(arch.conv) != NATURE_CNN or arch.channels_last != transposed:
        from rldistill.deploy.sb3_extractor import StudentCNN  # not NatureCNN: rldistill's own

        kw["features_extractor_class"] = StudentCNN
        kw["features_extractor_kwargs"] |= {
            "conv": [list(c) for c in arch.conv],
            "channels_last": bool(arch.channels_last and not transposed)}
    return kw


def _channels_first(pairs: list[tuple[torch.Tensor, torch.Tensor]], space: Any) -> None:
    """An MLP student flattens channel-last uint8 frames (H, W, C) as they come, SB3 moves their
    channels first (``VecTransposeImage``) before it flattens them: the first layer's inputs
    put in SB3's order."""
    from stable_baselines3.common.preprocessing import (is_image_space,
                                                        is_image_space_channels_first)

    if is_image_space(space) and not is_image_space_channels_first(space):
        h, w, c = space.shape
        w0, b0 = pairs[0]
        pairs[0] = (w0.view(-1, h, w, c).permute(0, 3, 1, 2).reshape(w0.shape[0], -1), b0)


def _cnn_defaults(algo: str, env_id: str, kwargs: dict[str, Any]) -> None:
    """RL Zoo's Atari values (:data:`rldistill.zoo.hyperparams.ATARI`) into ``kwargs`` where
    the zoo table has none for the env."""
    from stable_baselines3.common.utils import LinearSchedule

    from rldistill.zoo.hyperparams import ATARI, HYPERPARAMS, rmsprop_tf_like

    if env_id in HYPERPARAMS.get(algo, {}):
        return
    for k, v in ATARI.get(algo, {}).items():
        if v == "rmsprop_tf_like":
            kwargs["policy_kwargs"].update(rmsprop_tf_like())
        elif isinstance(v, tuple):
            kwargs[k] = LinearSchedule(float(v[1]), 0.0, 1.0)
        else:
            kwargs[k] = v


def default_algo(head: str, teacher_kind: str | None) -> str:
    return "dqn" if head == "categorical" and teacher_kind == "q" else ALGOS_FOR_HEAD[head][0]


def _pairs(run: SavedRun, task: int, algo: str, calib: torch.Tensor
           ) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], dict[str, Any]]:
    """The student's (weight, bias) per Linear as the SB3 model of ``algo`` takes them, and how
    its outputs were mapped."""
    student = run.student
    pairs = [(m.weight.detach().clone(), m.bias.detach().clone()) for m in student.linears(task)]
    head: Any = student.action_heads[task]  # a Gaussian head has its dim
    w, b = pairs[-1]
    note: dict[str, Any] = {}
    cfg, kind = run.config, run.task(task).get("teacher", {}).get("kind")
    if algo == "dqn":
        loss = cfg.get("loss") or head.default_loss
        scale = 1.0
        if kind == "q" and loss in ("kl", "ce"):
            scale = float(cfg.get("temperature") or run.task(task)["teacher"].get("temperature")
                          or head.default_temperature(kind))
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
               check_rows: int = 4096, seed: int = 0, own_critic_cnn: bool = False,
               flat: bool = False) -> dict[str, Any]:
    """Write the student (task ``task``) as an SB3 zip at ``out``, reload it with SB3 and check
    its deterministic actions against the student's greedy ones on ``check_rows`` states of the
    run's buffer (random normal ones when the run kept no checkpoint). Returns the report.

    ``own_critic_cnn`` (``finetune``): a CNN student's PPO / A2C critic gets its own (fresh)
    features extractor instead of sharing the student's, so that the value loss cannot move
    the convolutions the student acts through. ``flat`` (``finetune``): a student of a Dict
    space as an ``MlpPolicy`` on the env's keys flattened (:mod:`rldistill.envs.keys`), not a
    ``MultiInputPolicy`` on its dicts."""
    from rldistill.zoo.sb3 import sb3_class
    from rldistill.envs.make import make_env

    run = SavedRun(student_dir)
    run.check_task(task)
    student = run.student
    out = Path(out)
    if out.suffix != ".zip":
        raise UserError(f"--out {out} should end in .zip for --format sb3")
    why = layout_error(student.arch, student_dir, out)
    if why:
        raise UserError(why)
    head = student.action_heads[task]
    tmeta = run.task(task)
    allowed = ALGOS_FOR_HEAD[head.name]
    algo = algo or default_algo(head.name, tmeta.get("teacher", {}).get("kind"))
    if algo not in allowed:
        raise UserError(f"--algo {algo} cannot hold a {head.name} student: choose one of "
                        f"{', '.join(allowed)}")
    env_id = tmeta.get("env")
    if not env_id:
        raise UserError(f"{student_dir} does not name its env: it was not written by distill")
    # the states it is checked (and a Gaussian student's log std averaged) on
    calib, source = check_states(run, task, check_rows, seed)
    pairs, note = _pairs(run, task, algo, calib)
    hidden = tuple(w.shape[0] for w, _ in pairs[:-1])
    cnn = bool(student.arch.conv)
    keys = () if flat else student.specs[task].keys  # a Dict space: SB3's MultiInputPolicy
    if any(k.image for k in keys):
        raise UserError("a student of a Dict observation space with image keys has no SB3 "
                        f"policy to hold it yet: {onnx_hint(student_dir, out)}")
    policy = "MultiInputPolicy" if keys else "CnnPolicy" if cnn else "MlpPolicy"
    env = make_env(run.env(task), flat=not keys)
    kwargs = _model_kwargs(run, task, algo, env, env_id, pairs, student_dir, out)
    if cnn and own_critic_cnn and algo in ("ppo", "a2c"):
        kwargs["policy_kwargs"]["share_features_extractor"] = False
    cls = sb3_class(algo)
    model = cls(policy, env, seed=seed, device="cpu", **kwargs)
    from rldistill.sources.sb3_policy import set_student_layers

    layers: list[Any] = [m for m in student.convs if isinstance(m, torch.nn.Conv2d)] if cnn \
        else []
    convs = [(m.weight.detach(), m.bias.detach()) for m in layers]
    set_student_layers(model.policy, pairs, convs)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, lambda tmp: model.save(tmp))
    except OSError as e:
        raise UserError(f"cannot write {out}: {e.strerror or e}: pass another --out") from None
    norm = student.obs_norms[task] if student.arch.obs_norm and student.arch.obs_norm[task] \
        else None
    report: dict[str, Any] = {"sb3": str(out), "algo": algo, "bytes": out.stat().st_size,
                              "env": env_id, "task": task, "hidden": list(hidden),
                              "policy": policy, **note}
    if norm is not None:
        vn_path = out.with_name(out.stem + ".vecnormalize.pkl")
        _vecnormalize(norm, env, vn_path)
        report["vecnormalize"] = str(vn_path)

    # reloaded only to act: no replay buffer (DQN's on Atari frames: 2 x 2.8 GB, allocated lazily)
    loaded = cls.load(str(out), device="cpu", custom_objects={"buffer_size": 1})
    report.update(check_rows=len(calib), check_states=source,
                  action_agreement=_agreement(loaded, student, task, norm, calib, keys))
    return report


def _model_kwargs(run: SavedRun, task: int, algo: str, env: Any, env_id: str,
                  pairs: list[tuple[torch.Tensor, torch.Tensor]], student_dir: str | Path,
                  out: Path) -> dict[str, Any]:
    """The SB3 model's arguments: RL Zoo's hyperparameters for the env, the student's layer
    sizes, a CNN student's CnnPolicy arguments (an MLP student's first layer put in SB3's
    input order: ``pairs`` changes), TD3's / DDPG's action noise."""
    from rldistill.zoo.sb3 import sb3_kwargs
    from rldistill.zoo.hyperparams import lookup

    student = run.student
    hidden = tuple(w.shape[0] for w, _ in pairs[:-1])
    cnn = bool(student.arch.conv)
    _, kwargs = sb3_kwargs(algo, env_id, hidden[1:] if cnn else hidden, student.arch.activation)
    pk = kwargs["policy_kwargs"]
    # the student's own features: a zoo network's extractor (MinAtar's) is not on its path
    pk.pop("features_extractor_class", None)
    pk.pop("features_extractor_kwargs", None)
    if cnn:
        pk.update(_image_kwargs(student, task, env, env_id, student_dir, out))
        _cnn_defaults(algo, env_id, kwargs)
    else:
        _channels_first(pairs, env.observation_space)
    noise = lookup(algo, env_id)[1].get("noise_std")
    if noise is not None:  # TD3 / DDPG explore with Gaussian action noise (RL Zoo's)
        from stable_baselines3.common.noise import NormalActionNoise

        dim = int(np.prod(student.specs[task].action.shape))
        kwargs["action_noise"] = NormalActionNoise(np.zeros(dim), noise * np.ones(dim))
    return kwargs


def _agreement(loaded: Any, student: Any, task: int, norm: Any, calib: torch.Tensor,
               keys: tuple[Any, ...]) -> float:
    """The share of ``calib``'s states on which the reloaded model's deterministic actions are
    the student's greedy ones."""
    head = student.action_heads[task]
    matches = []
    for x in calib.split(CHECK_BATCH):  # in batches: 4096 Atari frames as floats are 460 MB
        x = x.float()
        with torch.inference_mode():
            want = head.to_env(student.act(x, task))
            seen = norm(x) if norm is not None else x
        got, _ = loaded.predict(key_arrays(seen.numpy(), keys) if keys else seen.numpy(),
                                deterministic=True)
        matches.append(np.isclose(np.asarray(got, dtype=np.float64).reshape(len(x), -1),
                                  np.asarray(want, dtype=np.float64).reshape(len(x), -1),
                                  rtol=0.0, atol=1e-4).all(-1))
    return float(np.concatenate(matches).mean())
