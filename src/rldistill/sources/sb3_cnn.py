"""What comes before an SB3 policy's MLP: its features extractor, rebuilt from the weights.

- ``FlattenExtractor`` (MLP policies): the observation flattened, as floats;
- ``NatureCNN`` (SB3's ``CnnPolicy``: 8x8 stride 4, 4x4 stride 2, 3x3 stride 1 convolutions,
  then a dense layer of 512) and the zoo's MinAtar network (one 3x3 stride 1 convolution, a dense
  layer of 128, channel-last frames): convolutions read off ``cnn.{i}`` (their stride from their
  kernel, as these two networks use), the dense layer off ``linear.0``. Anything else under the
  extractor's keys is a custom extractor: a one-line error.

Both apply SB3's ``preprocess_obs``: uint8 images (3 dims) are divided by 255 unless the policy
was built with ``normalize_images=False``, for MLP policies too.
"""

from __future__ import annotations

import re
from typing import NoReturn

import torch
from torch import nn

from rldistill.core.errors import UserError
from rldistill.core.spaces import SpaceSpec, split_keys

STRIDES = {8: 4, 4: 2, 3: 1}  # kernel -> stride in NatureCNN and the MinAtar network
# the prefix of the features extractor on each policy's acting path
PREFIXES = ("q_net.features_extractor.", "quantile_net.features_extractor.",
            "actor.features_extractor.", "pi_features_extractor.", "features_extractor.")


class Features(nn.Module):
    """obs -> features: float (/255 for images), channels first, convolutions, dense."""

    def __init__(self, convs: nn.Module | None, linear: nn.Module | None, scale: bool,
                 channels_last: bool) -> None:
        super().__init__()
        self.convs, self.linear = convs, linear
        self.scale, self.channels_last = scale, channels_last

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.float()
        if self.scale:
            x = x / 255.0
        if self.convs is None:
            return x.flatten(1)
        if self.channels_last:
            x = x.permute(0, 3, 1, 2)
        return self.linear(self.convs(x).flatten(1))  # type: ignore[misc]


def is_image(spec: SpaceSpec) -> bool:
    """SB3's ``is_image_space`` (without the channel check): uint8 with 3 dimensions."""
    return spec.obs_dtype == "uint8" and len(spec.obs_shape) == 3


def features(state: dict[str, torch.Tensor], spec: SpaceSpec, normalize_images: bool,
             path: object) -> nn.Module:
    """The acting path's features extractor: a CNN where its keys hold one, else flattening;
    for a Dict space (``spec.keys``), SB3's ``CombinedExtractor``: each image key through its
    CNN, the others flattened, concatenated in the keys' order."""
    prefix = next((p for p in PREFIXES if any(k.startswith(p) for k in state)), None)
    if spec.keys:
        cnns = {k.name: f"{prefix}extractors.{k.name}." for k in spec.keys if k.image and prefix}
        stray = [k for k in state if prefix and k.startswith(prefix)
                 and not k.startswith(tuple(cnns.values()))]
        if stray:  # parameters that are no image key's CNN
            _custom(path, stray[0])
        return KeyFeatures(spec, [_cnn(state, cnns[k.name], k.shape, normalize_images, path)
                                  if k.name in cnns else None for k in spec.keys])
    scale = normalize_images and is_image(spec)
    if prefix is None:
        return Features(None, None, scale, False)
    return _cnn(state, prefix, spec.obs_shape, scale, path)


class KeyFeatures(nn.Module):
    """SB3's ``CombinedExtractor`` over the flat vector of a Dict space
    (:mod:`rldistill.envs.keys`): image keys through their CNN, the others as they are."""

    def __init__(self, spec: SpaceSpec, cnns: list[Features | None]) -> None:
        super().__init__()
        self.keys = spec.keys
        self.cnns = nn.ModuleList(c or nn.Flatten() for c in cnns)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.cat([net(x) for net, x in zip(self.cnns, split_keys(obs.float(),
                                                                            self.keys))], 1)


def _custom(path: object, key: str) -> NoReturn:
    raise UserError(f"teacher {path} has a custom policy (a features extractor with "
                    f"parameters such as {key}) that rldistill cannot rebuild without running "
                    "code from the file: pass --trust-teacher if you trust its source")


def _cnn(state: dict[str, torch.Tensor], prefix: str, shape: tuple[int, ...], scale: bool,
         path: object) -> Features:
    """NatureCNN or the MinAtar network under ``prefix`` (``cnn.{i}``, ``linear.0``), loaded."""
    keys = sorted(k[len(prefix):] for k in state if k.startswith(prefix))
    convs = sorted({int(m[1]) for k in keys if (m := re.fullmatch(r"cnn\.(\d+)\.weight", k))})
    known = {f"cnn.{i}.{w}" for i in convs for w in ("weight", "bias")} | {
        "linear.0.weight", "linear.0.bias"}
    extra = [k for k in keys if k not in known]
    if not convs or extra or "linear.0.weight" not in keys:
        _custom(path, prefix + (extra or keys or ["?"])[0])
    layers: list[nn.Module] = []
    for i in convs:
        w = state[f"{prefix}cnn.{i}.weight"]
        k = int(w.shape[-1])
        if w.dim() != 4 or k not in STRIDES:
            raise UserError(f"teacher {path}: its CNN has a {k}x{k} convolution, not one of "
                            "NatureCNN's or MinAtar's: pass --trust-teacher to load it with SB3")
        conv = nn.Conv2d(int(w.shape[1]), int(w.shape[0]), k, STRIDES[k])
        conv.load_state_dict({"weight": w, "bias": state[f"{prefix}cnn.{i}.bias"]})
        layers += [conv, nn.ReLU()]
    convs_net = nn.Sequential(*layers)
    c_in = int(state[f"{prefix}cnn.{convs[0]}.weight"].shape[1])
    if len(shape) != 3 or c_in not in (shape[0], shape[-1]):
        raise UserError(f"teacher {path}: its CNN takes {c_in} channels, its observations are "
                        f"{shape}: pass --trust-teacher to load it with SB3")
    channels_last = c_in != shape[0]
    chw = (shape[2], shape[0], shape[1]) if channels_last else shape
    with torch.no_grad():
        n_flat = convs_net(torch.zeros(1, *chw)).flatten(1).shape[1]
    w = state[f"{prefix}linear.0.weight"]
    if int(w.shape[1]) != n_flat:
        raise UserError(f"teacher {path}: its CNN's dense layer takes {w.shape[1]} inputs, the "
                        f"convolutions give {n_flat}: a custom extractor; pass --trust-teacher")
    dense = nn.Linear(int(w.shape[1]), int(w.shape[0]))
    dense.load_state_dict({"weight": w, "bias": state[f"{prefix}linear.0.bias"]})
    return Features(convs_net, nn.Sequential(dense, nn.ReLU()), scale, channels_last)
