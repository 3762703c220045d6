"""The states a saved student's exports are checked and timed on (``export``, ``export --format
sb3``, ``bench-latency``): the run's own, from its checkpointed buffer, else random ones: uint8
frames for an image student (as the env gives them), standard normal otherwise (a Dict space's
image keys: uint8 values)."""

from __future__ import annotations

import torch

from rldistill.engine.checkpoint import buffer_obs
from rldistill.sources.sb3_cnn import is_image
from rldistill.students.saved import SavedRun


def check_states(run: SavedRun, task: int, rows: int, seed: int) -> tuple[torch.Tensor, str]:
    """Up to ``rows`` states of ``task`` (a fixed draw for ``seed``) and where they came from:
    "buffer", "random uint8" or "random normal"."""
    states = buffer_obs(run.dir, task, rows, seed)
    if states is not None:
        return states, "buffer"
    spec = run.student.specs[task]
    gen = torch.Generator().manual_seed(seed)
    if is_image(spec):
        return torch.randint(0, 256, (rows, *spec.obs_shape), generator=gen,
                             dtype=torch.uint8), "random uint8"
    x = torch.randn(rows, *spec.obs_shape, generator=gen)
    at = 0
    for k in spec.keys:  # image keys of a Dict space: what a uint8 image can hold
        if k.image:
            x[:, at:at + k.size] = torch.randint(0, 256, (rows, k.size), generator=gen).float()
        at += k.size
    return x, "random normal"
