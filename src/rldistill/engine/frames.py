"""Stacked observations stored once per frame: a row of the buffer holds the indices of its
``n`` frames in a frame store instead of the stack itself (Atari's 4 x 84 x 84 stack: 7 KiB a row
instead of 28 KiB).

A row that continues its env's previous row (the stack shifted by one, a new frame at the end)
adds one frame and reuses the others; an episode's first row (older frames zero, as SB3's
``VecFrameStack`` makes them) points at frame 0, which is zeros. Any other row (its env's
previous row was not stored, or the stack is not a shift of it) stores its non-zero frames
anew, so every row is rebuilt exactly, whatever the order rows come in.
"""

from __future__ import annotations

import torch

ZERO = 0  # the frame index of the zero frame


class FrameStore:
    """Frames in arrival order (frame 0 is zeros) and, per env, its last row's frame indices."""

    def __init__(self, capacity: int, obs_shape: tuple[int, ...], dtype: torch.dtype, n: int,
                 axis: int) -> None:
        self.n, self.axis = n, axis % len(obs_shape)
        shape = list(obs_shape)
        shape[self.axis] //= n
        self.frame_shape = tuple(shape)
        # untouched pages cost no memory: room for a frame per row and the round ends' extras
        self.frames = torch.empty(capacity + capacity // 8 + 1 + 64 * n, *shape, dtype=dtype)
        self.frames[ZERO] = 0
        self.count = 1  # frames stored, the zero frame included
        self.last: dict[int, list[int]] = {}  # env -> frame indices of its last row

    def split(self, obs: torch.Tensor) -> torch.Tensor:
        """(m, *obs_shape) -> (m, n, *frame_shape), oldest frame first."""
        a = self.axis + 1
        return obs.unflatten(a, (self.n, obs.shape[a] // self.n)).movedim(a, 1)

    def stacked(self, fidx: torch.Tensor) -> torch.Tensor:
        """The observations whose frame indices are ``fidx`` (m, n)."""
        return stack(self.frames, fidx, self.axis)

    def add(self, obs: torch.Tensor, starts: torch.Tensor, env: torch.Tensor) -> torch.Tensor:
        """Store the frames of these rows (in arrival order) that are not stored yet; returns
        the rows' frame indices (m, n)."""
        m, n = obs.shape[0], self.n
        a = self.axis + 1
        c = obs.shape[a] // n
        frames = self.split(obs)
        envs, first = env.tolist(), starts.tolist()
        pred, seen = [-1] * m, dict[int, int]()  # the row before, of the same env, in this batch
        for j, e in enumerate(envs):
            pred[j], seen[e] = seen.get(e, -1), j
        k = (n - 1) * c  # the older frames' width on the axis: per row, compared as views

        def continues(j: int) -> bool:  # older frames zero (first row), or the last row's shifted
            older = obs[j].narrow(self.axis, 0, k)
            if first[j]:
                return not bool(older.any())
            if pred[j] >= 0:
                return torch.equal(older, obs[pred[j]].narrow(self.axis, c, k))
            last = self.last.get(envs[j])
            return last is not None and torch.equal(older, self.stacked(
                torch.tensor([last[1:]]))[0])

        ok = [continues(j) for j in range(m)]
        out: list[list[int]] = []
        new_rows: list[int] = []
        new_slots: list[int] = []
        nxt = self.count
        for j in range(m):
            if ok[j]:
                base = [ZERO] * (n - 1) if first[j] else \
                    (out[pred[j]] if pred[j] >= 0 else self.last[envs[j]])[1:]
            else:  # a shift by more than one (steps not stored), or new frames
                base = self._shifted_more(j, frames, pred[j], out, envs[j]) if not first[j] else []
                zero = frames[j, :-1].flatten(1).eq(0).all(1).tolist()
                for s in range(len(base), n - 1):
                    if zero[s]:
                        base.append(ZERO)
                    else:
                        base.append(nxt)
                        new_rows.append(j)
                        new_slots.append(s)
                        nxt += 1
            out.append(base + [nxt])
            new_rows.append(j)
            new_slots.append(n - 1)
            nxt += 1
        self._room(nxt)
        rows, slots = torch.tensor(new_rows), torch.tensor(new_slots)
        if self.axis == 0 and obs.is_contiguous():  # frames are blocks: one index_select
            new = obs.reshape(m * n, -1).index_select(0, rows * n + slots)
        else:
            new = frames[rows, slots]
        self.frames[self.count:nxt] = new.reshape(-1, *self.frame_shape)
        self.count = nxt
        for j, e in enumerate(envs):
            self.last[e] = out[j]
        return torch.tensor(out, dtype=torch.int64).reshape(m, n)

    def _shifted_more(self, j: int, frames: torch.Tensor, pred: int, out: list[list[int]],
                 env: int) -> list[int]:
        """The frame indices of row ``j``'s oldest frames where they are the newest ones of its
        env's row before, shifted by 2 .. n-1 steps; [] where they are not."""
        if pred >= 0:
            before, idx = frames[pred], out[pred]
        elif env in self.last:
            idx = self.last[env]
            before = self.frames[torch.tensor(idx)]
        else:
            return []
        for s in range(2, self.n):
            if torch.equal(frames[j, : self.n - s], before[s:]):
                return idx[s:]
        return []

    def load(self, frames: torch.Tensor, fidx: torch.Tensor, env: torch.Tensor) -> None:
        """Append frames saved by a checkpoint (with their rows' indices and envs)."""
        self._room(self.count + len(frames))
        self.frames[self.count:self.count + len(frames)] = frames
        self.count += len(frames)
        for row, e in zip(fidx.tolist(), env.tolist()):
            self.last[e] = row

    def _room(self, count: int) -> None:
        if count > len(self.frames):
            bigger = torch.empty(max(count, len(self.frames) * 5 // 4), *self.frame_shape,
                                 dtype=self.frames.dtype)
            bigger[: self.count] = self.frames[: self.count]
            self.frames = bigger


def stack(frames: torch.Tensor, fidx: torch.Tensor, axis: int) -> torch.Tensor:
    """Rows rebuilt from a frame store: ``frames[fidx]`` concatenated on ``axis``."""
    a = axis + 1
    return frames[fidx].movedim(1, a).flatten(a, a + 1)
