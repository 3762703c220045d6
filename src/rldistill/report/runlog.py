"""Every round of a run, written as it ends: ``DIR/rounds.jsonl`` (one JSON line per round: the
learning curves a report draws) and TensorBoard scalars in ``DIR/tb/`` (against labelled steps),
through the loop's per-round callback. A resumed run rewrites the rounds it repeats."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rldistill.engine.state import RoundMetrics

ROUNDS = "rounds.jsonl"
TB_DIR = "tb"


class RoundLog:
    """A loop callback: ``RoundLog(out)(loop, metrics)`` after each round."""

    def __init__(self, out: Path, tensorboard: bool = True) -> None:
        self.path = Path(out) / ROUNDS
        self.tb_dir = Path(out) / TB_DIR if tensorboard else None
        self.writer: Any = None
        self.started = False

    def __call__(self, loop: Any, m: RoundMetrics) -> None:
        row = round_row(m)
        if not self.started:  # a resumed run: drop the rounds it is about to repeat
            self.started = True
            kept = [line for line in _lines(self.path) if json.loads(line)["round"] < m.round]
            self.path.write_text("".join(line + "\n" for line in kept))
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        self._tensorboard(row)

    def _tensorboard(self, row: dict[str, Any]) -> None:
        if self.tb_dir is None:
            return
        if self.writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is a dependency; a trimmed install skips it
                self.tb_dir = None
                return
            self.writer = SummaryWriter(str(self.tb_dir))
        step = row["env_steps"] or row["labelled"]  # what a user pays for
        for key in ("loss", "fresh_agreement", "fresh_kl", "updates", "wall_s",
                    "grad_norm_max", "clipped"):
            if isinstance(row.get(key), (int, float)):
                self.writer.add_scalar(f"distill/{key}", row[key], step)
        for name, value in row["terms"].items():  # the loss's named terms, per task
            self.writer.add_scalar(f"distill/{name}", value, step)
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def round_row(m: RoundMetrics) -> dict[str, Any]:
    """A round's metrics as JSON (NaN, where a round measured nothing, as null)."""
    def num(x: float) -> float | None:
        return None if math.isnan(x) else round(float(x), 6)

    return {"round": m.round, "labelled": m.labelled, "updates": m.updates, "loss": num(m.loss),
            "task_losses": [num(x) for x in m.task_losses], "wall_s": round(m.wall_s, 3),
            "fresh_agreement": num(m.fresh_agreement), "fresh_kl": num(m.fresh_kl),
            "terms": {k: num(v) for k, v in m.terms.items()}, "env_steps": m.env_steps,
            "teacher_queries": m.teacher_queries,  # a non-finite norm: "inf" (strict JSON)
            "grad_norm_max": num(m.grad_norm_max) if not math.isinf(m.grad_norm_max) else "inf",
            "clipped": m.clipped}


def read_rounds(run_dir: Path) -> list[dict[str, Any]]:
    """A run's rounds (none where it logged none)."""
    return [json.loads(line) for line in _lines(Path(run_dir) / ROUNDS)]


def _lines(path: Path) -> list[str]:
    return [x for x in path.read_text().splitlines() if x.strip()] if path.exists() else []
