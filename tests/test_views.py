"""Student views (the teacher sees the full observation, the student a view of it) and recurrent
students: the views' values, the sequence windows, both views through buffer and checkpoint, and
CartPole without velocities learnt by a GRU where an MLP cannot."""

import json

import numpy as np
import pytest
import torch

from rldistill.api import run
from rldistill.core.config import DistillConfig
from rldistill.engine.buffer import Buffer
from rldistill.envs.recipe import EnvRecipe
from rldistill.envs.make import make_env, make_vec_env, teacher_env
from rldistill.core.errors import UserError
from rldistill.students.memory import Cell, sequence_windows, unroll
from rldistill.envs.views import parse_view


def _recipe(view: str) -> EnvRecipe:
    return EnvRecipe("CartPole-v1", view=parse_view(view))


def test_views_show_the_student_what_they_say():
    env = make_env(_recipe("drop:velocities"))
    obs, _ = env.reset(seed=3)
    full = env.teacher_obs
    assert full.shape == (4,) and obs.shape == (2,)
    np.testing.assert_array_equal(obs, full[[0, 2]])
    obs, *_ = env.step(0)
    np.testing.assert_array_equal(obs, env.teacher_obs[[0, 2]])
    assert make_env(_recipe("drop:1,3")).observation_space.shape == (2,)

    delayed = make_env(_recipe("delay:2"))
    seen, truth = [delayed.reset(seed=0)[0]], [delayed.teacher_obs.copy()]
    for _ in range(3):
        seen.append(delayed.step(1)[0])
        truth.append(delayed.teacher_obs.copy())
    for t, s in enumerate(seen):  # the observation of 2 steps before, the first one until then
        np.testing.assert_array_equal(s, truth[max(0, t - 2)])

    noisy = make_env(_recipe("noise:0.5"))
    a = [noisy.reset(seed=7)[0] - noisy.teacher_obs for _ in range(2)]
    np.testing.assert_array_equal(a[0], a[1])  # seeded by the reset seed
    diffs = np.stack([noisy.step(0)[0] - noisy.teacher_obs for _ in range(400)])
    assert 0.45 < diffs.std() < 0.55 and abs(diffs.mean()) < 0.05


def test_pixels_view_and_teacher_env():
    recipe = _recipe("pixels:32+stack:2").evolve(kwargs={"render_mode": "rgb_array"})
    env = make_env(recipe)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (2, 32, 32) and obs.dtype == np.uint8
    assert not obs[0].any() and obs[1].any()  # zeros before the first frame; objects bright
    assert env.teacher_obs.shape == (4,)
    assert teacher_env(recipe) == "CartPole-v1" and not teacher_env(recipe).view
    assert EnvRecipe.from_json(recipe.to_json(), "x").view == recipe.view


@pytest.mark.parametrize("text, fix", [("blur:3", "unknown view"), ("drop:7", "outside"),
                                       ("drop:0,1,2,3", "at most 3"), ("noise:x", "number"),
                                       ("drop:speed", "velocities")])
def test_bad_views_are_one_line_errors(text, fix):
    with pytest.raises(UserError, match=fix):
        make_env(_recipe(text))


def test_custom_view_by_python_path():
    env = make_env(_recipe("gymnasium.wrappers:FlattenObservation"))
    assert env.reset(seed=0)[0].shape == (4,)
    with pytest.raises(UserError, match="ObservationWrapper"):
        make_env(_recipe("gymnasium.wrappers:TimeLimit"))


def test_batch_env_keeps_both_views():
    venv = make_vec_env(_recipe("drop:velocities"), 3, seed=0)
    obs, *_ = venv.step(np.array([0, 1, 0]))
    assert obs.shape == (3, 2) and venv.teacher_obs.shape == (3, 4)
    np.testing.assert_array_equal(obs, venv.teacher_obs[:, [0, 2]])


def test_unroll_resets_the_state_where_told():
    torch.manual_seed(0)
    cell = Cell("lstm", 3, 4)
    x = torch.randn(6, 2, 3)
    resets = torch.zeros(6, 2, dtype=torch.bool)
    resets[3, 1] = True
    out = unroll(cell, x, resets, burn_in=2)
    assert out.shape == (4, 2, 4)
    state = torch.zeros(1, 8)  # env 1 by hand: zero state again at step 3
    for t in range(6):
        state = state * 0 if t == 3 else state
        h, state = cell(x[t, 1:], state)
        if t >= 2:
            torch.testing.assert_close(out[t - 2, 1], h[0])


def test_sequence_windows_follow_each_env_in_time():
    # rows in arrival order: envs 0,1 alternate; env 1's row 5 starts an episode
    env = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])
    cut = torch.zeros(8, dtype=torch.bool)
    cut[5] = True
    rows, resets = sequence_windows(env, cut, length=2, burn_in=1,
                                    gen=torch.Generator().manual_seed(0))
    # stream: env 0 rows 0,2,4,6 then env 1 rows 1,3,5,7 (cuts at 0, at env 1's first, at 5)
    stream = [0, 2, 4, 6, 1, 3, 5, 7]
    covered = set()
    for w, r in zip(rows.tolist(), resets.tolist()):
        pos = [stream.index(i) for i in w]
        assert pos[1:] == list(range(pos[1], pos[1] + 2))  # consecutive in the stream
        for p, i, flag in zip(pos[1:], w[1:], r[1:]):
            assert flag == (i in (0, 1, 5))
        covered.update(w[1:])
    assert covered == set(range(8))


def test_buffer_holds_both_views_and_cuts_through_a_checkpoint():
    buf = Buffer(8, (2,), torch.float32, (2,), teacher_obs=((4,), torch.float32), sequences=True)
    obs, tobs = torch.randn(5, 2), torch.randn(5, 4)
    cut = torch.tensor([1, 0, 0, 1, 0], dtype=torch.bool)
    buf.add(obs, torch.zeros(5, 2), torch.zeros(5, dtype=torch.bool), None, tobs=tobs, cut=cut)
    again = Buffer(8, (2,), torch.float32, (2,), teacher_obs=((4,), torch.float32),
                   sequences=True)
    again.load_rows(buf.rows_since(0))
    torch.testing.assert_close(again.teacher_observations(slice(0, 5)), tobs)
    torch.testing.assert_close(again.observations(slice(0, 5)), obs)
    assert again.cut[:5].tolist() == cut.tolist()


CARTPOLE = dict(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", student_obs="drop:velocities",
                eval_episodes=20)


@pytest.mark.slow
def test_gru_learns_cartpole_without_velocities_where_an_mlp_cannot(tmp_path):
    gru = run(DistillConfig(**CARTPOLE, budget=12000, student_arch="gru:32", min_updates=1500,
                            out=str(tmp_path / "gru")))
    mlp = gru["baseline_mlp"]  # the same run with an MLP of about its size, on the same view
    assert abs(mlp["student"]["params"] / gru["student"]["params"] - 1) < 0.1
    assert mlp["normalized_score"] < 0.3
    assert gru["normalized_score"] > 0.6  # well above the MLP's; how well moves with the CPU
    assert gru["teacher"]["return_mean"] == 500.0  # the teacher scored on its own view
    meta = json.loads((tmp_path / "gru" / "student.json").read_text())
    assert meta["arch"]["cell"] == "gru" and meta["env_recipe"]["view"] == [["drop",
                                                                             "velocities"]]
    from rldistill.deploy.onnx import export_onnx
    from rldistill.deploy.runtime import Policy

    report = export_onnx(tmp_path / "gru", tmp_path / "gru.onnx", check_rows=256)
    assert report["state_size"] == 32 and report["max_abs_diff"] < 1e-4
    policy = Policy(tmp_path / "gru.onnx")  # torch-free, state carried between calls
    env = policy.make_env()
    obs, _ = env.reset(seed=5)
    total, done = 0.0, False
    while not done:
        obs, r, term, trunc, _ = env.step(policy.act(obs))
        total, done = total + r, term or trunc
    assert total >= 400


def test_sequence_options_tell_runs_apart_only_for_recurrent_students():
    """The one "same run?" rule: a run saved with another --bptt (an older default) is the same
    run for an MLP student, another one for a recurrent student."""
    from rldistill.core.config import changed_options

    saved = {**DistillConfig(teacher="t", env="CartPole-v1").to_dict(), "bptt": 16}
    assert changed_options(saved, DistillConfig(teacher="t", env="CartPole-v1")) == []
    gru = DistillConfig(teacher="t", env="CartPole-v1", student_arch="gru:8")
    assert changed_options({**saved, "student_arch": "gru:8"}, gru) == ["bptt"]
