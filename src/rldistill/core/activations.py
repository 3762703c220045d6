"""The activations a student's MLP may have between its layers, by the names
``--student-activation`` takes; an SB3 policy that holds the student (``export --format sb3``,
``finetune``) is built with the same class."""

from __future__ import annotations

from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU}


def activation_name(cls: type) -> str | None:
    """The name of an activation class (a teacher's layer, an SB3 policy's ``activation_fn``),
    None where it is not one of ours."""
    return next((k for k, v in ACTIVATIONS.items() if cls is v), None)
