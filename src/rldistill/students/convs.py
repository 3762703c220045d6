"""Convolutional students: their layout (channels, kernel, stride per layer), its size, a CNN
teacher's layout, and the kernels of ``--student-arch cnn:C1,C2:D``.

A CNN student sees what SB3's extractors see (:mod:`rldistill.sources.sb3_cnn`): uint8 images
divided by 255, channel-last frames (MinAtar) moved channels first; its convolutions (ReLU
after each) are flattened into dense layers (``hidden``) and the action head's outputs.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from rldistill.core.errors import UserError
from rldistill.core.spaces import SpaceSpec

Conv = tuple[int, int, int]  # (out channels, kernel, stride)
Layout = tuple[tuple[Conv, ...], int, bool]  # a CNN teacher's: convolutions, dense, channels_last


def frame_of(spec: SpaceSpec, channels_last: bool) -> tuple[int, int, int]:
    """(C, H, W) the convolutions see (a Dict space: its first image key's)."""
    s = next((k.shape for k in spec.keys if k.image), spec.obs_shape)
    if len(s) != 3:
        raise UserError(f"a CNN student needs image observations (3 dims), these are {s}: use "
                        "--student-hidden for an MLP student")
    return (s[2], s[0], s[1]) if channels_last else (s[0], s[1], s[2])


def conv_out(frame: tuple[int, int, int], convs: tuple[Conv, ...]) -> int:
    """The flattened size after the convolutions (no padding)."""
    c, h, w = frame
    for out, k, s in convs:
        h, w, c = (h - k) // s + 1, (w - k) // s + 1, out
        if h < 1 or w < 1:
            raise UserError(f"the convolutions {convs} do not fit frames of {frame[1]}x"
                            f"{frame[2]}: use fewer or smaller ones")
    return c * h * w


def conv_params(frame: tuple[int, int, int], convs: tuple[Conv, ...]) -> int:
    c, n = frame[0], 0
    for out, k, _ in convs:
        n += c * out * k * k + out
        c = out
    return n


def build_convs(frame: tuple[int, int, int], convs: tuple[Conv, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    c = frame[0]
    for out, k, s in convs:
        layers += [nn.Conv2d(c, out, k, s), nn.ReLU()]
        c = out
    return nn.Sequential(*layers)


def atari_sized(frame: tuple[int, ...]) -> bool:
    """Frames of at least 36 x 36 (Atari's 84 x 84), as against small ones (MinAtar's 10 x 10)."""
    return min(frame[1:]) >= 36


def default_kernels(frame: tuple[int, int, int], n: int) -> list[tuple[int, int]]:
    """(kernel, stride) per layer: NatureCNN's for Atari-sized frames, 3x3 stride 1 for small
    ones (MinAtar's 10 x 10)."""
    nature = [(8, 4), (4, 2), (3, 1)]
    if atari_sized(frame) and n <= 3:
        return nature[:n]
    return [(3, 1)] * n


def convs_for(channels: tuple[int, ...], frame: tuple[int, int, int],
              kernels: tuple[tuple[int, int] | None, ...] = ()) -> tuple[Conv, ...]:
    """Convolutions of ``channels`` (``--student-arch cnn:16,32:256``, read by
    :func:`rldistill.core.options.parse_arch`) with the (kernel, stride) given per layer, else
    by frame size."""
    default = default_kernels(frame, len(channels))
    given = list(kernels) + [None] * (len(channels) - len(kernels))
    return tuple((c, *(g or d)) for c, g, d in zip(channels, given, default))


def teacher_layout(teacher: Any) -> Layout | None:
    """A CNN teacher's (convolutions, dense width, channels_last), read off its rebuilt
    extractor; None for teachers without one."""
    from rldistill.sources.sb3_cnn import Features

    net = getattr(teacher, "net", None)
    feats = next((m for m in net.modules() if isinstance(m, Features)), None) if net else None
    if feats is None or feats.convs is None:
        return None
    convs = tuple((int(m.out_channels), int(m.kernel_size[0]), int(m.stride[0]))
                  for m in feats.convs.modules() if isinstance(m, nn.Conv2d))
    assert feats.linear is not None
    dense = next(int(m.out_features) for m in feats.linear.modules() if isinstance(m, nn.Linear))
    return convs, dense, feats.channels_last


def scaled(convs: tuple[Conv, ...], dense: int, f: float) -> tuple[tuple[Conv, ...], int]:
    """Channels and dense width times ``f`` (at least 1 each), kernels and strides kept."""
    return (tuple((max(1, round(c * f)), k, s) for c, k, s in convs),
            max(1, round(dense * f)))
