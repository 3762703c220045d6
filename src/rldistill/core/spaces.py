"""What a policy needs to know of an env: the observation's shape and dtype, and the action space.

:class:`ActionSpec` is the one description of an action space; everything that depends on it
lives in its action head (:mod:`rldistill.heads`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

@dataclass(frozen=True)
class ActionSpec:
    """``discrete``: ``n`` actions; ``box``: a float vector of ``shape`` within [low, high];
    ``multi_discrete``: one choice among ``nvec[i]`` per component; ``multi_binary``: ``n``
    bits."""

    kind: str
    n: int = 0
    shape: tuple[int, ...] = ()
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()
    nvec: tuple[int, ...] = ()

    def describe(self) -> str:
        if self.kind == "discrete":
            return f"{self.n} discrete actions"
        if self.kind == "multi_discrete":
            return f"MultiDiscrete actions {list(self.nvec)}"
        if self.kind == "multi_binary":
            return f"MultiBinary actions of {self.n} bits"
        return f"continuous actions of shape {self.shape}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "n": self.n, "shape": list(self.shape), "low": list(self.low),
                "high": list(self.high), **({"nvec": list(self.nvec)} if self.nvec else {})}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ActionSpec:
        return cls(str(doc["kind"]), int(doc.get("n", 0)), tuple(doc.get("shape", ())),
                   tuple(doc.get("low", ())), tuple(doc.get("high", ())),
                   tuple(int(n) for n in doc.get("nvec", ())))


@dataclass(frozen=True)
class ObsKey:
    """One key of a Dict observation space (a Box): its ``shape`` as the networks see it
    (images channels first, as SB3's ``VecTransposeImage`` gives them) and its dtype.
    ``channels_last``: the env gives this image (H, W, C) (not part of the comparison with a
    teacher's space, which SB3 saves transposed)."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"
    channels_last: bool = field(default=False, compare=False)

    @property
    def image(self) -> bool:
        """SB3's ``is_image_space`` (without the channel check): uint8 with 3 dimensions."""
        return self.dtype == "uint8" and len(self.shape) == 3

    @property
    def size(self) -> int:
        return flat_dim(self.shape)

    @property
    def env_shape(self) -> tuple[int, ...]:
        """The shape the env gives (channels last where it gives them so)."""
        c, h, w = self.shape if self.channels_last else (0, 0, 0)
        return (h, w, c) if self.channels_last else self.shape

    def to_json(self) -> list[Any]:
        return [self.name, list(self.shape), self.dtype, self.channels_last]

    @classmethod
    def from_json(cls, doc: list[Any]) -> ObsKey:
        return cls(str(doc[0]), tuple(int(d) for d in doc[1]), str(doc[2]), bool(doc[3]))


@dataclass(frozen=True)
class SpaceSpec:
    """Observation shape and dtype, and the action space. ``SpaceSpec((8,), 4)`` is shorthand
    for 4 discrete actions.

    A Dict observation space (``keys``, in the space's order) is seen as one float vector: its
    keys flattened and concatenated in that order (``obs_shape`` (sum of sizes,)), as
    Gymnasium's ``flatten`` and SB3's ``CombinedExtractor`` order them; networks split it back
    (:func:`split_keys`)."""

    obs_shape: tuple[int, ...]
    action: ActionSpec
    obs_dtype: str = "float32"
    keys: tuple[ObsKey, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "obs_shape", tuple(int(d) for d in self.obs_shape))
        if isinstance(self.action, int):
            object.__setattr__(self, "action", ActionSpec("discrete", int(self.action)))

    def describe(self) -> str:
        if self.keys:
            inner = ", ".join(f"{k.name}: {tuple(k.shape)}{'' if k.dtype == 'float32' else ' '}"
                              f"{'' if k.dtype == 'float32' else k.dtype}" for k in self.keys)
            return f"obs Dict({inner}), {self.action.describe()}"
        dtype = "" if self.obs_dtype == "float32" else f" {self.obs_dtype}"
        return f"obs {tuple(self.obs_shape)}{dtype}, {self.action.describe()}"

    def to_json(self) -> dict[str, Any]:
        return {"obs_shape": list(self.obs_shape), "obs_dtype": self.obs_dtype,
                "action": self.action.to_json(),
                **({"obs_keys": [k.to_json() for k in self.keys]} if self.keys else {})}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> SpaceSpec:
        action = (ActionSpec.from_json(doc["action"]) if "action" in doc
                  else ActionSpec("discrete", int(doc["n_actions"])))  # students before 0.2
        return cls(tuple(doc["obs_shape"]), action, str(doc.get("obs_dtype", "float32")),
                   tuple(ObsKey.from_json(k) for k in doc.get("obs_keys", ())))


def dict_spec(keys: tuple[ObsKey, ...], action: ActionSpec) -> SpaceSpec:
    """The spec of a Dict observation space of ``keys``: one float vector of their sizes."""
    return SpaceSpec((sum(k.size for k in keys),), action, "float32", keys)


def split_keys(x: Any, keys: tuple[ObsKey, ...]) -> list[Any]:
    """A batch of flat observations (torch or numpy, (batch, size)) as one array per key, each
    (batch, *key.shape)."""
    out, at = [], 0
    for k in keys:
        out.append(x[:, at:at + k.size].reshape(-1, *k.shape))
        at += k.size
    return out


def flat_dim(shape: tuple[int, ...]) -> int:
    """The number of entries of an observation of ``shape``."""
    n = 1
    for d in shape:
        n *= d
    return n


def key_arrays(x: Any, keys: tuple[ObsKey, ...]) -> dict[str, Any]:
    """A numpy batch of flat observations as the env gives each key: {name: (batch,
    *env_shape)}, image keys as uint8 (the inputs of an exported student of a Dict space)."""
    return {k.name: (p.transpose(0, 2, 3, 1) if k.channels_last else p).astype(
        "uint8" if k.image else p.dtype, copy=False) for k, p in zip(keys, split_keys(x, keys))}
