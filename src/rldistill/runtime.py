"""``rldistill.runtime``: the torch-free ONNX runtime, kept importable at its first address; it
lives in :mod:`rldistill.deploy.runtime`."""

from rldistill.deploy.runtime import Policy, session

__all__ = ["Policy", "session"]
