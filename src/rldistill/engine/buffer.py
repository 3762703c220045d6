"""The aggregated dataset: observations in their own shape and dtype, teacher outputs, and the
episode structure (which env each row came from, and whether it starts an episode).

A ring of fixed capacity (the oldest rows are overwritten when full; :meth:`grow` enlarges it).
``total`` counts every row ever added, so :meth:`rows_since` gives what a checkpoint has not
saved yet: checkpoints write only the new rows (:mod:`rldistill.engine.checkpoint`).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

FIELDS = ("obs", "targets", "starts", "env")


class Buffer:
    def __init__(self, capacity: int, obs_shape: tuple[int, ...], obs_dtype: torch.dtype,
                 target_shape: tuple[int, ...]) -> None:
        self.obs = torch.empty(capacity, *obs_shape, dtype=obs_dtype)
        self.targets = torch.empty(capacity, *target_shape, dtype=torch.float32)
        self.starts = torch.zeros(capacity, dtype=torch.bool)  # row is an episode's first obs
        self.env = torch.zeros(capacity, dtype=torch.int32)  # which parallel env it came from
        self.capacity = capacity
        self.pos = 0  # next row to write
        self.size = 0
        self.total = 0  # rows ever added

    def add(self, obs: torch.Tensor, targets: torch.Tensor, starts: torch.Tensor | None = None,
            env: torch.Tensor | None = None) -> None:
        """Append a batch of rows (wrapping around when full)."""
        n = obs.shape[0]
        starts = torch.zeros(n, dtype=torch.bool) if starts is None else starts
        env = torch.zeros(n, dtype=torch.int32) if env is None else env
        self.total += n
        if n > self.capacity:  # only the newest rows fit
            obs, targets, starts, env = (x[-self.capacity:] for x in (obs, targets, starts, env))
            n = self.capacity
        idx = (torch.arange(n) + self.pos) % self.capacity if self.pos + n > self.capacity \
            else slice(self.pos, self.pos + n)
        self.obs[idx] = obs.reshape(n, *self.obs.shape[1:])
        self.targets[idx] = targets
        self.starts[idx] = starts
        self.env[idx] = env
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def grow(self, capacity: int) -> None:
        """Enlarge to ``capacity`` rows, keeping the stored rows in order (oldest first)."""
        if capacity <= self.capacity:
            return
        order = torch.arange(self.pos - self.size, self.pos) % self.capacity
        for name in FIELDS:
            old = getattr(self, name)
            new = torch.zeros(capacity, *old.shape[1:], dtype=old.dtype)
            new[: self.size] = old[order]
            setattr(self, name, new)
        self.capacity, self.pos = capacity, self.size % capacity

    def rows_since(self, total: int) -> dict[str, torch.Tensor]:
        """The rows added after the first ``total`` ones (those still stored), oldest first."""
        n = min(self.total - total, self.size)
        idx = torch.arange(self.pos - n, self.pos) % self.capacity
        return {name: getattr(self, name)[idx] for name in FIELDS}

    def epoch_batches(self, batch_size: int, gen: torch.Generator,
                      targets: torch.Tensor | None = None
                      ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One pass over the stored rows in random order, as (obs, targets) minibatches;
        ``targets`` replaces the stored ones row for row (e.g. targets prepared for a loss)."""
        perm = torch.randperm(self.size, generator=gen)
        obs = self.obs[: self.size]
        targets = self.targets[: self.size] if targets is None else targets
        for i in perm.split(batch_size):
            yield obs.index_select(0, i), targets.index_select(0, i)

    def endless_batches(self, batch_size: int, gen: torch.Generator, targets: torch.Tensor
                        ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Shuffled passes with prepared ``targets``, one after another."""
        while True:
            yield from self.epoch_batches(batch_size, gen, targets)


def torch_dtype(name: str) -> torch.dtype:
    """The buffer's dtype for a SpaceSpec's obs_dtype: frames stay uint8."""
    return torch.uint8 if name == "uint8" else torch.float32
