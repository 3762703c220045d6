"""``--device``: where the student and the teachers compute. Everything else of a run (envs,
buffer, labels, RNGs, checkpoints, saved students) stays on the CPU: a network takes its inputs
on any device and gives its outputs back on the inputs' device (:meth:`rldistill.sources.base.
NetTeacher.outputs`, :meth:`rldistill.students.network.Student.outputs`), so only the updates'
minibatches are moved (:func:`to_device`). On the CPU (the default) nothing is moved: runs stay
bit for bit what they were."""

from __future__ import annotations

from typing import Any

import torch

from rldistill.core.errors import UserError


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` or ``cuda:N`` as a torch device; one line naming the fix where the
    name is unknown or this torch sees no such GPU."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown --device {name!r}: choose cpu, cuda or cuda:N") from None
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise UserError(f"--device {name}: only cpu and cuda are supported: pass --device cpu "
                        "or cuda")
    if not torch.cuda.is_available():
        raise UserError(f"--device {name}: this torch ({torch.__version__}) sees no CUDA GPU: "
                        "drop --device (the CPU is the default) or install a CUDA build of torch")
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise UserError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA "
                        f"device(s): pass --device cuda:0..{torch.cuda.device_count() - 1}")
    return device


def to_device(x: Any, device: torch.device) -> Any:
    """``x`` (a tensor, or a tuple / list / dict of them) on ``device``; the same objects where
    they are there already (the CPU path moves nothing)."""
    if isinstance(x, torch.Tensor):
        return x.to(device, non_blocking=True)
    if isinstance(x, (tuple, list)):
        return type(x)(to_device(v, device) for v in x)
    if isinstance(x, dict):
        return {k: to_device(v, device) for k, v in x.items()}
    return x
