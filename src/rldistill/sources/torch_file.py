"""Teachers that are not SB3 models: a TorchScript file (``torch.jit.save``) or a pickled torch
module (``torch.save(module)``), mapping a batch of observations to the outputs of
``--teacher-kind``:

- ``q`` / ``logits``: (batch, n_actions) for a Discrete env;
- ``gaussian``: [mean, log std] (batch, 2 x action dim), the mean in the env's units;
- ``squashed``: [mean, log std] before the tanh (SAC's convention);
- ``deterministic``: the action scaled to [-1, 1] (TD3's actor, ending in tanh).

Its spaces are the env's (``--env``), and its output width is checked against them. Both file
kinds hold code that runs when the teacher acts (TorchScript's program, or the module's classes
unpickled), so both need ``--trust-teacher``. A file of plain tensors (a CleanRL or rsl-rl
checkpoint) is read first as such, with neither flag (:mod:`rldistill.sources.frameworks`).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from rldistill.core.errors import UserError
from rldistill.sources.base import NetTeacher

SUFFIXES = (".pt", ".pth", ".ts", ".cleanrl_model")
KINDS = ("q", "logits", "gaussian", "squashed", "deterministic")


def load_torch_teacher(path: Path, kind: str | None, env_id: str | None,
                       trust: bool) -> NetTeacher:
    from rldistill.envs.make import env_spec
    from rldistill.heads import head_for
    from rldistill.sources.frameworks import load_state_teacher, read_state

    state = read_state(path) if path.is_file() else None
    if state is not None:  # tensors only (CleanRL, rsl-rl): nothing runs, the keys say what
        return load_state_teacher(path, state, env_id)
    if kind not in KINDS:
        raise UserError(f"teacher {path} is a torch file: pass --teacher-kind, one of "
                        f"{', '.join(KINDS)} (what its forward returns)")
    if not env_id:
        raise UserError(f"teacher {path} is a torch file, which names no env: pass --env ID")
    if not trust:
        raise UserError(f"teacher {path}: a torch file runs its own code when it acts "
                        "(TorchScript or pickled classes): pass --trust-teacher if you trust "
                        "its source")
    try:
        net: nn.Module = torch.jit.load(str(path), map_location="cpu")
    except RuntimeError:  # not TorchScript: a pickled module
        try:
            net = torch.load(str(path), map_location="cpu", weights_only=False)
        except Exception as e:  # noqa: BLE001 - a damaged or foreign file raises many types
            raise UserError(f"teacher {path} is neither TorchScript nor a pickled torch module "
                            f"({type(e).__name__}): save it with torch.jit.save or "
                            "torch.save(module)") from None
    if not isinstance(net, nn.Module):
        raise UserError(f"teacher {path} holds a {type(net).__name__}, not a torch module (a "
                        "state dict has no architecture): save the module, or TorchScript")
    spec = env_spec(env_id)
    if (kind in ("q", "logits")) != (spec.action.kind == "discrete"):
        raise UserError(f"--teacher-kind {kind} does not fit env {env_id}'s "
                        f"{spec.action.describe()}")
    width = head_for(spec.action, kind).target_shape()[0]
    try:
        with torch.inference_mode():
            out = net.eval()(torch.zeros(2, *spec.obs_shape))
    except Exception as e:  # noqa: BLE001 - the user's module raises what it raises
        raise UserError(f"teacher {path} cannot act on env {env_id}'s observations of shape "
                        f"{spec.obs_shape} ({type(e).__name__}): pass the env it was trained "
                        "on") from None
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, width):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise UserError(f"teacher {path} returns {got} for a batch of 2 observations of "
                        f"{env_id}; a {kind} teacher returns (2, {width})")
    return NetTeacher(name=path.name, kind=kind, spec=spec, net=net,
                      source={"file": str(path), "format": "torch"})
