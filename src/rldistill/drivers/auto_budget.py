"""``--budget auto``: when a run has labelled enough steps.

After every round the loop knows how well the student acts as the teacher does on the round's
new states before it trained on them (``RoundMetrics.fresh_agreement``: held out, and for the
student driver these are the states the student itself visits). :class:`AutoStop` adds a quick
evaluation (10 episodes of the student, scored against the teacher and the random policy on
the same episode seeds, which the final evaluation does not use) and stops the run when

- the quick normalized score reached ``--target`` at two checks in a row, and
- the fresh agreement no longer rises (its last two values at most ``RISE`` above its best
  before them, or above 0.99);

or gives up when the fresh agreement has not risen for ``PATIENCE`` checks past three times the
planned budget (a noisy teacher whose quick score cannot show the target), or at the cap.
Checks come after every round while a round adds 10 % or more to the labelled steps, then
every few rounds, at least 10 % apart, so that they stay a small share of a long run. The
checks are deterministic and kept in the loop's notes, so a resumed run decides the same.
Quick evaluations step the env but label nothing: they cost no teacher queries of the buffer.
"""

from __future__ import annotations

import math
from typing import Any

from rldistill.engine.loop import AUTO_PLAN, Loop
from rldistill.engine.state import Hook
from rldistill.engine.state import RoundMetrics
from rldistill.evaluation import seeds
from rldistill.evaluation.rollouts import RandomActor, evaluate_policy, normalized_score

QUICK_EPISODES = 10
RISE = 0.01
SPACING = 1.1
PATIENCE = 5


def decide(checks: list[dict[str, Any]], target: float) -> str | None:
    """Why to stop after the last of ``checks`` (one per round: labelled, fresh_agreement,
    quick_score), or None to go on."""
    if len(checks) < 3:
        return None
    now = checks[-1]
    best = max(c["fresh_agreement"] for c in checks[:-2])
    flat = all(c["fresh_agreement"] <= best + RISE or c["fresh_agreement"] >= 0.99
               for c in checks[-2:])
    reached = all(c["quick_score"] is None or c["quick_score"] >= target for c in checks[-2:])
    if reached and flat:
        return (f"target: quick score >= {target} twice and agreement on new states no longer "
                f"rising ({now['fresh_agreement']:.3f}) at {now['labelled']} labelled steps")
    if (now["labelled"] >= 3 * AUTO_PLAN and len(checks) > PATIENCE
            and max(c["fresh_agreement"] for c in checks[-PATIENCE:])
            <= max(c["fresh_agreement"] for c in checks[:-PATIENCE]) + RISE):
        return (f"plateau: agreement on new states has not risen for {PATIENCE} checks "
                f"({now['fresh_agreement']:.3f}) and the quick score stays below {target}: "
                "the teacher may be noisy, or the student too small")
    return None


class AutoStop(Hook):
    """The hook of ``--budget auto``: after each round, a check (kept in the loop's notes)."""

    def __init__(self, loop: Loop) -> None:
        self.loop = loop
        self.state: dict[str, Any] = loop.notes.setdefault(
            "auto", {"checks": [], "reference": [], "stopped": None})

    def after_round(self, loop: Loop, m: RoundMetrics) -> None:
        """Check after a round's update; end the run (``loop.finish``) when it has enough."""
        state = self.state
        checks = state["checks"]
        # checks at least 10 % apart (their cost stays a small share of a long run); the last
        # round before the cap is always checked
        if not checks or loop.done or m.labelled >= SPACING * checks[-1]["labelled"]:
            checks.append({"round": m.round, "labelled": m.labelled,
                           "fresh_agreement": round(m.fresh_agreement, 4),
                           "fresh_kl": round(m.fresh_kl, 5), "quick_score": self._quick_score()})
            reason = decide(checks, loop.cfg.target)
            if reason:
                state["stopped"] = reason
                loop.finish()
                return
        if loop.done:
            last = checks[-1]["quick_score"]
            state["stopped"] = (f"cap: {loop.labelled} labelled steps (--budget "
                                f"auto:{loop.budget}) reached before the stop rule held (last "
                                f"quick score {last}, agreement on new states still rising)")

    def _quick_score(self) -> float | None:
        """The worst task's normalized score over ``QUICK_EPISODES`` episodes."""
        loop, seed = self.loop, seeds.per_round(self.loop.cfg.seed)
        if not self.state["reference"]:
            for task in loop.tasks:
                t = evaluate_policy(task.teacher, task.env, QUICK_EPISODES, seed).mean
                r = evaluate_policy(RandomActor(task.head, seed), task.env, QUICK_EPISODES,
                                    seed).mean
                self.state["reference"].append([round(t, 4), round(r, 4)])
        scores = []
        for i, (task, (t, r)) in enumerate(zip(loop.tasks, self.state["reference"])):
            s = evaluate_policy(loop.student.for_task(i), task.env, QUICK_EPISODES, seed).mean
            scores.append(normalized_score(s, t, r))
        known = [s for s in scores if s is not None and math.isfinite(s)]
        return round(min(known), 4) if known else None
