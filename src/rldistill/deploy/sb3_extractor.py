"""An SB3 features extractor holding any CNN student's convolutions, for ``export --format
sb3`` (and ``finetune``) of CNN students whose layout is not SB3's NatureCNN (MinAtar's 3x3
convolutions, ``--param-ratio`` students on Atari frames).

Its state-dict keys follow NatureCNN's (``cnn.<i>`` convolutions with a ReLU after each,
``linear.0`` the dense layer of ``features_dim``), so that the code that copies a student into
an SB3 policy and back (:func:`rldistill.sources.sb3_policy.set_student_layers` /
``student_layers``) serves both. A zip made with it names this class: SB3's ``load`` needs
rldistill installed to open it (as for the zoo's MinAtar teachers).
"""

from __future__ import annotations

from typing import Any

import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from rldistill.students.convs import build_convs, conv_out


class StudentCNN(BaseFeaturesExtractor):  # type: ignore[misc]
    """Convolutions ``conv`` ((out channels, kernel, stride) per layer, no padding, ReLU after
    each) over (C, H, W) frames, flattened into a dense layer of ``features_dim`` + ReLU.
    ``channels_last``: the frames come (H, W, C) and SB3 does not move them (not uint8 images:
    MinAtar's booleans), so the extractor does."""

    def __init__(self, observation_space: Any, conv: list[list[int]], features_dim: int,
                 channels_last: bool = False) -> None:
        super().__init__(observation_space, features_dim)
        shape = observation_space.shape
        frame = (shape[2], shape[0], shape[1]) if channels_last else tuple(shape)
        layout = tuple((int(c), int(k), int(s)) for c, k, s in conv)
        self.channels_last = channels_last
        self.cnn = nn.Sequential(*build_convs(frame, layout), nn.Flatten())
        self.linear = nn.Sequential(nn.Linear(conv_out(frame, layout), features_dim), nn.ReLU())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.float()
        return self.linear(self.cnn(x.permute(0, 3, 1, 2) if self.channels_last else x))
