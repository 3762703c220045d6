"""The aggregated dataset: observations in their own shape and dtype, teacher outputs, and the
episode structure (which env each row came from, and whether it starts an episode).

A ring of fixed capacity (the oldest rows are overwritten when full; :meth:`grow` enlarges it).
``total`` counts every row ever added, so :meth:`rows_since` gives what a checkpoint has not
saved yet: checkpoints write only the new rows (:mod:`rldistill.engine.checkpoint`).

With ``stack=(n, axis)`` (the env stacks its last ``n`` frames on ``axis``) each frame is stored
once (:mod:`rldistill.engine.frames`); such a buffer keeps every row and turns into a plain one
if it ever has to overwrite.

A Dict observation space with image keys (``keys``, :mod:`rldistill.envs.keys`) keeps its
image columns as uint8 (``pix``) beside the float ones (``obs``): an 84 x 84 image key takes
7 KiB a row, not 28.

Where the student sees a view of the teacher's observation (:mod:`rldistill.envs.views`), ``obs`` is
the student's and ``tobs`` the teacher's (relabelling reads it). For recurrent students ``cut``
marks the rows whose env's previous step is not stored before them (an episode's first step, or
a step after one the round did not label): their sequences start from a zero state there.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from rldistill.core.spaces import ObsKey
from rldistill.engine.frames import FrameStore, stack
from rldistill.students.memory import sequence_windows


class Buffer:
    def __init__(self, capacity: int, obs_shape: tuple[int, ...], obs_dtype: torch.dtype,
                 target_shape: tuple[int, ...], stack: tuple[int, int] | None = None,
                 teacher_obs: tuple[tuple[int, ...], torch.dtype] | None = None,
                 sequences: bool = False, keys: tuple[ObsKey, ...] = ()) -> None:
        self.frames = (FrameStore(capacity, obs_shape, obs_dtype, *stack)
                       if stack and stack[0] > 1 else None)
        self.obs_shape = obs_shape
        self.pix_cols = image_columns(keys) if self.frames is None else None
        self.split = ("pix",) if self.pix_cols is not None else ()
        if self.pix_cols is not None:  # the float columns in obs, the image ones in pix
            self.vec_cols = _others(self.pix_cols, obs_shape[0])
            self.obs = torch.empty(capacity, len(self.vec_cols), dtype=torch.float32)
            self.pix = torch.empty(capacity, len(self.pix_cols), dtype=torch.uint8)
        elif self.frames is None:
            self.obs = torch.empty(capacity, *obs_shape, dtype=obs_dtype)
        else:  # the indices of each row's frames in the store
            self.fidx = torch.zeros(capacity, self.frames.n, dtype=torch.int64)
        self.targets = torch.empty(capacity, *target_shape, dtype=torch.float32)
        self.starts = torch.zeros(capacity, dtype=torch.bool)  # row is an episode's first obs
        self.env = torch.zeros(capacity, dtype=torch.int32)  # which parallel env it came from
        self.optional = (("tobs",) if teacher_obs else ()) + (("cut",) if sequences else ())
        if teacher_obs:
            self.tobs = torch.empty(capacity, *teacher_obs[0], dtype=teacher_obs[1])
        if sequences:
            self.cut = torch.zeros(capacity, dtype=torch.bool)
        self.capacity = capacity
        self.pos = 0  # next row to write
        self.size = 0
        self.total = 0  # rows ever added

    @property
    def fields(self) -> tuple[str, ...]:
        return ("obs" if self.frames is None else "fidx", "targets", "starts", "env",
                *self.split, *self.optional)

    def observations(self, idx: torch.Tensor | slice) -> torch.Tensor:
        """The stored observations at positions ``idx``, in their full shape."""
        if self.pix_cols is not None:
            return join_pix(self.obs[idx], self.pix[idx], self.pix_cols, self.vec_cols)
        if self.frames is None:  # index_select: a minibatch's gather on the update path
            return self.obs.index_select(0, idx) if isinstance(idx, torch.Tensor) else self.obs[idx]
        return self.frames.stacked(self.fidx[idx])

    def teacher_observations(self, idx: torch.Tensor | slice) -> torch.Tensor:
        """The teacher's observations at ``idx`` (where the student sees a view of them)."""
        return self.tobs[idx] if "tobs" in self.optional else self.observations(idx)

    def bytes_per_row(self) -> float:
        """Memory the stored rows take, per row (observations, targets, episode structure)."""
        row = sum(getattr(self, f)[:1].nbytes for f in self.fields)
        if self.frames is not None:
            f = self.frames.frames
            row += self.frames.count * f[:1].nbytes / max(self.size, 1)
        return row

    def add(self, obs: torch.Tensor, targets: torch.Tensor, starts: torch.Tensor | None = None,
            env: torch.Tensor | None = None, **optional: torch.Tensor) -> None:
        """Append a batch of rows (wrapping around when full); ``optional``: ``tobs`` and
        ``cut`` where the buffer keeps them (``cut`` defaults to ``starts``)."""
        n = obs.shape[0]
        starts = torch.zeros(n, dtype=torch.bool) if starts is None else starts
        env = torch.zeros(n, dtype=torch.int32) if env is None else env
        if "cut" in self.optional and optional.get("cut") is None:
            optional["cut"] = starts
        extra = [optional[k] for k in self.optional]
        if self.frames is not None and self.size + n > self.capacity:
            self._unstack()
        self.total += n
        if n > self.capacity:  # only the newest rows fit
            obs, targets, starts, env, *extra = (x[-self.capacity:] for x in (
                obs, targets, starts, env, *extra))
            n = self.capacity
        idx = (torch.arange(n) + self.pos) % self.capacity if self.pos + n > self.capacity \
            else slice(self.pos, self.pos + n)
        if self.pix_cols is not None:
            self.obs[idx], self.pix[idx] = obs[:, self.vec_cols], obs[:, self.pix_cols].to(
                torch.uint8)
        elif self.frames is None:
            self.obs[idx] = obs.reshape(n, *self.obs.shape[1:])
        else:
            self.fidx[idx] = self.frames.add(obs.reshape(n, *self.obs_shape), starts, env)
        self.targets[idx] = targets
        self.starts[idx] = starts
        self.env[idx] = env
        for name, value in zip(self.optional, extra):
            getattr(self, name)[idx] = value.reshape(n, *getattr(self, name).shape[1:])
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def grow(self, capacity: int) -> None:
        """Enlarge to ``capacity`` rows, keeping the stored rows in order (oldest first)."""
        if capacity <= self.capacity:
            return
        order = torch.arange(self.pos - self.size, self.pos) % self.capacity
        for name in self.fields:
            old = getattr(self, name)
            new = torch.zeros(capacity, *old.shape[1:], dtype=old.dtype)
            new[: self.size] = old[order]
            setattr(self, name, new)
        self.capacity, self.pos = capacity, self.size % capacity

    def rows_since(self, total: int) -> dict[str, torch.Tensor]:
        """The rows added after the first ``total`` ones (those still stored), oldest first;
        with a frame store, the frames added since too (``frames``, and ``frame_axis``)."""
        n = min(self.total - total, self.size)
        idx = torch.arange(self.pos - n, self.pos) % self.capacity
        rows = {name: getattr(self, name)[idx] for name in self.fields}
        if self.pix_cols is not None:
            rows["pix_cols"] = self.pix_cols
        if self.frames is not None:  # rows are never overwritten: position == row number
            first = int(self.fidx[total - 1, -1]) + 1 if total else 1
            rows["frames"] = self.frames.frames[first:self.frames.count]
            rows["frame_axis"] = torch.tensor([self.frames.axis])
        return rows

    def load_rows(self, rows: dict[str, torch.Tensor]) -> None:
        """Append rows as :meth:`rows_since` gave them (a checkpoint's chunk)."""
        if "fidx" not in rows:
            obs = join_pix(rows["obs"], rows["pix"], rows["pix_cols"]) if "pix" in rows \
                else rows["obs"]
            self.add(obs, rows["targets"], rows["starts"], rows["env"],
                     **{k: rows[k] for k in self.optional})
            return
        if self.frames is None or self.size + len(rows["fidx"]) > self.capacity:
            from rldistill.core.errors import UserError
            raise UserError("checkpoint chunk of stored frames does not fit this run's buffer: "
                            "start again with --overwrite")
        n = len(rows["fidx"])
        self.frames.load(rows["frames"], rows["fidx"], rows["env"])
        for name in self.fields:
            getattr(self, name)[self.pos:self.pos + n] = rows[name]
        self.total += n
        self.pos, self.size = (self.pos + n) % self.capacity, self.size + n

    def _unstack(self) -> None:
        """Turn into a plain buffer (each row its full observation), to overwrite rows."""
        assert self.frames is not None
        self.obs = torch.empty(self.capacity, *self.obs_shape, dtype=self.frames.frames.dtype)
        self.obs[: self.size] = self.observations(slice(0, self.size))
        self.frames = None
        del self.fidx

    def epoch_batches(self, batch_size: int, gen: torch.Generator,
                      targets: torch.Tensor | None = None
                      ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One pass over the stored rows in random order, as (obs, targets) minibatches;
        ``targets`` replaces the stored ones row for row (e.g. targets prepared for a loss)."""
        perm = torch.randperm(self.size, generator=gen)
        targets = self.targets[: self.size] if targets is None else targets
        for i in perm.split(batch_size):
            yield self.observations(i), targets.index_select(0, i)

    def endless_batches(self, batch_size: int, gen: torch.Generator, targets: torch.Tensor
                        ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Shuffled passes with prepared ``targets``, one after another."""
        while True:
            yield from self.epoch_batches(batch_size, gen, targets)

    def sequence_batches(self, n_seq: int, length: int, burn_in: int, gen: torch.Generator,
                         targets: torch.Tensor
                         ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Endless minibatches of ``n_seq`` sequences for a recurrent student
        (:func:`~rldistill.students.memory.sequence_windows`): observations
        (burn_in + length, n_seq, ...),
        resets (burn_in + length, n_seq) and the prepared ``targets`` of the steps after the
        burn-in, flattened in the same (time, sequence) order."""
        while True:
            order = torch.arange(self.pos - self.size, self.pos) % self.capacity
            rows, resets = sequence_windows(self.env[order], self.cut[order], length, burn_in,
                                            gen)
            rows = order[rows]
            for w, r in zip(rows.split(n_seq), resets.split(n_seq)):
                steps = w.T  # (time, sequence)
                obs = self.observations(steps.flatten()).view(*steps.shape, *self.obs_shape)
                yield obs, r.T, targets.index_select(0, steps[burn_in:].flatten())


def stored_obs(rows: list[dict[str, torch.Tensor]]) -> torch.Tensor:
    """The observations of a buffer's checkpointed chunks (in order), in their full shape."""
    out: list[torch.Tensor] = []
    frames: list[torch.Tensor] = []
    for r in rows:
        if "fidx" not in r:
            out.append(join_pix(r["obs"], r["pix"], r["pix_cols"]) if "pix" in r else r["obs"])
            continue
        if not frames:  # frame 0: zeros
            frames.append(torch.zeros(1, *r["frames"].shape[1:], dtype=r["frames"].dtype))
        frames.append(r["frames"])
        out.append(stack(torch.cat(frames), r["fidx"], int(r["frame_axis"][0])))
    return torch.cat(out)


def image_columns(keys: tuple[ObsKey, ...]) -> torch.Tensor | None:
    """The columns of a Dict space's flat vector that hold image keys; None without any."""
    cols, at = [], 0
    for k in keys:
        if k.image:
            cols.append(torch.arange(at, at + k.size))
        at += k.size
    return torch.cat(cols) if cols else None


def _others(cols: torch.Tensor, width: int) -> torch.Tensor:
    keep = torch.ones(width, dtype=torch.bool)
    keep[cols] = False
    return keep.nonzero().squeeze(1)


def join_pix(vec: torch.Tensor, pix: torch.Tensor, pix_cols: torch.Tensor,
             vec_cols: torch.Tensor | None = None) -> torch.Tensor:
    """Flat float observations from the float columns (at ``vec_cols``: all the others) and
    the uint8 image columns."""
    out = torch.empty(len(vec), vec.shape[1] + pix.shape[1])
    out[:, _others(pix_cols, out.shape[1]) if vec_cols is None else vec_cols] = vec
    out[:, pix_cols] = pix.float()
    return out


def torch_dtype(name: str) -> torch.dtype:
    """The buffer's dtype for a SpaceSpec's obs_dtype: frames stay uint8."""
    return torch.uint8 if name == "uint8" else torch.float32
