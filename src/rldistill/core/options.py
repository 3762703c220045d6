"""The options of a config dataclass as the CLI and YAML files see them: their types, their
help (each field's docstring), a YAML file's values checked against them; the texts of
``--budget`` and ``--student-arch`` read, and the rules a value must pass, each as one line that
names the option (:meth:`rldistill.core.config.DistillConfig.validate` uses them)."""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rldistill.core.errors import UserError


def option_types(cls: type) -> dict[str, tuple[type, bool, bool]]:
    """Each field of a config dataclass -> (scalar type, may be None, may repeat), read from
    its annotations (``int | None``, ``str | tuple[str, ...]``): the CLI and YAML use these."""
    out = {}
    for name, hint in typing.get_type_hints(cls).items():
        args = typing.get_args(hint) or (hint,)
        optional = type(None) in args
        repeat = any(typing.get_origin(a) is tuple for a in args)
        scalar = next(a for a in args if a is not type(None) and typing.get_origin(a) is not tuple)
        out[name] = (scalar, optional, repeat)
    return out


def field_help(cls: type) -> dict[str, str]:
    """Field name -> its docstring, read from the class's source (for --help)."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body  # type: ignore[attr-defined]
    out: dict[str, str] = {}
    for a, b in zip(body, body[1:]):
        if isinstance(a, ast.AnnAssign) and isinstance(b, ast.Expr):
            out[a.target.id] = str(b.value.value)  # type: ignore[attr-defined,union-attr]
    return out


def load_yaml(path: str | Path, cls: type) -> dict[str, Any]:
    """Read a YAML config of ``cls`` (DistillConfig, KickstartConfig); unknown keys and wrong
    types are errors (one line, the fix named)."""
    return check_options(yaml_mapping(path), cls, f"config file {path}")


def yaml_mapping(path: str | Path, what: str = "config file",
                 holds: str = "a mapping of option: value") -> dict[Any, Any]:
    """The mapping a YAML file holds; a missing file, bad YAML or another type is a one-line
    :class:`UserError` naming ``what`` the file is and what it must hold."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{what} {p} does not exist")
    try:
        doc = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise UserError(f"{what} {p} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise UserError(f"{what} {p} must hold {holds}")
    return doc


def check_options(doc: dict[Any, Any], cls: type, where: str) -> dict[str, Any]:
    """``doc`` (option: value, keys with - or _) checked against the fields of ``cls`` and
    coerced to their types; an unknown key or a wrong type is a one-line error naming ``where``
    (a config file, a sweep's section)."""
    doc = {str(k).replace("-", "_"): v for k, v in doc.items()}
    types = option_types(cls)
    for key, value in doc.items():
        if key not in types:
            raise UserError(f"{where}: unknown key {key!r}; known keys: "
                            f"{', '.join(sorted(types))}")
        doc[key] = _coerce(key, value, types[key], where)
    return doc


def _coerce(key: str, value: Any, typ: tuple[type, bool, bool], path: Path | str) -> Any:
    scalar, optional, repeat = typ
    if value is None and optional:
        return None
    if repeat and isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    if key == "student_hidden" and isinstance(value, list):
        return ",".join(str(v) for v in value)
    if key == "budget" and isinstance(value, str):
        parse_budget(value)  # auto / auto:CAP (DistillConfig reads it), else a one-line error
        return value
    if scalar is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, scalar) and not (scalar is int and isinstance(value, bool)):
        return value
    raise UserError(f"{path}: {key} should be {scalar.__name__}, got {value!r}")


AUTO_CAP = 100_000  # --budget auto's labelled steps at most


def parse_budget(text: str | int) -> tuple[int, bool]:
    """``--budget``: N, ``auto`` or ``auto:CAP`` -> (budget or cap, auto)."""
    value = str(text).strip().lower()
    auto = value == "auto" or value.startswith("auto:")
    number = value[5:] if value.startswith("auto:") else value
    try:
        return (AUTO_CAP if value == "auto" else int(number.replace("_", ""))), auto
    except ValueError:
        raise UserError(f"--budget {text!r} is not a number, auto or auto:CAP (e.g. "
                        "--budget 10000, --budget auto:50000)") from None


CELL_KINDS = ("gru", "lstm")  # recurrent students' --student-arch


@dataclass(frozen=True)
class ArchSpec:
    """A ``--student-arch``: a recurrent cell (``kind`` gru or lstm, ``units``), or a CNN (``kind``
    cnn: convolutions of ``channels``, each with its (kernel, stride) in ``kernels`` or, where
    that is None, by frame size, then dense layers ``dense``)."""

    kind: str
    units: int = 0
    channels: tuple[int, ...] = ()
    dense: tuple[int, ...] = ()
    kernels: tuple[tuple[int, int] | None, ...] = ()

    @property
    def recurrent(self) -> bool:
        return self.kind in CELL_KINDS


def parse_arch(text: str) -> ArchSpec:
    """``--student-arch``: ``gru:64``, ``lstm:64`` or ``cnn:16,32:256`` (a layer ``CxKxS`` for
    its kernel and stride: ``cnn:16x8x8,32x4x2:128``), else a one-line error with an example."""
    kind, _, rest = str(text).partition(":")
    if kind in CELL_KINDS:
        if not rest.isdigit() or int(rest) < 1:
            raise UserError(f"--student-arch {text}: write {kind}:UNITS, e.g. {kind}:64")
        return ArchSpec(kind, units=int(rest))
    parts = str(text).split(":")
    try:
        if parts[0] != "cnn" or len(parts) != 3:
            raise ValueError
        layers = [tuple(int(v) for v in c.split("x")) for c in parts[1].split(",") if c]
        if any(len(x) not in (1, 3) for x in layers):
            raise ValueError
        channels = tuple(x[0] for x in layers)
        kernels = tuple((x[1], x[2]) if len(x) == 3 else None for x in layers)
        dense = tuple(int(d) for d in parts[2].split(",") if d)
        if not channels or min(v for x in layers for v in x) <= 0 or min(dense or (1,)) <= 0:
            raise ValueError
    except ValueError:
        raise UserError(f"--student-arch {text!r} is not cnn:CHANNELS:DENSE, e.g. cnn:16,32:256 "
                        "(CxKxS for a layer's kernel and stride: cnn:16x8x8,32x4x2:128; for an "
                        "MLP student use --student-hidden)") from None
    return ArchSpec("cnn", channels=channels, dense=dense,
                    kernels=kernels if any(kernels) else ())


def flag(name: str) -> str:
    """A field's name as its flag: ``batch_size`` -> ``--batch-size``."""
    return f"--{name.replace('_', '-')}"


def one_of(option: str, value: str, choices: tuple[str, ...], where: str = "") -> None:
    """``value`` is one of ``choices``, else "unknown OPTION VALUE: choose one of ..."."""
    if value not in choices:
        raise UserError(f"unknown {option} {value!r}{where}: choose one of {', '.join(choices)}")


RULES: dict[str, Callable[[Any], bool]] = {  # what "--NAME must be RULE" means
    "positive": lambda v: v > 0, "> 0": lambda v: v > 0, ">= 0": lambda v: v >= 0,
    "in [0, 1]": lambda v: 0 <= v <= 1}


def require(cfg: Any, names: tuple[str, ...], rule: str) -> None:
    """Each option of ``names`` that is set passes ``rule`` (one of :data:`RULES`), else
    "--NAME must be RULE, got VALUE"."""
    for name in names:
        value = getattr(cfg, name)
        if value is not None and not RULES[rule](value):
            raise UserError(f"{flag(name)} must be {rule}, got {value}")


def parse_hidden(text: str | list[int] | tuple[int, ...]) -> tuple[int, ...]:
    """'32,32' -> (32, 32); '' or 'none' -> () (a linear student)."""
    if isinstance(text, (list, tuple)):
        sizes = tuple(int(x) for x in text)
    else:
        parts = [p for p in str(text).replace(" ", "").split(",") if p and p.lower() != "none"]
        try:
            sizes = tuple(int(p) for p in parts)
        except ValueError:
            raise UserError(f"--student-hidden {text!r} is not a comma-separated list of layer "
                            "widths: write e.g. 32,32") from None
    if any(s <= 0 for s in sizes):
        raise UserError(f"--student-hidden {text!r} has a width <= 0: widths must be positive")
    return sizes
