"""RL Zoo's YAML files (``config.yml``, ``args.yml``, ``env_kwargs.yml``) and other runs'
configs (Isaac Lab's ``params/agent.yaml``) read as plain data: a loader that knows plain types,
``!!python/object/apply:collections.OrderedDict`` and ``!!python/tuple`` only; any other tag is
a one-line error and nothing is constructed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rldistill.core.errors import UserError


class _ZooLoader(yaml.SafeLoader):
    """Plain YAML plus the two Python tags RL Zoo writes (an OrderedDict, a tuple)."""


def _ordered_dict(loader: yaml.SafeLoader, node: yaml.Node) -> dict[Any, Any]:
    if not isinstance(node, yaml.SequenceNode):
        raise yaml.constructor.ConstructorError(None, None, "an OrderedDict given other than "
                                                "as a list of pairs", node.start_mark)
    args = loader.construct_sequence(node, deep=True)
    pairs = args[0] if args else []
    if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        raise yaml.constructor.ConstructorError(None, None, "an OrderedDict entry that is not "
                                                "a [key, value] pair", node.start_mark)
    return {k: v for k, v in pairs}


_ZooLoader.add_constructor("tag:yaml.org,2002:python/object/apply:collections.OrderedDict",
                           _ordered_dict)
_ZooLoader.add_constructor("tag:yaml.org,2002:python/tuple",
                           lambda loader, node: tuple(loader.construct_sequence(node, deep=True)))


def read_zoo_yaml(path: Path) -> dict[str, Any]:
    """An RL Zoo ``config.yml`` / ``args.yml`` / ``env_kwargs.yml`` as a dict, read without
    constructing any Python object but an OrderedDict or a tuple."""
    try:
        doc = yaml.load(path.read_text(), Loader=_ZooLoader)  # noqa: S506 - restricted loader
    except yaml.YAMLError as e:
        what = str(e).splitlines()[0] if str(e) else type(e).__name__
        tag = getattr(e, "problem", "") or what
        raise UserError(f"{path} is not a plain RL Zoo YAML file ({tag}); rldistill reads plain "
                        "values and OrderedDicts only, so that nothing in it runs: fix or "
                        "remove the file") from None
    except OSError as e:
        raise UserError(f"{path} cannot be read ({e.strerror}): check the file") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise UserError(f"{path} holds {type(doc).__name__}, not a mapping of names to values: "
                        "pass the file RL Zoo wrote")
    return doc
