"""Sweeps and compress on Ray (issue 15): a sweep's trials are the runs alone, the results
table, the sweep file's errors, a missing Ray, compress's pool of workers and its search on a
fake scorer."""

import json
import sys
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from rldistill.api import run
from rldistill.cli import main
from rldistill.core.config import DistillConfig
from rldistill.core.errors import UserError
from rldistill.scale import table
from rldistill.core.ray import ray_session
from rldistill.scale.trials import Trial, TrialPool, held_by_other, run_trials
from rldistill.scale.compress import search_width
from rldistill.scale.sweep import load_sweep, run_sweep
from rldistill.evaluation.stats import aggregate
from rldistill.students.network import load_student

# one pytest-xdist worker runs every test that starts a Ray (the README's test command: -n)
pytestmark = pytest.mark.xdist_group("ray")

BASE = "base:\n  teacher: zoo:CartPole-v1-ppo\n  env: CartPole-v1\n  budget: 400\n" \
       "  eval_episodes: 5\n"


def _sweep_file(tmp_path, text):
    p = tmp_path / "sweep.yaml"
    p.write_text(text)
    return p


@pytest.mark.slow
def test_sweep_trials_are_the_runs_alone(tmp_path):
    pytest.importorskip("ray")
    path = _sweep_file(tmp_path, BASE + "grid:\n  student_hidden: ['8']\n  seed: [0, 1]\n")

    def alone(seed):
        return run(DistillConfig(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", budget=400,
                                 eval_episodes=5, student_hidden="8", seed=seed,
                                 out=str(tmp_path / "alone" / f"student_hidden=8_seed={seed}")))

    with ThreadPoolExecutor(1) as pool, ray_session(None, 2) as ray:  # the runs alone while
        alones = pool.map(alone, [0, 1])  # Ray starts (it mostly waits); the sweep's Ray is this
        s = run_sweep(path, tmp_path / "sw", max_concurrent=2)
        alones = list(alones)
        # compress's pool of workers: the same runs, the second call on the first one's worker
        workers = TrialPool(ray, 2)
        pooled = [Trial(f"p{seed}", DistillConfig(
            teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", budget=400, eval_episodes=5,
            student_hidden="8", seed=seed, out=str(tmp_path / "pool" / f"p{seed}")))
            for seed in (0, 1)]
        by_pool = [workers.run(pooled[:1])["p0"], workers.run(pooled[1:])["p1"]]
        workers.close()
    assert [r["normalized_score"] for r in by_pool] == [a["normalized_score"] for a in alones]
    assert len({(Path(t.cfg.out) / "worker.pid").read_text() for t in pooled}) == 1
    assert [t["status"] for t in s["trials"]] == ["done", "done"]
    assert [t["name"] for t in s["trials"]] == ["student_hidden=8_seed=0",
                                                "student_hidden=8_seed=1"]
    scores = []
    for t, alone in zip(s["trials"], alones):
        swept = json.loads((tmp_path / "sw" / "trials" / t["name"] / "result.json").read_text())
        for key in ("normalized_score", "agreement", "kl_to_teacher", "updates", "final_loss",
                    "student", "teacher", "random"):
            assert swept[key] == alone[key], key
        a, _ = load_student(tmp_path / "sw" / "trials" / t["name"])
        b, _ = load_student(tmp_path / "alone" / t["name"])
        for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(va, vb), k
        rounds = (tmp_path / "sw" / "trials" / t["name"] / "rounds.jsonl").read_text()
        assert len(rounds.splitlines()) == 10  # every round went through the callbacks
        scores.append(alone["normalized_score"])
    (row,) = s["table"]  # one configuration, two seeds
    agg = aggregate([[x] for x in scores])["mean"]
    assert row["student_hidden"] == "8" and row["seeds"] == 2 and row["params"] == 58
    assert (row["score_mean"], [row["score_ci_low"], row["score_ci_high"]]) == (
        agg["value"], agg["ci95"])
    trials = [Trial(t["name"], DistillConfig(
        teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", budget=400, eval_episodes=5,
        student_hidden="8", seed=t["overrides"]["seed"], out=t["dir"])) for t in s["trials"]]
    again = run_trials(trials, tmp_path / "sw", "again")  # finished: read back, Ray not asked
    assert [again[t.name]["normalized_score"] for t in trials] == scores
    other = trials[0].cfg.replace(lr=0.01)
    assert held_by_other(Path(other.out), other) and not held_by_other(Path(other.out),
                                                                         trials[0].cfg)
    md = (tmp_path / "sw" / "results.md").read_text()
    assert "| 8 | 2 | 58 |" in md
    assert (tmp_path / "sw" / "results.csv").read_text().startswith("student_hidden,seeds,")


def test_sweep_file_grid_random_and_seeds(tmp_path):
    path = _sweep_file(tmp_path, BASE + "grid:\n  student_hidden: ['8', '16,16']\n"
                                        "random:\n  samples: 2\n  seed: 3\n  space:\n"
                                        "    lr: {loguniform: [0.0001, 0.01]}\n"
                                        "    loss: [kl, ce]\nseeds: 2\n")
    base, trials, failures = load_sweep(path)
    assert base["budget"] == 400 and failures == 3 and len(trials) == 2 * 2 * 2
    names = [n for n, _ in trials]
    assert names[0].startswith("r0_") and names[-1].startswith("r1_")
    assert names[0].endswith("student_hidden=8_seed=0") and "16-16" in names[2]
    assert all(list(o)[-1] == "seed" for _, o in trials)
    assert all(1e-4 <= o["lr"] <= 1e-2 and o["loss"] in ("kl", "ce") for _, o in trials)
    assert load_sweep(path)[1] == trials  # the draws are the same every time


@pytest.mark.parametrize("text, match", [
    ("bsae: {}\n", "unknown key 'bsae'; known keys: base, grid"),
    (BASE + "  studnet_hidden: '8'\n", "base: unknown key 'studnet_hidden'"),
    (BASE + "grid:\n  los: [kl]\n", "grid: unknown key 'los'"),
    (BASE + "grid:\n  loss: kl\n", "grid loss should be a non-empty list"),
    (BASE + "grid:\n  budget: [ten]\n", "budget"),
    (BASE + "grid:\n  lr: [fast]\n", "lr should be float"),
    (BASE + "random:\n  samples: 2\n  space:\n    lr: {normal: [0, 1]}\n", "random lr should"),
    (BASE + "grid:\n  lr: [0.1]\nrandom:\n  space:\n    lr: [0.2]\n", "in grid and in random"),
    (BASE + "  out: runs/x\n", "drop 'out'"),
    (BASE + "seeds: 0\n", "seeds should be a count"),
    ("[1, 2]\n", "must hold a mapping"),
])
def test_sweep_file_errors_are_one_line(tmp_path, text, match):
    with pytest.raises(UserError, match=match) as e:
        load_sweep(_sweep_file(tmp_path, text))
    assert "\n" not in str(e.value)


def test_missing_ray_is_one_line_naming_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    path = _sweep_file(tmp_path, BASE)
    with pytest.raises(UserError, match=r"pip install 'rldistill\[ray\]'"):
        run_sweep(path, tmp_path / "sw")
    assert main(["sweep", str(path), "--out", str(tmp_path / "sw")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "rldistill[ray]" in err
    assert main(["compress", "--teacher", "zoo:CartPole-v1-ppo", "--env", "CartPole-v1",
                 "--out", str(tmp_path / "c")]) == 2
    assert "rldistill[ray]" in capsys.readouterr().err


def test_unreachable_address_says_how_to_start_a_cluster_that_it_reaches(tmp_path, capsys):
    """Nothing listens at --address: one line at once (Ray would retry for minutes) with the
    `ray start` that makes a loopback head this address reaches (followed as written, a sweep
    joins it: benchmarks/scale/README.md)."""
    pytest.importorskip("ray")
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    path = _sweep_file(tmp_path, BASE)
    assert main(["sweep", str(path), "--out", str(tmp_path / "sw"), "--address",
                 f"127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "nothing answers there" in err
    assert (f"`RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 ray start --head --node-ip-address=127.0.0.1 "
            f"--port={port}`") in err
    from rldistill.core.ray import start_command

    assert start_command("10.0.0.5", "6379") == ("`ray start --head --node-ip-address=10.0.0.5 "
                                                 "--port=6379` on 10.0.0.5")


def test_compress_refuses_a_given_size(tmp_path, capsys):
    assert main(["compress", "--teacher", "zoo:CartPole-v1-ppo", "--env", "CartPole-v1",
                 "--student-hidden", "8", "--out", str(tmp_path / "c")]) == 2
    assert "drop --student-hidden" in capsys.readouterr().err


def test_results_table_per_configuration():
    def result(score, agreement, params):
        return {"normalized_score": score, "agreement": agreement, "student": {"params": params},
                "param_ratio": params / 1000, "wall_s": 1.0}

    trials = [{"name": f"{h}-{s}", "overrides": {"student_hidden": h, "loss": "kl", "seed": s},
               "result": result(sc, 0.9, p)}
              for h, p, s, sc in [("8", 58, 0, 0.8), ("8", 58, 1, 0.9), ("16", 114, 0, 1.0),
                                  ("16", 114, 1, 0.98)]]
    trials.append({"name": "16-2", "overrides": {"student_hidden": "16", "loss": "kl",
                                                 "seed": 2}, "result": "failed: boom"})
    rows = table.config_rows(trials)
    assert [r["student_hidden"] for r in rows] == ["16", "8"]  # best mean first
    agg = aggregate([[1.0], [0.98]])["mean"]
    assert rows[0]["score_mean"] == agg["value"] == 0.99
    assert [rows[0]["score_ci_low"], rows[0]["score_ci_high"]] == agg["ci95"]
    assert rows[0]["seeds"] == 2 and rows[0]["failed"] == 1 and rows[0]["params"] == 114
    assert "| 16 | kl | 2 (1 failed) | 114 | 0.990 [0.980, 1.000] |" in table.markdown(rows)
    series = table.size_series(rows)
    assert list(series) == ["loss=kl"] and sorted(p[0] for p in series["loss=kl"]) == [58, 114]


def _fake(threshold, calls):
    def probe(widths):
        calls.append(list(widths))
        return {w: w >= threshold for w in widths}
    return probe


@pytest.mark.parametrize("threshold", [1, 2, 3, 5, 7, 11, 16, 33, 50, 64])
@pytest.mark.parametrize("parallel", [1, 3])
def test_search_finds_the_smallest_passing_width(threshold, parallel):
    calls = []
    best, order = search_width(_fake(threshold, calls), w_max=64, parallel=parallel, tol=0.0)
    assert best == threshold
    assert sorted(order) == sorted(set(order)) and all(len(c) <= parallel for c in calls)
    assert len(order) <= 2 * 7  # bracket and bisect: logarithmic in the width
    if parallel == 1:
        assert order[:2] == [4, 8] or best <= 4


def test_search_tolerance_none_passing_and_the_cap():
    calls = []
    best, order = search_width(_fake(40, calls), w_max=64)  # 10 %: stop within 4 of 40
    assert 40 <= best <= 44 and order[:4] == [4, 8, 16, 32]
    best, order = search_width(_fake(100, []), w_max=50)
    assert best is None and order == [4, 8, 16, 32, 50]  # the last rung capped at the teacher
    best, _ = search_width(_fake(1, []), w_max=3)
    assert best == 1
