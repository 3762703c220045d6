"""Schedules, written as text so that they fit a CLI flag or a YAML value.

beta (probability that the teacher acts, DAgger; :func:`parse_schedule`):

- ``constant:V``        V throughout
- ``linear:V0:V1``      from V0 at the start to V1 at the end of the budget
- ``exp:D``             D ** round (Ross et al. 2011: beta_i = p^(i-1), beta_0 = 1)

lambda (weight of the distillation term when kick-starting; :func:`parse_lambda`): see
:class:`LambdaSchedule`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rldistill.core.errors import UserError


@dataclass(frozen=True)
class Schedule:
    kind: str
    a: float
    b: float = 0.0

    def __call__(self, progress: float, round_index: int) -> float:
        """Value at ``progress`` in [0, 1] of the budget, during round ``round_index`` (from 0)."""
        if self.kind == "constant":
            return self.a
        if self.kind == "linear":
            return self.a + (self.b - self.a) * min(max(progress, 0.0), 1.0)
        return float(self.a**round_index)  # exp


def parse_schedule(text: str | float, name: str = "--beta") -> Schedule:
    """Parse ``constant:V``, ``linear:V0:V1``, ``exp:D`` or a bare number (constant)."""
    s = str(text).strip()
    parts = s.split(":")
    try:
        if len(parts) == 1:
            sched = Schedule("constant", float(parts[0]))
        elif parts[0] == "constant" and len(parts) == 2:
            sched = Schedule("constant", float(parts[1]))
        elif parts[0] == "linear" and len(parts) == 3:
            sched = Schedule("linear", float(parts[1]), float(parts[2]))
        elif parts[0] == "exp" and len(parts) == 2:
            sched = Schedule("exp", float(parts[1]))
        else:
            raise ValueError
    except ValueError:
        raise UserError(f"{name} {s!r} is not a schedule: write constant:V, linear:V0:V1 or "
                        "exp:D") from None
    if not all(0.0 <= v <= 1.0 for v in (sched.a, sched.b)):
        raise UserError(f"{name} {s!r} has a value outside [0, 1]: probabilities only")
    return sched


@dataclass(frozen=True)
class LambdaSchedule:
    """lambda as a function of env steps (and, for ``return-ratio``, of the recent returns).

    - ``constant:L``            L throughout
    - ``linear:L0:STEPS``       L0 at step 0, falling linearly to 0 at STEPS env steps, then 0
    - ``exp:L0:HALF_LIFE``      L0 * 0.5 ** (step / HALF_LIFE)
    - ``return-ratio[:CUTOFF[:FLOOR]]`` QDagger (Agarwal et al. 2022): max(1 - G_student /
      G_teacher, FLOOR), capped at 1, with the returns measured from the random policy's (so
      that negative returns work: on LunarLander random ~ -180); 1 before the first episode
      ends; 0 from CUTOFF env steps on (no cutoff when omitted or empty: ``return-ratio::0.1``).
    """

    kind: str
    a: float = 0.0
    b: float = 0.0  # linear: steps; exp: half-life; return-ratio: cutoff (inf for none)
    floor: float = 0.0  # return-ratio: lambda never below it (before the cutoff)

    def __call__(self, step: int, g_student: float | None = None, g_teacher: float | None = None,
                 g_random: float = 0.0) -> float:
        if self.kind == "constant":
            return self.a
        if self.kind == "linear":
            return self.a * max(0.0, 1.0 - step / self.b)
        if self.kind == "exp":
            return self.a * 0.5 ** (step / self.b)
        if step >= self.b:  # return-ratio
            return 0.0
        if g_student is None or g_teacher is None:
            return 1.0
        gap = g_teacher - g_random
        if gap <= 0:
            return self.floor
        return float(min(max(1.0 - (g_student - g_random) / gap, self.floor), 1.0))


def parse_lambda(text: str, name: str = "--lambda") -> LambdaSchedule:
    """Parse a ``--lambda`` schedule (see :class:`LambdaSchedule`); a bare number is constant."""
    s = str(text).strip()
    parts = s.split(":")
    try:
        if len(parts) == 1 and parts[0] != "return-ratio":
            sched = LambdaSchedule("constant", float(parts[0]))
        elif parts[0] == "constant" and len(parts) == 2:
            sched = LambdaSchedule("constant", float(parts[1]))
        elif parts[0] in ("linear", "exp") and len(parts) == 3:
            sched = LambdaSchedule(parts[0], float(parts[1]), float(parts[2]))
            if not sched.b > 0 or not math.isfinite(sched.b):
                raise UserError(f"{name} {s!r}: the step count / half-life must be a positive "
                                "number of env steps, e.g. linear:1:100000")
        elif parts[0] == "return-ratio" and len(parts) in (1, 2, 3):
            cutoff = float(parts[1]) if len(parts) >= 2 and parts[1] else math.inf
            floor = float(parts[2]) if len(parts) == 3 else 0.0
            if not cutoff > 0:
                raise UserError(f"{name} {s!r}: the cutoff must be a positive number of env "
                                "steps, e.g. return-ratio:200000")
            if not 0.0 <= floor <= 1.0:
                raise UserError(f"{name} {s!r}: the floor must be in [0, 1], e.g. "
                                "return-ratio::0.1")
            sched = LambdaSchedule("return-ratio", 1.0, cutoff, floor)
        else:
            raise ValueError
    except ValueError:
        raise UserError(f"{name} {s!r} is not a schedule: write constant:L, linear:L0:STEPS, "
                        "exp:L0:HALF_LIFE or return-ratio[:CUTOFF_STEPS[:FLOOR]]") from None
    if not (math.isfinite(sched.a) and sched.a >= 0):
        raise UserError(f"{name} {s!r} has a weight that is negative or not finite: lambda "
                        "must be >= 0")
    return sched
