"""Statistics over seeds (rliable), the per-round log (rounds.jsonl, TensorBoard) and the report."""

from __future__ import annotations

import json

import pytest

from rldistill.cli import main
from rldistill.engine.state import RoundMetrics
from rldistill.report.runlog import RoundLog, read_rounds
from rldistill.evaluation.stats import aggregate

pytest.importorskip("rliable")


def test_aggregate_gives_hand_computed_mean_and_iqm_with_cis():
    a = aggregate([[1.0], [2.0], [3.0], [4.0], [100.0], [200.0], [300.0], [400.0]], reps=500)
    assert a["mean"]["value"] == 126.25
    assert a["iqm"]["value"] == 76.75  # the middle half: (3 + 4 + 100 + 200) / 4
    for m in ("mean", "iqm"):
        lo, hi = a[m]["ci95"]
        assert lo <= a[m]["value"] <= hi and lo < hi
    assert aggregate([[1.0], [2.0], [5.0]], reps=500) == aggregate([[1.0], [2.0], [5.0]],
                                                                  reps=500)  # fixed seed
    flat = aggregate([[1.0, 3.0], [1.0, 3.0]], reps=500)  # over seeds and tasks
    assert flat["mean"]["value"] == 2.0 and (flat["runs"], flat["tasks"]) == (2, 2)


def test_a_resumed_run_rewrites_the_rounds_it_repeats(tmp_path):
    def m(r: int) -> RoundMetrics:
        return RoundMetrics(r, 100 * r, 10 * r, 1.0 / r, [1.0 / r], float(r), float("nan"), 0.1)

    log = RoundLog(tmp_path, tensorboard=False)
    for r in (1, 2, 3):
        log(None, m(r))
    again = RoundLog(tmp_path, tensorboard=False)  # resumed after round 1's checkpoint
    again(None, m(2))
    rows = read_rounds(tmp_path)
    assert [r["round"] for r in rows] == [1, 2] and rows[0]["fresh_agreement"] is None


def test_seeds_tensorboard_and_report(tmp_path, capsys):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    base = ["distill", "--teacher", "zoo:CartPole-v1-ppo", "--budget", "1000",
            "--eval-episodes", "3", "--param-ratio", "0.1", "--json"]
    assert main([*base, "--seeds", "2", "--out", str(tmp_path / "s")]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["seeds"] == [0, 1] and r["normalized_score"]["runs"] == 2
    iqm = r["normalized_score"]["iqm"]
    assert iqm["ci95"][0] <= iqm["value"] <= iqm["ci95"][1] and iqm["value"] > 0.8
    assert json.loads((tmp_path / "s" / "result.json").read_text())["seeds"] == [0, 1]
    # a seed's run is the run alone with that seed
    assert main([*base, "--seed", "1", "--out", str(tmp_path / "one")]) == 0
    capsys.readouterr()
    assert (tmp_path / "one" / "student.safetensors").read_bytes() == (
        tmp_path / "s" / "seed1" / "student.safetensors").read_bytes()
    # TensorBoard scalars, read back with tensorboard's own reader, match rounds.jsonl
    rounds = read_rounds(tmp_path / "one")
    ev = EventAccumulator(str(tmp_path / "one" / "tb"))
    ev.Reload()
    loss = ev.Scalars("distill/loss")
    assert [e.step for e in loss] == [r["env_steps"] for r in rounds]  # what a user pays for
    assert all(r["env_steps"] >= r["labelled"] and r["teacher_queries"] >= r["labelled"]
               for r in rounds)
    assert [e.value for e in loss] == pytest.approx([r["loss"] for r in rounds], rel=1e-4)
    assert "distill/fresh_agreement" in ev.Tags()["scalars"]
    # teacher and student side by side: a GIF per episode, from the same seed
    assert main(["evaluate", "--student", str(tmp_path / "one"), "--episodes", "2", "--video",
                 "1", "--json"]) == 0
    video = json.loads(capsys.readouterr().out)["videos"][0]
    from PIL import Image

    gif = Image.open(video["gif"])
    assert gif.n_frames > 10 and gif.size[0] == 2 * 300 + 6
    assert main(["evaluate", "--student", str(tmp_path / "one"), "--video", "1", "--variant",
                 "length=0.5"]) == 2  # one line: videos are of the env as it is
    assert "drop --variant" in capsys.readouterr().err
    # the report: one self-contained page (no network) and its Markdown
    out = tmp_path / "rep" / "report.html"
    notes = tmp_path / "VERDICTS.md"
    notes.write_text("# Verdicts\n\n| finding | verdict |\n|---|---|\n| a < b | holds |\n")
    assert main(["report", str(tmp_path / "one"), str(tmp_path / "s"), "--out", str(out),
                 "--notes", str(notes), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    page = out.read_text()
    assert page.count("data:image/png;base64,") == 2  # curves and frontier
    assert page.count("data:image/gif;base64,") == 1  # the video
    assert "http" not in page.replace("http-equiv", "") and "<script" not in page
    assert "IQM" in page and "seed1" not in rep["runs"]
    assert "<h2>Verdicts</h2><table><tr><th>finding</th><th>verdict</th></tr><tr><td>a &lt; b" \
        in page
    assert (tmp_path / "rep" / "report.md").read_text().count("| one | distill |") == 1
    assert main(["report", str(tmp_path), "--out", str(out)]) == 2  # no result.json there



def test_seeds_resume_reads_finished_seeds_back(tmp_path, capsys):
    args = ["distill", "--teacher", "zoo:CartPole-v1-ppo", "--env", "CartPole-v1",
            "--budget", "200", "--min-updates", "20", "--eval-episodes", "2", "--seeds", "2",
            "--out", str(tmp_path / "s"), "--json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    stamp = (tmp_path / "s" / "seed1" / "student.safetensors").stat().st_mtime_ns
    assert main([*args, "--resume"]) == 0  # the parent dir holds no checkpoint: each seed's
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["normalized_score"] == first["normalized_score"]
    assert (tmp_path / "s" / "seed1" / "student.safetensors").stat().st_mtime_ns == stamp


def test_curves_add_a_gradient_panel_where_the_rounds_give_norms(tmp_path):
    """Rounds with ``grad_norm_max`` (one of them "inf", as rounds.jsonl writes a non-finite
    norm) get a third panel with the clip; rounds logged before it keep two."""
    from PIL import Image

    from rldistill.report.html import Run, curves_png

    rounds = [{"labelled": 100 * (i + 1), "env_steps": 100 * (i + 1), "loss": 1.0 / (i + 1),
               "fresh_agreement": 0.5, "grad_norm_max": v} for i, v in enumerate([50.0, "inf",
                                                                                   3e4])]
    older = [{k: v for k, v in r.items() if k != "grad_norm_max"} for r in rounds]
    three = curves_png([Run("a", None, "distill", {"config": {"grad_clip": 100.0}}, [rounds])],
                       tmp_path / "three.png")
    two = curves_png([Run("b", None, "distill", {}, [older])], tmp_path / "two.png")
    # --grad-clip 0 measures no norm: rounds.jsonl writes null, and no panel is drawn
    off = [{**r, "grad_norm_max": None} for r in rounds]
    null = curves_png([Run("c", None, "distill", {"config": {"grad_clip": 0.0}}, [off])],
                      tmp_path / "null.png")
    # a run with norms beside one without: the panel, the other's line a gap
    mixed = curves_png([Run("a", None, "distill", {}, [rounds]),
                        Run("c", None, "distill", {}, [off])], tmp_path / "mixed.png")
    assert three and two and null and mixed
    width = {p: Image.open(p).size[0] for p in (three, two, null, mixed)}
    assert width[three] / width[two] == pytest.approx(13 / 9, rel=0.1), width
    assert width[null] == width[two] and width[mixed] == width[three]
