"""What a policy needs to know of an env: the observation's shape and dtype, and the action space.

:class:`ActionSpec` is the one description of an action space; everything that depends on it
lives in its action head (:mod:`rldistill.heads`).
"""

from __future__ import annotations

from dataclasses import dataclass
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
class SpaceSpec:
    """Observation shape and dtype, and the action space. ``SpaceSpec((8,), 4)`` is shorthand
    for 4 discrete actions."""

    obs_shape: tuple[int, ...]
    action: ActionSpec
    obs_dtype: str = "float32"

    def __post_init__(self) -> None:
        object.__setattr__(self, "obs_shape", tuple(int(d) for d in self.obs_shape))
        if isinstance(self.action, int):
            object.__setattr__(self, "action", ActionSpec("discrete", int(self.action)))

    def describe(self) -> str:
        dtype = "" if self.obs_dtype == "float32" else f" {self.obs_dtype}"
        return f"obs {tuple(self.obs_shape)}{dtype}, {self.action.describe()}"

    def to_json(self) -> dict[str, Any]:
        return {"obs_shape": list(self.obs_shape), "obs_dtype": self.obs_dtype,
                "action": self.action.to_json()}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> SpaceSpec:
        action = (ActionSpec.from_json(doc["action"]) if "action" in doc
                  else ActionSpec("discrete", int(doc["n_actions"])))  # students before 0.2
        return cls(tuple(doc["obs_shape"]), action, str(doc.get("obs_dtype", "float32")))


def flat_dim(shape: tuple[int, ...]) -> int:
    """The number of entries of an observation of ``shape``."""
    n = 1
    for d in shape:
        n *= d
    return n
