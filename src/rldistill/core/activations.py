"""The activations a student's MLP may have between its layers, by the names
``--student-activation`` takes; an SB3 policy that holds the student (``export --format sb3``,
``finetune``) is built with the same class."""

from __future__ import annotations

from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU}
