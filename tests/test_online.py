"""Online distillation: the teacher learns with SB3 while the student distils from it."""

import json

import pytest

from rldistill.cli import main
from rldistill.sources import load_teacher


@pytest.mark.slow
def test_online_cartpole_student_follows_teacher(tmp_path, capsys):
    args = ["distill", "--teacher-train", "ppo", "--env", "CartPole-v1", "--teacher-steps",
            "30000", "--rounds", "5", "--param-ratio", "0.25", "--budget", "5000",
            "--eval-episodes", "20", "--out", str(tmp_path), "--json"]
    assert main(args) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    steps = [c["teacher_steps"] for c in r["curves"]]
    assert len(steps) == 5 and steps == sorted(steps) and steps[-1] >= 30000 - 6000
    assert [c["labelled_steps"] for c in r["curves"]] == [1000, 2000, 3000, 4000, 5000]
    # How well SB3's PPO trains in 30k steps is not ours to assert: it changes with the CPU's
    # float kernels (500 with ATEN_CPU_CAPABILITY=default, 137 with avx2 on one Xeon). Asserted:
    # the teacher learned (measured 239-500 over seeds 0-4 and both kernel sets, random ~20),
    # and the student follows the teacher it actually had (normalized 0.94-1.11, agreement
    # 0.79-1.0 there).
    assert r["teacher"]["return_mean"] >= 3 * r["random"]["return_mean"]
    assert r["normalized_score"] >= 0.5 and r["agreement"] >= 0.6
    assert r["teacher"]["params"] == 4610  # the acting path of the PPO [64, 64] policy only
    assert (tmp_path / "curves.png").stat().st_size > 1000
    from rldistill.report.runlog import read_rounds  # the engine's per-round log, as offline runs

    assert [x["labelled"] for x in read_rounds(tmp_path)] == [1000, 2000, 3000, 4000, 5000]
    assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "tb").iterdir())
    assert load_teacher(r["teacher_zip"]).params == 4610  # the trained teacher, safe loader


def test_online_refuses_a_teacher_too(tmp_path, capsys):
    assert main(["distill", "--teacher-train", "ppo", "--teacher", "zoo:CartPole-v1-ppo",
                 "--env", "CartPole-v1", "--out", str(tmp_path)]) == 2
    assert "drop --teacher" in capsys.readouterr().err


def test_online_teacher_on_vecnormalize_acts_through_its_live_statistics(tmp_path, capsys):
    """The zoo's HalfCheetah PPO trains on VecNormalize: the live teacher normalises with its
    current statistics, the saved teacher carries them (RL Zoo's layout), evaluate uses them."""
    args = ["distill", "--teacher-train", "ppo", "--env", "HalfCheetah-v5", "--teacher-steps",
            "1100", "--rounds", "2", "--budget", "400", "--student-hidden", "16",
            "--min-updates", "4", "--eval-episodes", "1", "--out", str(tmp_path), "--json"]
    assert main(args) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (tmp_path / "teacher_sb3" / "vecnormalize.pkl").exists()
    teacher = load_teacher(r["teacher_zip"])
    assert teacher.obs_norm is not None and teacher.kind == "gaussian"
    assert main(["evaluate", "--student", str(tmp_path), "--episodes", "1", "--json"]) == 0
    ev = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert ev["teacher"]["return_mean"] == r["teacher"]["return_mean"]
