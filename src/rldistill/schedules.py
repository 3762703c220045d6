"""Schedules for beta (probability that the teacher acts, DAgger) and, later, lambda.

Written as text so that they fit a CLI flag or a YAML value:

- ``constant:V``        V throughout
- ``linear:V0:V1``      from V0 at the start to V1 at the end of the budget
- ``exp:D``             D ** round (Ross et al. 2011: beta_i = p^(i-1), beta_0 = 1)
"""

from __future__ import annotations

from dataclasses import dataclass

from rldistill.errors import UserError


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
