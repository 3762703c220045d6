"""--budget auto: the budget parser, the stop rule on hand-made checks, a real CartPole run that
stops by itself (and stays stopped on --resume), the held-out round metrics, and the warning a
weak student gets."""

from __future__ import annotations

import math

import pytest

from rldistill import DistillConfig, run
from rldistill.core.config import AUTO_CAP, parse_budget
from rldistill.drivers.auto_budget import PATIENCE, decide
from rldistill.core.errors import UserError


def test_parse_budget():
    assert parse_budget("auto") == (AUTO_CAP, True)
    assert parse_budget("auto:5000") == (5000, True)
    assert parse_budget("12_000") == (12000, False)
    assert parse_budget(3000) == (3000, False)
    with pytest.raises(UserError, match="not a number, auto or auto:CAP"):
        parse_budget("lots")
    cfg = DistillConfig(teacher="zoo:x", env="CartPole-v1", budget="auto:7000")  # type: ignore
    assert cfg.budget == 7000 and cfg.auto_budget
    with pytest.raises(UserError, match="--budget auto stops"):
        DistillConfig(teacher_train="ppo", env="CartPole-v1", budget="auto").validate()  # type: ignore
    with pytest.raises(UserError, match="--driver teacher collects one"):
        DistillConfig(teacher="zoo:x", env="CartPole-v1", budget="auto",  # type: ignore
                      driver="teacher").validate()


def _checks(agreements, scores, step=1000):
    return [{"labelled": step * (i + 1), "fresh_agreement": a, "quick_score": s}
            for i, (a, s) in enumerate(zip(agreements, scores))]


def test_stop_rule_on_hand_made_checks():
    # the score reached 0.98 twice and the last two agreements are within 0.01 of the best
    # before them (0.90): stop
    assert decide(_checks([0.5, 0.9, 0.905, 0.91], [0.2, 0.5, 0.99, 0.985]), 0.98).startswith(
        "target")
    # the same scores, but the agreement still rises by more than 0.01: go on
    assert decide(_checks([0.5, 0.9, 0.93, 0.95], [0.2, 0.5, 0.99, 0.985]), 0.98) is None
    # agreement flat but the score reached the target only once: go on
    assert decide(_checks([0.5, 0.9, 0.9, 0.9], [0.2, 0.5, 0.7, 0.99]), 0.98) is None
    # agreement above 0.99 counts as flat even while rising
    assert decide(_checks([0.5, 0.97, 0.992, 0.999], [0.1, 0.9, 0.99, 1.0]), 0.98) is not None
    # an undefined score (teacher no better than random) leaves the agreement to decide
    assert decide(_checks([0.5, 0.9, 0.9, 0.9], [None] * 4), 0.98) is not None
    # too few checks to judge
    assert decide(_checks([0.99, 0.99], [1.0, 1.0]), 0.98) is None


def test_plateau_gives_up_only_past_three_plans():
    flat = [0.5, 0.8] + [0.85] * (PATIENCE + 1)
    low = [0.5] * len(flat)
    assert decide(_checks(flat, low, step=5000), 0.98).startswith("plateau")
    assert decide(_checks(flat, low, step=1000), 0.98) is None  # 7k < 3 x 10k planned


@pytest.mark.slow
def test_cartpole_stops_by_itself_and_stays_stopped(tmp_path):
    rounds = []
    cfg = DistillConfig(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", param_ratio=0.25,
                        budget="auto:20000", eval_episodes=20, out=str(tmp_path))  # type: ignore
    r = run(cfg, callbacks=(lambda loop, m: rounds.append(m),))
    auto = r["auto_budget"]
    assert auto["stopped"].startswith("target"), auto["stopped"]
    assert r["labelled_steps"] < 20000 and r["labelled_steps"] == auto["labelled_steps"]
    assert r["labelled_steps"] == 1000 * len(rounds)  # rounds of the 10k plan: 1000 each
    # it stopped on its quick evaluations; the final one (other episodes) only has to show a
    # student that learned (how well a small run trains moves with the CPU)
    assert len(auto["checks"]) == len(rounds) and r["normalized_score"] >= 0.5
    assert all(0.0 <= m.fresh_agreement <= 1.0 and math.isfinite(m.fresh_kl) for m in rounds)
    assert r["warnings"] == [] and r["driver"] == "mix"
    # resumed with the same cap, a run that stopped itself does not collect again
    again = run(cfg, resume=True)
    assert again["labelled_steps"] == r["labelled_steps"]
    assert again["normalized_score"] == r["normalized_score"]


def test_a_weak_student_gets_a_warning_that_says_what_helps(tmp_path):
    r = run(DistillConfig(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", student_hidden="2",
                          driver="student", budget=300, min_updates=20, eval_episodes=5,
                          out=str(tmp_path)))
    assert r["normalized_score"] < 0.9
    (w,) = r["warnings"]
    assert "--budget auto" in w and "--driver mix" in w and "CartPole-v1" in w
