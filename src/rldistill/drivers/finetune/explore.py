"""Whether a discrete student explores under PPO / A2C: the entropy floor's temperature at the
start (``--entropy-floor``), and the advice where fine-tuning left a near-deterministic student
where it started (benchmarks/finetune/README.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

# the median state's entropy under this share of ln(n): a copy of a near-deterministic teacher
# (measured: MinAtar Breakout's students 0.012, CartPole PPO's 0.068, Acrobot PPO's 0.000;
# the LunarLander students 0.61-0.98)
NEAR_DETERMINISTIC = 0.1
MOVED = 0.05  # a best evaluation this far above the start: RL moved the student


def start_entropy(head: Any, student: Any, run_dir: Path, share: float) -> tuple[float,
                                                                                 float | None]:
    """(the temperature that raises the student's mean entropy to ``share`` of ln(n), 1 where it
    has that much or ``share`` is 0; its median state's entropy share), on up to 4 096 states of
    its distillation run; (1, None) where the run kept none."""
    from rldistill.engine.checkpoint import buffer_obs

    states = buffer_obs(run_dir, 0, 4096)
    if states is None:
        return 1.0, None
    with torch.no_grad():
        logits = student(states, 0)
    temperature = head.floor_temperature(logits, share) if share else 1.0
    return temperature, round(float(head.entropy_share(logits).median()), 4)


def advice(result: dict[str, Any], entropy_floor: float) -> list[str]:
    """What a user should hear where PPO left a near-deterministic student at its start."""
    median = result.get("start_entropy_share")
    if median is None or median >= NEAR_DETERMINISTIC or entropy_floor:
        return []
    start = result["start_normalized_score"]
    best = max(p["normalized_score"] for p in result["curve"])
    if best > start + MOVED:
        return []
    return [f"the student stayed where it started ({start}, best evaluation {best}): it is "
            f"near-deterministic (median state's entropy {median:.3f} of ln n), so "
            f"{result['algo'].upper()} barely explores it. If its teacher is weak, "
            "--entropy-floor 0.9 lets it explore (MinAtar Breakout's full-size student: "
            "1.38-1.89 of the teacher against 1.00; a 10 % one moved neither way); a strong "
            "teacher's student can lose its policy that way (CartPole PPO's fell to 0.34 of its "
            "start): benchmarks/finetune/README.md"]
