"""End to end through ``rldistill.cli.main``: compress (on a local Ray), demo, zoo list,
--train-variant, evaluate --variant, --explore and --env-wrapper. Budgets are tiny: the tests
check what the commands guarantee (files, counts, identities, that an option changes what it
says), not how well a student learns."""

import functools
import json
import shutil
from pathlib import Path

import gymnasium as gym
import pytest
import torch

from rldistill.cli import main
from rldistill.engine.checkpoint import CKPT_NAME, load_checkpoint, read_chunk
from rldistill.students.network import load_student

CP = ["--teacher", "zoo:CartPole-v1-ppo", "--env", "CartPole-v1"]
TINY = ["--budget", "400", "--min-updates", "20", "--student-hidden", "8", "--eval-episodes", "2"]


def _json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _distill(capsys, out, *extra):
    assert main(["distill", *CP, *TINY, *extra, "--out", str(out), "--json"]) == 0
    return _json(capsys)


def _actions(out):
    """The env actions of the whole run, from its checkpoint's chunks (rows: steps)."""
    state = load_checkpoint(Path(out) / CKPT_NAME)[1]
    return torch.cat([read_chunk(Path(out), c)["actions"] for c in state["tasks"][0]["chunks"]])


def _same_weights(a, b):
    sa, sb = load_student(a)[0].state_dict(), load_student(b)[0].state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# ------------------------------------------------------------------------------------ compress

def _tiny_teacher(path):
    """A 4-2-2 ReLU PPO actor (16 acting params) set by hand to balance CartPole (return 500):
    with --depth 1 the widest student no larger than it has width 2, so that the search
    probes width 2, then 1 (two Tune calls)."""
    from stable_baselines3 import PPO

    model = PPO("MlpPolicy", "CartPole-v1", seed=0, verbose=0, n_steps=64,
                policy_kwargs={"net_arch": dict(pi=[2], vf=[2]), "activation_fn": torch.nn.ReLU})
    f = torch.tensor([0.1, 0.5, 10.0, 2.0])  # push right when the pole leans / falls right
    with torch.no_grad():
        first = model.policy.mlp_extractor.policy_net[0]
        first.weight.copy_(torch.stack([f, -f]))
        first.bias.zero_()
        model.policy.action_net.weight.copy_(torch.tensor([[0.0, 5.0], [5.0, 0.0]]))
        model.policy.action_net.bias.zero_()
    model.save(path)
    return path


@pytest.mark.slow
@pytest.mark.xdist_group("ray")  # with the other tests that start a Ray, on one xdist worker
def test_compress_picks_the_smallest_passing_width_it_tried(tmp_path, capsys):
    pytest.importorskip("ray")
    teacher = _tiny_teacher(tmp_path / "t.zip")
    out = tmp_path / "c"
    # budget and updates at which width 2 (the teacher's own shape) scored 1.0 on seeds 0-3
    assert main(["compress", "--teacher", str(teacher), "--env", "CartPole-v1", "--depth", "1",
                 "--seeds", "1", "--budget", "1000", "--min-updates", "1000",
                 "--eval-episodes", "5", "--target", "0.5", "--max-concurrent", "2",
                 "--out", str(out), "--json"]) == 0
    doc = _json(capsys)
    assert doc == json.loads((out / "frontier.json").read_text())
    assert (doc["max_width"], doc["depth"], doc["seeds"], doc["target"]) == (2, 1, 1, 0.5)
    assert doc["teacher"]["params"] == 16
    assert doc["probed"] == [2, 1] and doc["trials"] == 2  # the bracket's cap, then bisection
    front = doc["frontier"]
    assert [f["width"] for f in front] == [1, 2]
    assert [f["params"] for f in front] == [4 * 1 + 1 + 1 * 2 + 2, 4 * 2 + 2 + 2 * 2 + 2]
    for f in front:  # each size: its seed run and its aggregate
        assert f["hidden"] == [f["width"]] and len(f["seed_scores"]) == 1
        assert f["passes"] == (f["normalized_score"]["mean"]["ci95"][0] >= 0.5)
        size = json.loads((Path(f["dir"]) / "result.json").read_text())
        assert size["student_params"] == f["params"] and size["seeds"] == [0]
        seed_run = json.loads((Path(f["dir"]) / "seed0" / "result.json").read_text())
        assert seed_run["student"]["hidden"] == [f["width"]]
        assert seed_run["normalized_score"] == f["seed_scores"][0]
    passing = [f["width"] for f in front if f["passes"]]
    assert passing, f"width 2 (the teacher's shape) should pass: {front}"
    winner = doc["winner"]
    assert winner["width"] == min(passing) and winner == next(
        f for f in front if f["width"] == min(passing))
    # OUT holds the winner (its best seed) as distill writes it, with the compress block
    result = json.loads((out / "result.json").read_text())
    src = Path(result["compress"]["from"])
    assert src == out.resolve() / "sizes" / f"w{winner['width']}" / "seed0"
    assert result["compress"]["winner"] == winner and result["compress"]["probed"] == [2, 1]
    for name in ("student.safetensors", "student.json"):
        assert (out / name).read_bytes() == (src / name).read_bytes()
    student, meta = load_student(out)
    assert list(student.arch.hidden) == [winner["width"]] and student.params == winner["params"]
    assert meta["config"]["student_hidden"] == str(winner["width"])
    assert (out / "frontier.png").exists() == (doc["frontier_png"] is not None)


# ---------------------------------------------------------------------------------------- demo

def test_demo_distils_three_students_and_prints_them(tmp_path, capsys, monkeypatch):
    """The real command path at a tiny budget. run_demo's budget and episodes are defaults of
    the function, bound when it was defined (patching DEMO_BUDGET would change nothing), so
    the command gets run_demo with them given; a Q-value teacher's update floor (16 000) comes
    from DistillConfig."""
    import rldistill.demo as demo
    from rldistill.core.config import DistillConfig

    budget, episodes = 300, 2
    monkeypatch.setattr(demo, "run_demo", functools.partial(demo.run_demo, budget=budget,
                                                            episodes=episodes))
    monkeypatch.setattr(demo, "DistillConfig", functools.partial(DistillConfig, min_updates=20))
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    results = json.loads((out / "demo.json").read_text())
    assert len(results) == 3
    for ratio, r in zip(demo.DEMO_RATIOS, results):
        run_dir = out / f"ratio-{ratio:g}"
        assert json.loads((run_dir / "result.json").read_text()) == r
        assert (run_dir / "student.safetensors").exists()
        c = r["config"]
        assert (c["teacher"], c["env"], c["param_ratio"], c["loss"], c["driver"]) == (
            demo.DEMO_TEACHER, demo.DEMO_ENV, ratio, "kl", "mix")
        assert (c["budget"], c["eval_episodes"], r["labelled_steps"]) == (budget, episodes,
                                                                           budget)
        assert r["param_ratio"] <= ratio and r["student"]["params"] == load_student(
            run_dir)[0].params
        # one teacher, scored once (the demo's cache) and shown on every row
        assert (r["teacher"], r["random"]) == (results[0]["teacher"], results[0]["random"])
        assert f"{r['student']['hidden']}" in table and str(r["student"]["params"]) in table
        assert f"{100 * r['param_ratio']:.1f}" in table
    sizes = [r["student"]["params"] for r in results]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 3
    assert results[0]["teacher"]["kind"] == "q" and "random" in table
    title = " ".join(table.split())  # the title may wrap
    assert f"{budget} labelled steps" in title and f"{demo.DEMO_ENV}: {demo.DEMO_TEACHER}" in title

    assert main(["demo", "--out", str(out), "--json"]) == 0  # replaces the runs
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1  # the table stays quiet: one JSON line
    doc = json.loads(lines[0])
    again = json.loads((out / "demo.json").read_text())
    assert doc["teacher"] == again[0]["teacher"]
    assert doc["demo"] == [{k: r[k] for k in ("student", "normalized_score", "agreement",
                                              "param_ratio", "wall_s")} for r in again]


# ------------------------------------------------------------------------------------ zoo list

def test_zoo_list_names_every_shipped_teacher_with_its_return(capsys):
    import rldistill.zoo

    zoo_dir = Path(rldistill.zoo.__file__).parent
    shipped = sorted(p.stem for p in zoo_dir.glob("*.zip") if p.with_suffix(".json").exists())
    assert len(shipped) >= 10 and "CartPole-v1-ppo" in shipped
    assert main(["zoo", "list", "--json"]) == 0
    entries = _json(capsys)
    assert sorted(e["name"] for e in entries) == shipped  # each once
    for e in entries:
        record = json.loads((zoo_dir / f"{e['name']}.json").read_text())
        assert e == {**record, "name": e["name"]}
        assert isinstance(e["return_mean"], float) and len(e["return_ci95"]) == 2
    assert main(["zoo", "list"]) == 0
    text = capsys.readouterr().out
    for e in entries:
        lo, hi = e["return_ci95"]
        assert e["name"] in text and f"{e['return_mean']:.1f} ± {(hi - lo) / 2:.1f}" in text


# --------------------------------------------------------------------- variants: train, evaluate

def test_train_variant_reaches_the_training_envs_and_only_them(tmp_path, capsys, monkeypatch):
    import rldistill.engine.loop as loop_mod

    made, make = [], loop_mod.make_vec_env

    def spy(*args, **kw):
        made.append(make(*args, **kw))
        return made[-1]

    monkeypatch.setattr(loop_mod, "make_vec_env", spy)
    args = ["--n-envs", "4", "--driver", "student"]
    varied = _distill(capsys, tmp_path / "v", *args, "--train-variant", "length=0.25,2.0")
    plain = _distill(capsys, tmp_path / "p", *args)
    (v_env, p_env) = made
    assert [e.unwrapped.length for e in v_env.envs] == [0.25, 2.0, 0.25, 2.0]  # env i: i mod n
    assert [e.unwrapped.polemass_length for e in v_env.envs] == pytest.approx([0.025, 0.2] * 2)
    assert [e.unwrapped.length for e in p_env.envs] == [0.5] * 4
    assert varied["config"]["train_variant"] == "length=0.25,2.0"
    assert plain["config"]["train_variant"] is None
    assert load_student(tmp_path / "v")[1]["config"]["train_variant"] == "length=0.25,2.0"
    # other states were labelled; the final evaluation is on the env as it is, for both
    assert not torch.equal(_actions(tmp_path / "v"), _actions(tmp_path / "p"))
    assert varied["teacher"] == plain["teacher"] and varied["random"] == plain["random"]
    # the variants are part of the run: --resume with others is refused
    assert main(["distill", "--out", str(tmp_path / "v"), "--resume", "--budget", "800",
                 "--train-variant", "length=1.0"]) == 2
    assert "train_variant" in capsys.readouterr().err


def test_evaluate_variant_prints_one_row_per_value_and_default(tmp_path, capsys):
    out = tmp_path / "run"
    run = _distill(capsys, out)
    assert main(["evaluate", "--student", str(out), "--episodes", "2", "--json"]) == 0
    plain = _json(capsys)
    assert plain["student"]["return_mean"] == run["student"]["return_mean"]
    variants = ["--variant", "length=0.25,0.5", "--variant", "x_threshold=0"]
    assert main(["evaluate", "--student", str(out), "--episodes", "2", *variants,
                 "--json"]) == 0
    doc = _json(capsys)
    rows = doc["variants"]
    assert doc["env"] == "CartPole-v1"
    assert [(r["param"], r["value"]) for r in rows] == [
        ("default", None), ("length", 0.25), ("length", 0.5), ("x_threshold", 0.0)]
    default, _, half, edge = rows
    # the default row is the plain evaluation's (same episode seeds)
    assert (default["student"], default["teacher"], default["agreement"]) == (
        plain["student"]["return_mean"], plain["teacher"]["return_mean"], plain["agreement"])
    assert half == default | {"param": "length", "value": 0.5}  # 0.5 is CartPole's own length
    # with the cart's bound at 0 every episode ends at its first step, whoever acts
    assert (edge["teacher"], edge["student"], edge["random"]) == (1.0, 1.0, 1.0)
    assert edge["normalized_score"] is None
    assert main(["evaluate", "--student", str(out), "--episodes", "2", *variants]) == 0
    text = capsys.readouterr().out
    assert "robustness on CartPole-v1 (2 episodes per cell)" in text
    for word in ("default", "length", "0.25", "x_threshold"):
        assert word in text


# -------------------------------------------------------------------------------------- explore

def test_explore_samples_the_students_actions_only_where_it_drives(tmp_path, capsys):
    greedy = _distill(capsys, tmp_path / "g", "--driver", "student")
    explore = _distill(capsys, tmp_path / "e", "--driver", "student", "--explore")
    assert (greedy["config"]["explore"], explore["config"]["explore"]) == (False, True)
    assert load_student(tmp_path / "e")[1]["config"]["explore"] is True
    # the same seed, envs and initial student: only the sampled actions differ, and with them
    # the states labelled and the student trained on them
    a, b = _actions(tmp_path / "g"), _actions(tmp_path / "e")
    assert a.shape == b.shape and not torch.equal(a, b)
    assert not _same_weights(tmp_path / "g", tmp_path / "e")
    # where the teacher drives the student never acts: --explore changes nothing
    _distill(capsys, tmp_path / "tg", "--driver", "teacher")
    _distill(capsys, tmp_path / "te", "--driver", "teacher", "--explore")
    assert torch.equal(_actions(tmp_path / "tg"), _actions(tmp_path / "te"))
    assert _same_weights(tmp_path / "tg", tmp_path / "te")


# --------------------------------------------------------------------------------- env wrapper

def test_env_wrapper_is_recorded_and_rebuilt_by_evaluate(tmp_path, capsys, monkeypatch):
    built = []

    class Counted(gym.wrappers.FlattenObservation):  # the same wrapper, counted
        def __init__(self, env):
            built.append(self)
            super().__init__(env)

    monkeypatch.setattr(gym.wrappers, "FlattenObservation", Counted)
    out = tmp_path / "w"
    run = _distill(capsys, out, "--env-wrapper", "FlattenObservation")
    assert len(built) >= 2  # the training envs and the evaluation's
    _, meta = load_student(out)
    assert meta["env_recipe"]["wrappers"] == [["FlattenObservation", {}]]
    assert meta["config"]["env_wrapper"] == run["config"]["env_wrapper"] == "FlattenObservation"
    built.clear()
    assert main(["evaluate", "--student", str(out), "--episodes", "2", "--json"]) == 0
    ev = _json(capsys)
    assert built, "evaluate did not rebuild the wrapper from student.json"
    # the same episodes as the run's own final evaluation (seed + 1 000 000)
    for who in ("student", "teacher", "random"):
        assert ev[who]["return_mean"] == run[who]["return_mean"], who
    assert ev["agreement"] == run["agreement"]
    # without the recipe in student.json evaluate builds the bare env
    bare = tmp_path / "bare"
    shutil.copytree(out, bare)
    doc = json.loads((bare / "student.json").read_text())
    del doc["env_recipe"]
    (bare / "student.json").write_text(json.dumps(doc))
    built.clear()
    assert main(["evaluate", "--student", str(bare), "--episodes", "2", "--json"]) == 0
    assert built == [] and _json(capsys)["student"]["return_mean"] == run["student"][
        "return_mean"]


def test_env_wrapper_keywords_reach_the_wrapper(tmp_path, capsys):
    """--env-wrapper NAME:KEY=VALUE: TimeLimit cuts every episode (training and evaluation) at
    its max_episode_steps; without its keyword, one line saying how to give it."""
    out = tmp_path / "t"
    run = _distill(capsys, out, "--env-wrapper", "TimeLimit:max_episode_steps=20")
    assert load_student(out)[1]["env_recipe"]["wrappers"] == [
        ["TimeLimit", {"max_episode_steps": 20}]]
    for who in ("student", "teacher"):  # the zoo teacher balances for 500 steps unwrapped
        assert run[who]["length_mean"] == 20 and run[who]["return_mean"] == 20.0, who
    assert main(["distill", *CP, *TINY, "--env-wrapper", "TimeLimit", "--out",
                 str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--env-wrapper TimeLimit:KEY=VALUE" in err
