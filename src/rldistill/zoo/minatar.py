"""The MinAtar network (Young & Tian 2019): one 3x3 convolution with 16 channels (stride 1),
then a dense layer of 128, as an SB3 features extractor for the zoo's MinAtar teachers.

MinAtar frames are 10 x 10 x C booleans, channel-last; SB3 does not transpose them (they are not
uint8 images), so the extractor moves the channels first itself. Its state-dict keys follow
SB3's NatureCNN (``cnn.0``, ``linear.0``), so rldistill rebuilds it from the zip's weights
without unpickling the class (``rldistill.sources.sb3_cnn``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

try:
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
except ImportError:  # pragma: no cover - SB3 is a dependency
    BaseFeaturesExtractor = nn.Module  # type: ignore[misc,assignment]


class MinAtarCNN(BaseFeaturesExtractor):  # type: ignore[misc]
    def __init__(self, observation_space: Any, features_dim: int = 128) -> None:
        super().__init__(observation_space, features_dim)
        h, w, c = observation_space.shape
        self.cnn = nn.Sequential(nn.Conv2d(c, 16, 3, 1), nn.ReLU(), nn.Flatten())
        self.linear = nn.Sequential(nn.Linear(16 * (h - 2) * (w - 2), features_dim), nn.ReLU())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.linear(self.cnn(obs.float().permute(0, 3, 1, 2)))
