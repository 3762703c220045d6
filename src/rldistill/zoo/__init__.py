"""The zoo: small teachers trained by ``rldistill teacher train``, shipped with the package.

Each ``NAME.zip`` has a ``NAME.json`` beside it with the exact command that made it and its
measured return (mean and 95 % CI over 100 episodes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rldistill.core.errors import UserError

ZOO_DIR = Path(__file__).parent


def zoo_entries() -> list[dict[str, Any]]:
    """The zoo's records, one per shipped teacher, sorted by name."""
    out = []
    for meta in sorted(ZOO_DIR.glob("*.json")):
        if meta.with_suffix(".zip").exists():
            record = json.loads(meta.read_text())
            record["name"] = meta.stem
            out.append(record)
    return sorted(out, key=lambda r: r["name"])


def zoo_path(name: str) -> Path:
    path = ZOO_DIR / f"{name}.zip"
    if not path.exists():
        names = ", ".join(e["name"] for e in zoo_entries())
        raise UserError(f"no zoo teacher named {name!r}: choose one of {names}")
    return path
