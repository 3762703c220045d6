"""SavedRun: one reading of a run directory for evaluate, export, bench-latency and report."""

import json
import shutil
from pathlib import Path

import pytest

from rldistill.core.errors import UserError
from rldistill.core.spaces import SpaceSpec
from rldistill.students.network import build_student, save_student
from rldistill.students.saved import ONLINE_TEACHER, SavedRun

ZOO = Path(__file__).resolve().parents[1] / "src/rldistill/zoo"


def _run(d, meta, specs=SpaceSpec((4,), 2)):
    save_student(build_student(specs, (8,)), d, meta)
    return d


def test_a_run_names_its_teachers_as_it_was_distilled(tmp_path):
    one = SavedRun(_run(tmp_path / "one", {"env": "CartPole-v1",
                                          "config": {"teacher": "zoo:CartPole-v1-ppo"}}))
    assert one.teacher_specs() == ("zoo:CartPole-v1-ppo",)
    assert one.teacher_specs(given="zoo:CartPole-v1-dqn") == ("zoo:CartPole-v1-dqn",)
    assert one.env() == "CartPole-v1" and one.task_of("CartPole-v1") == 0
    ens = SavedRun(_run(tmp_path / "ens", {"env": "CartPole-v1", "config": {
        "teacher": ["zoo:CartPole-v1-ppo", "zoo:CartPole-v1-dqn"]}}))
    assert ens.teacher_specs() == ("zoo:CartPole-v1-ppo", "zoo:CartPole-v1-dqn")
    bare = SavedRun(_run(tmp_path / "bare", {"env": "CartPole-v1"}))
    assert bare.teacher_specs() == () and bare.config == {}
    shutil.copy(ZOO / "CartPole-v1-ppo.zip", tmp_path / "bare" / ONLINE_TEACHER)
    assert bare.teacher_specs() == (str(tmp_path / "bare" / ONLINE_TEACHER),)  # online run


def test_a_multitask_run_picks_the_task_of_an_env(tmp_path):
    tasks = [{"env": "CartPole-v1", "teacher": {"name": "a"}},
             {"env": "Acrobot-v1", "teacher": {"name": "b"}}]
    run = SavedRun(_run(tmp_path / "mt", {
        "env": ["CartPole-v1", "Acrobot-v1"], "tasks": tasks,
        "config": {"teacher": ["zoo:CartPole-v1-ppo", "zoo:Acrobot-v1-ppo"]}},
        [SpaceSpec((4,), 2), SpaceSpec((6,), 3)]))
    assert run.multitask and run.task_of("Acrobot-v1") == 1
    assert run.teacher_specs(1) == ("zoo:Acrobot-v1-ppo",) and run.task(1)["teacher"] == {
        "name": "b"}
    with pytest.raises(UserError, match="trained on CartPole-v1, Acrobot-v1, not Pendulum-v1"):
        run.task_of("Pendulum-v1")
    with pytest.raises(UserError, match="--task 2 is out of range"):
        run.check_task(2)


def test_a_student_file_opens_its_run_and_the_student_loads_when_asked(tmp_path):
    d = _run(tmp_path / "run", {"env": "CartPole-v1"})
    (d / "result.json").write_text(json.dumps({"env": "CartPole-v1"}))
    for path in (d, d / "student.json", d / "student.safetensors", d / "student"):
        run = SavedRun(path)
        assert run.dir == d and run.videos == d / "videos" and run.result() == {
            "env": "CartPole-v1"}
        assert run.student.params == 4 * 8 + 8 + 8 * 2 + 2
    parent = tmp_path / "seeds"  # a --seeds run: a result, no student of its own
    parent.mkdir()
    (parent / "result.json").write_text("{}")
    run = SavedRun(parent)
    assert run.result() == {} and SavedRun(tmp_path / "nothing").result() is None
    with pytest.raises(UserError, match="no student at"):
        run.student


def test_the_teacher_loads_with_the_runs_own_options(tmp_path):
    run = SavedRun(_run(tmp_path / "run", {"env": "CartPole-v1", "config": {
        "teacher": "zoo:CartPole-v1-ppo", "teacher_normalize": str(tmp_path / "missing.pkl")}}))
    with pytest.raises(UserError, match="missing.pkl does not exist"):  # the run's option
        run.load_teacher(run.teacher_specs(), "CartPole-v1")
    given = run.load_teacher(("zoo:CartPole-v1-ppo",), "CartPole-v1", given=True)
    assert given.name == "zoo:CartPole-v1-ppo" and given.spec.obs_shape == (4,)
