"""A preallocated tensor buffer of (observation, teacher output) pairs: the aggregated dataset."""

from __future__ import annotations

from collections.abc import Iterator

import torch


class Buffer:
    """Fixed-capacity storage; when full, the oldest rows are overwritten (a ring)."""

    def __init__(self, capacity: int, obs_dim: int, out_dim: int) -> None:
        self.obs = torch.empty(capacity, obs_dim, dtype=torch.float32)
        self.targets = torch.empty(capacity, out_dim, dtype=torch.float32)
        self.capacity = capacity
        self.pos = 0  # next row to write
        self.size = 0

    def add(self, obs: torch.Tensor, targets: torch.Tensor) -> None:
        """Append a batch of rows (wrapping around when full)."""
        if obs.shape[0] > self.capacity:  # only the newest rows fit
            obs, targets = obs[-self.capacity:], targets[-self.capacity:]
        n = obs.shape[0]
        idx = (torch.arange(n) + self.pos) % self.capacity if self.pos + n > self.capacity \
            else slice(self.pos, self.pos + n)
        self.obs[idx] = obs.reshape(n, -1)
        self.targets[idx] = targets
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

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
