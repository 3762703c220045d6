"""A stacked frame stored once (engine/frames.py): every row rebuilt exactly, in any order rows
come, through checkpoints, and a quarter of the bytes of the stacks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rldistill.engine.buffer import Buffer, stored_obs
from rldistill.envs.recipe import FrameStack, TransposeImage, frame_layout


class Frames(gym.Env):  # type: ignore[misc]
    """Random 6 x 5 x 1 uint8 frames, episodes of random length."""

    observation_space = gym.spaces.Box(0, 255, (6, 5, 1), np.uint8)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def _frame(self) -> np.ndarray:
        return self.rng.integers(1, 256, (6, 5, 1), dtype=np.uint8)

    def reset(self, **kwargs):  # type: ignore[no-untyped-def]
        return self._frame(), {}

    def step(self, action):  # type: ignore[no-untyped-def]
        return self._frame(), 0.0, bool(self.rng.random() < 0.1), False, {}


def rollout(n_envs: int, steps: int, keep: list[int], transpose: bool = True
            ) -> list[tuple[torch.Tensor, ...]]:
    """Batches of (obs, starts, env) as the loop stores them: per step the first ``keep[step %
    len(keep)]`` envs (a round's last, partial step leaves the others unstored)."""
    envs = [FrameStack(Frames(i), 4) for i in range(n_envs)]
    envs = [TransposeImage(e) for e in envs] if transpose else envs
    assert frame_layout(envs[0]) == ((4, 0) if transpose else (4, 2))
    obs = np.stack([e.reset()[0] for e in envs])
    starts = np.ones(n_envs, bool)
    out = []
    for t in range(steps):
        k = keep[t % len(keep)]
        out.append((torch.from_numpy(obs[:k].copy()), torch.from_numpy(starts[:k].copy()),
                    torch.arange(k, dtype=torch.int32)))
        nxt = []
        for i, e in enumerate(envs):
            o, _, term, trunc, _ = e.step(0)
            if term or trunc:
                o, _ = e.reset()
            starts[i] = term or trunc
            nxt.append(o)
        obs = np.stack(nxt)
    return out


@pytest.mark.parametrize("transpose", [True, False])  # frames stacked on the first / last axis
def test_stacked_rows_are_rebuilt_exactly_and_stored_once(transpose: bool) -> None:
    batches = rollout(3, 60, keep=[3, 3, 3, 1, 3, 2], transpose=transpose)
    rows = sum(b[0].shape[0] for b in batches)
    shape = tuple(batches[0][0].shape[1:])
    buf = Buffer(rows, shape, torch.uint8, (2,), stack=(4, 0 if transpose else 2))
    plain = Buffer(rows, shape, torch.uint8, (2,))
    for i in range(0, len(batches), 7):  # several steps per add, as a round adds them
        part = batches[i:i + 7]
        obs, starts, env = (torch.cat(x) for x in zip(*part))
        for b in (buf, plain):
            b.add(obs, torch.zeros(len(obs), 2), starts, env)
    assert torch.equal(buf.observations(slice(0, rows)), plain.obs[:rows])
    pick = torch.tensor([5, 0, rows - 1, 17])
    assert torch.equal(buf.observations(pick), plain.obs[pick])
    assert buf.frames is not None
    # one frame per row, plus the older frames of rows whose env's previous step was not stored
    assert rows < buf.frames.count - 1 < rows * 1.3
    assert buf.frames.count - 1 < 4 * rows / 3


def test_checkpoint_chunks_restore_the_frame_store() -> None:
    batches = rollout(2, 40, keep=[2, 1])
    obs_all = torch.cat([b[0] for b in batches])
    n = len(obs_all)
    buf = Buffer(n, (4, 6, 5), torch.uint8, (2,), stack=(4, 0))
    chunks, saved = [], 0
    for i in range(0, len(batches), 9):
        obs, starts, env = (torch.cat(x) for x in zip(*batches[i:i + 9]))
        buf.add(obs, torch.arange(len(obs) * 2.0).reshape(-1, 2), starts, env)
        chunks.append(buf.rows_since(saved))
        saved = buf.total
    assert "obs" not in chunks[0] and chunks[0]["frames"].dtype == torch.uint8
    assert torch.equal(stored_obs(chunks), obs_all)
    again = Buffer(n, (4, 6, 5), torch.uint8, (2,), stack=(4, 0))
    for c in chunks:
        again.load_rows(c)
    assert torch.equal(again.observations(slice(0, n)), obs_all)
    assert torch.equal(again.targets[:n], buf.targets[:n])
    # rows added after a restore continue the envs' stacks as before
    assert again.frames is not None and buf.frames is not None
    assert again.frames.last == buf.frames.last and again.frames.count == buf.frames.count


def test_a_full_stacked_buffer_turns_plain_to_overwrite() -> None:
    batches = rollout(2, 12, keep=[2])
    obs, starts, env = (torch.cat(x) for x in zip(*batches))
    buf = Buffer(16, (4, 6, 5), torch.uint8, (2,), stack=(4, 0))
    buf.add(obs[:16], torch.zeros(16, 2), starts[:16], env[:16])
    assert buf.frames is not None
    buf.add(obs[16:], torch.zeros(8, 2), starts[16:], env[16:])
    assert buf.frames is None and buf.size == 16
    order = torch.arange(buf.pos - 16, buf.pos) % 16
    assert torch.equal(buf.obs[order], obs[-16:])


def test_bytes_per_row_counts_each_frame_once() -> None:
    batches = rollout(2, 30, keep=[2])
    obs, starts, env = (torch.cat(x) for x in zip(*batches))
    stacked = Buffer(60, (4, 6, 5), torch.uint8, (3,), stack=(4, 0))
    plain = Buffer(60, (4, 6, 5), torch.uint8, (3,))
    for b in (stacked, plain):
        b.add(obs, torch.zeros(60, 3), starts, env)
    assert plain.bytes_per_row() == 120 + 12 + 1 + 4
    assert stacked.frames is not None
    assert stacked.bytes_per_row() == 32 + 12 + 1 + 4 + 30 * stacked.frames.count / 60
    assert stacked.frames.count == 61  # one frame per row and the zero frame
