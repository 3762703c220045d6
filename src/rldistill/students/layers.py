"""The MLP layers of students: Linear layers with one activation between them (ReLU, or the
teacher's where a plain MLP student takes it: :func:`hidden_activation`)."""

from __future__ import annotations

from torch import nn

from rldistill.core.activations import ACTIVATIONS, activation_name


def mlp(sizes: list[int], final_act: bool, act: str = "relu") -> nn.Sequential:
    """Linear layers of ``sizes``, ``act`` between them (and after the last: ``final_act``)."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    return nn.Sequential(*[m for i, (a, b) in enumerate(pairs) for m in (
        [nn.Linear(a, b), ACTIVATIONS[act]()] if final_act or i < len(pairs) - 1
        else [nn.Linear(a, b)])])


def mlp_params(sizes: list[int]) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def hidden_activation(net: nn.Module) -> str | None:
    """The name of the first activation in ``net`` (a teacher's acting path: the one between
    its hidden layers; TD3's final tanh comes after it), None where that one is not ours."""
    for m in net.modules():
        if type(m).__module__ == nn.ReLU.__module__:  # torch.nn's activations
            return activation_name(type(m))
    return None


def saved_activation(name: object) -> str:
    """A saved student's activation, checked (a name this rldistill builds), else a one-line
    error."""
    from rldistill.core.errors import UserError

    if name not in ACTIVATIONS:
        raise UserError(f"student.json names the activation {name!r}, which this rldistill does "
                        f"not build ({', '.join(ACTIVATIONS)}): use the rldistill that wrote it")
    return str(name)
