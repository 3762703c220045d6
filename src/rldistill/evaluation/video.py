"""``rldistill evaluate --video N``: N episodes of teacher and student side by side, as GIFs
(Pillow, which matplotlib brings), each pair from the same seed: ``DIR/episode-K.gif``.

Frames come from the env's own ``render()`` (``render_mode="rgb_array"``), below any wrappers
the policies see; a policy whose episode ends first holds its last frame.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rldistill.envs.make import action_masks, has_masks, make_env, teacher_env
from rldistill.core.errors import UserError
from rldistill.heads import env_rows

MAX_STEPS = 1000  # frames per episode at most
WIDTH = 300  # pixels per policy: frames are scaled down to it
EVERY = 2  # keep every 2nd frame: smaller files, same motion at 25 frames/s


def episode_frames(policy: Any, env_id: str, seed: int) -> tuple[list[np.ndarray], float]:
    """The rendered frames of one greedy episode of ``policy`` (a recurrent one carries its
    state), and its return."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame renders off-screen
    env = make_env(env_id, render_mode="rgb_array")
    try:
        obs, _ = env.reset(seed=seed)
        first, ret = env.render(), 0.0
        if first is None:
            raise UserError(f"env {env_id} renders no frames (render_mode='rgb_array'): "
                            "record another env, or drop --video")
        frames = [np.asarray(first)]
        state = policy.initial_state(1) if getattr(policy, "recurrent", False) else None
        for _ in range(MAX_STEPS):
            x = torch.as_tensor(np.asarray(obs)[None])
            masked = has_masks(env) and hasattr(policy.head, "mask")
            if state is None and not masked:
                action = policy.act(x)
            else:
                out = policy.outputs(x) if state is None else None
                if state is not None:
                    out, state = policy.step(x, state)
                if masked:  # as the scored episodes act
                    out = policy.head.mask(out, torch.from_numpy(action_masks(env))[None])
                action = policy.head.act(out)
            (a,) = env_rows(policy.head.to_env(action))
            obs, r, term, trunc, _ = env.step(a)
            ret += float(r)
            frames.append(np.asarray(env.render()))
            if term or trunc:
                break
        return frames, ret
    finally:
        env.close()


def record(student: Any, teacher: Any, env_id: str, episodes: int, seed: int,
           out_dir: Path) -> list[dict[str, Any]]:
    """``episodes`` GIFs of teacher (left) and student (right) from the same seeds."""
    from PIL import Image, ImageDraw

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for k in range(episodes):
        (tf, tr), (sf, sr) = (episode_frames(p, e, seed + k) for p, e in (
            (teacher, teacher_env(env_id)), (student, env_id)))  # each on its own view
        images = []
        for i in range(0, max(len(tf), len(sf)), EVERY):
            left, right = (_small(f[min(i, len(f) - 1)]) for f in (tf, sf))
            gap = np.full((left.shape[0], 6, 3), 255, np.uint8)
            img = Image.fromarray(np.concatenate([left, gap, right], axis=1))
            draw = ImageDraw.Draw(img)
            draw.text((4, 4), f"teacher {tr:.0f}", fill=(200, 0, 0))
            draw.text((left.shape[1] + 10, 4), f"student {sr:.0f}", fill=(200, 0, 0))
            images.append(img.convert("P", palette=Image.Palette.ADAPTIVE))
        path = out_dir / f"episode-{k}.gif"
        images[0].save(path, save_all=True, append_images=images[1:], duration=40 * EVERY,
                       loop=0, optimize=True)
        written.append({"gif": str(path), "seed": seed + k, "teacher_return": round(tr, 2),
                        "student_return": round(sr, 2)})
    return written


def _small(frame: np.ndarray) -> np.ndarray:
    """A frame scaled to WIDTH pixels wide (small frames, e.g. MinAtar's, scaled up)."""
    from PIL import Image

    h, w = frame.shape[:2]
    img = Image.fromarray(np.ascontiguousarray(frame[..., :3]).astype(np.uint8))
    return np.asarray(img.resize((WIDTH, max(1, round(h * WIDTH / w))), Image.Resampling.NEAREST))
