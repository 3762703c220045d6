"""The library API and CLI behave as a user expects: no silent overwrite, resume from the
checkpoint's own config, budget extension, SIGINT anywhere, readable files, clear notes."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from torch import nn

import rldistill
from rldistill import DistillConfig, Interrupted, UserError
from rldistill.cli import main
from rldistill.engine.checkpoint import CHUNK_DIR, CKPT_NAME, load_checkpoint, read_chunk
from rldistill.core.machine import cpu_info, machine
from rldistill.core.spaces import SpaceSpec
from rldistill.sources import NetTeacher

CP = dict(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1")


def _last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_api_refuses_to_overwrite_a_run(tmp_path):
    cfg = DistillConfig(**CP, budget=80, eval_episodes=1, out=str(tmp_path))
    rldistill.run(cfg)
    with pytest.raises(UserError, match="already holds a run.*--overwrite"):
        rldistill.run(cfg)
    assert rldistill.run(cfg, overwrite=True)["labelled_steps"] == 80


def test_resume_alone_extends_a_finished_run(tmp_path, capsys):
    out = str(tmp_path / "r")
    assert main(["distill", "--teacher", CP["teacher"], "--env", CP["env"], "--budget", "400",
                 "--rounds", "4", "--min-updates", "40", "--eval-episodes", "2", "--out", out,
                 "--json"]) == 0
    first = _last_json(capsys)
    # no flag repeated but the larger budget: four more rounds of 100 on the same run
    assert main(["distill", "--out", out, "--resume", "--budget", "800", "--json"]) == 0
    r = _last_json(capsys)
    assert r["labelled_steps"] == 800 and r["config"]["teacher"] == CP["teacher"]
    # per round max(floor 10, 4 epochs x ceil(rows / batch 256)): 4 x 10, then rows 500..800
    assert (first["updates"], r["updates"]) == (40, 40 + 10 + 12 + 12 + 16)
    state = load_checkpoint(tmp_path / "r" / CKPT_NAME)[1]
    assert state["round"] == 8 and state["budget"] == 800
    # the checkpoint is incremental: one chunk per round, each with that round's 100 rows
    chunks = state["tasks"][0]["chunks"]
    assert [read_chunk(tmp_path / "r", c)["obs"].shape[0] for c in chunks] == [100] * 8
    assert main(["distill", "--out", out, "--resume", "--lr", "0.1"]) == 2
    assert "other options (--lr 0.003 there, 0.1 here)" in capsys.readouterr().err


def test_files_are_readable_by_the_user_group(tmp_path):
    old = os.umask(0o022)
    try:
        rldistill.run(DistillConfig(**CP, budget=80, eval_episodes=1, out=str(tmp_path)))
    finally:
        os.umask(old)
    for name in ("student.safetensors", "student.json", CKPT_NAME, "result.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name
    assert all(f.stat().st_mode & 0o777 == 0o644 for f in (tmp_path / CHUNK_DIR).iterdir())


def test_debug_after_the_subcommand_and_teacher_without_zip_suffix(tmp_path, sb3_zips):
    with pytest.raises(UserError, match="does not exist"):
        main(["distill", "--debug", "--teacher", "nope.zip", "--env", "CartPole-v1",
              "--out", str(tmp_path / "x")])
    stem = str(sb3_zips["ppo"])[:-4]  # SB3's load accepts the path without .zip: so do we
    assert rldistill.load_teacher(stem).spec == SpaceSpec((4,), 2)


def test_undefined_normalized_score_says_why(tmp_path):
    from rldistill.evaluation.rollouts import score_student
    from rldistill.students.network import build_student

    net = nn.Linear(4, 2)
    with torch.no_grad():
        net.weight.zero_()
        net.bias.copy_(torch.tensor([1.0, 0.0]))  # always pushes left: worse than random
    teacher = NetTeacher("left", "logits", SpaceSpec((4,), 2), net)
    student = build_student(SpaceSpec((4,), 2), (8,)).for_task(0)
    block = score_student(student, teacher, "CartPole-v1", 10, seed=0)
    assert block["normalized_score"] is None
    assert "no better than the random policy" in block["normalized_score_note"]


def _cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "rldistill.cli", *args], text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


@pytest.mark.parametrize("inherit_ignore", [False, True])
def test_sigint_during_the_final_evaluation_stops_it(tmp_path, inherit_ignore):
    """Also when the process started with SIGINT ignored (a background job of a shell)."""
    out = tmp_path / "ev"
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if inherit_ignore else None
    proc = _cli("distill", "--teacher", "zoo:LunarLander-v3-ppo", "--env", "LunarLander-v3",
                "--budget", "300", "--rounds", "1", "--min-updates", "5", "--eval-episodes",
                "2000", "--out", str(out), preexec_fn=ignore)
    deadline = time.time() + 120
    while not (out / "student.json").exists() and time.time() < deadline:
        time.sleep(0.05)
    # well inside the evaluation of 2 000 episodes (minutes), also on a loaded machine (0.5 s
    # once landed before the evaluation's handler was in place, with 3 processes on 2 cores)
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "during the final evaluation" in err and "Traceback" not in err
    assert not (out / "result.json").exists()


def test_online_run_interrupted_and_resumed(tmp_path):
    """SIGINT in round 2 of 4 stops the round's collection half way (as offline), checkpoints
    the learning teacher with the loop; the resumed run carries on from that teacher step and
    labelled step (not bit-exact: SB3 cannot save its envs)."""
    cfg = DistillConfig(teacher_train="ppo", env="CartPole-v1", teacher_steps=8000, rounds=4,
                        student_hidden="16", budget=800, min_updates=40, eval_episodes=2,
                        out=str(tmp_path))
    seen = [0]

    def interrupt_in_round_two(n):
        seen[0] += n
        if 200 < seen[0] <= 200 + n:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(Interrupted, match="continue with --resume"):
        rldistill.run(cfg, progress=interrupt_in_round_two)
    state = load_checkpoint(tmp_path / CKPT_NAME)[1]
    assert state["round"] == 1 and state["phase"] == "collect"
    assert len(state["online"]["curves"]) == 1 and 200 < state["labelled"] < 400
    stopped_at = state["online"]["counters"]["num_timesteps"]
    assert 4000 <= stopped_at < 8000
    r = rldistill.run(cfg, resume=True)
    steps = [c["teacher_steps"] for c in r["curves"]]
    # the interrupted round ends on the resumed teacher, one vector step after it stopped
    assert len(steps) == 4 and steps == sorted(steps) and stopped_at <= steps[1] < steps[2]
    assert r["labelled_steps"] == 800 and (tmp_path / "teacher_sb3.zip").exists()


def test_qrdqn_teacher_train(tmp_path, capsys):
    out = tmp_path / "q.zip"
    assert main(["teacher", "train", "--algo", "qrdqn", "--env", "CartPole-v1", "--steps",
                 "300", "--eval-episodes", "2", "--out", str(out)]) == 0
    assert rldistill.load_teacher(str(out)).kind == "q"
    assert json.loads(out.with_suffix(".json").read_text())["algo"] == "qrdqn"


def test_teacher_train_stops_at_max_seconds_and_checks_its_device(tmp_path, capsys):
    """--max-seconds stops SB3's learning (the record gives the steps trained and those asked);
    a --device that is not there is one line, exit 2."""
    out = tmp_path / "p.zip"
    assert main(["teacher", "train", "--algo", "ppo", "--env", "CartPole-v1", "--steps",
                 "1000000", "--max-seconds", "0.5", "--eval-episodes", "1", "--out",
                 str(out)]) == 0
    record = json.loads(out.with_suffix(".json").read_text())
    assert 0 < record["steps"] < 1_000_000 and record["steps_asked"] == 1_000_000
    assert "device" not in record and rldistill.load_teacher(str(out)).kind == "logits"
    capsys.readouterr()
    assert main(["teacher", "train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "10",
                 "--device", "tpu", "--out", str(tmp_path / "x.zip")]) == 2
    assert "unknown --device 'tpu'" in capsys.readouterr().err
    assert main(["teacher", "train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "10",
                 "--max-seconds", "0", "--out", str(tmp_path / "x.zip")]) == 2
    assert "--max-seconds must be positive" in capsys.readouterr().err


def test_a_run_extended_twice_keeps_its_first_envs_and_batch(tmp_path):
    """Defaults derived from the budget (2 envs at 1000, 4 at 2000) stay those of the first
    run: the logged actions replay on the same envs at every resume."""
    cfg = DistillConfig(**CP, budget=1000, rounds=2, min_updates=4, eval_episodes=1,
                        out=str(tmp_path))
    rldistill.train(cfg)
    for budget in (2000, 3000):
        loop = rldistill.train(cfg.replace(budget=budget), resume=True).loop
        assert (loop.n_envs, loop.batch, loop.labelled) == (2, 256, budget)
    state = load_checkpoint(tmp_path / CKPT_NAME)[1]
    assert state["round"] == 6 and state["tasks"][0]["ends"] == [500, 1000, 1500, 2000, 2500,
                                                                 3000]


def test_resume_is_idempotent_and_one_rule_refuses_other_options(tmp_path, capsys):
    """What a restart loop (Slurm requeue, Kubernetes) does: the same command with --resume every
    time. Nothing there: the run starts, with one notice line; finished: read back, nothing runs;
    other options: one line naming each option with both values, nothing written."""
    out = tmp_path / "r"
    args = ["distill", "--teacher", CP["teacher"], "--env", CP["env"], "--budget", "200",
            "--rounds", "2", "--min-updates", "4", "--eval-episodes", "2", "--out", str(out),
            "--json", "--resume"]
    assert main(args) == 0
    out_err = capsys.readouterr()
    first, err = json.loads(out_err.out.strip().splitlines()[-1]), out_err.err
    assert first["labelled_steps"] == 200
    assert (err.strip().splitlines()) == [
        f"rldistill: --resume: nothing to resume in {out} (no checkpoint yet): starting the run"]
    stamp = (out / "student.safetensors").stat().st_mtime_ns
    assert main(args) == 0  # finished: read back, not run again
    assert _last_json(capsys) == first
    assert (out / "student.safetensors").stat().st_mtime_ns == stamp
    assert main([*args, "--eval-episodes", "3"]) == 0  # the checkpoint: evaluated again
    assert _last_json(capsys)["config"]["eval_episodes"] == 3
    assert main([*args, "--lr", "0.1", "--driver", "teacher"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"rldistill: error: --resume: the run in {out} was made with other options (--driver "
        "None there, teacher here; --lr 0.003 there, 0.1 here): pass the same options, "
        "--overwrite to replace it, or another --out"]


def test_seeds_resume_with_other_options_is_refused(tmp_path, capsys):
    """`--seeds 2 --resume --lr 0.1` over a finished --seeds 2 run made with the default lr was
    read back silently (with lr 0.1 in its result's config); now refused in one line."""
    args = ["distill", "--teacher", CP["teacher"], "--env", CP["env"], "--budget", "100",
            "--rounds", "1", "--min-updates", "2", "--eval-episodes", "1", "--seeds", "2",
            "--out", str(tmp_path / "s"), "--json"]
    assert main(args) == 0
    first = _last_json(capsys)
    assert main([*args, "--resume", "--lr", "0.1"]) == 2
    assert "--lr 0.003 there, 0.1 here" in capsys.readouterr().err
    assert json.loads((tmp_path / "s" / "result.json").read_text()) == first
    assert main(["distill", "--out", str(tmp_path / "s"), "--seeds", "2", "--resume",
                 "--json"]) == 0  # the options from the run on disk: each seed read back
    assert _last_json(capsys)["normalized_score"] == first["normalized_score"]


def test_kickstart_resume_reads_back_or_starts(tmp_path, capsys):
    """Kick-starting keeps no checkpoint: --resume reads a finished run back, starts one where
    there is none (with a notice), and refuses other options."""
    out = tmp_path / "k"
    args = ["kickstart", "--teacher", CP["teacher"], "--env", CP["env"], "--algo", "ppo",
            "--steps", "256", "--lambda", "constant:1", "--student-hidden", "8",
            "--eval-every", "256", "--eval-episodes", "1", "--final-episodes", "1",
            "--out", str(out), "--json", "--resume"]
    assert main(args) == 0
    out_err = capsys.readouterr()
    first = json.loads(out_err.out.strip().splitlines()[-1])
    assert "nothing to resume" in out_err.err
    stamp = (out / "student_sb3.zip").stat().st_mtime_ns
    assert main(args) == 0
    assert _last_json(capsys)["student"] == first["student"]
    assert (out / "student_sb3.zip").stat().st_mtime_ns == stamp
    assert main([*args, "--steps", "512"]) == 2
    assert "--steps 256 there, 512 here" in capsys.readouterr().err


def test_result_counts_env_steps_and_teacher_queries_apart(tmp_path):
    """env_steps: every env step of the collection (what a user pays for; 3 envs step while
    the last partial batch labels 1); teacher_queries: every state the teacher labelled."""
    r = rldistill.run(DistillConfig(**CP, budget=100, rounds=2, n_envs=3, min_updates=4,
                                    eval_episodes=1, out=str(tmp_path / "a")))
    # rounds end at 50 and 100 labelled steps: 17 vector steps each (16 x 3 + 1 x 2 labelled)
    assert r["labelled_steps"] == 100 and r["env_steps"] == 2 * 17 * 3
    assert r["teacher_queries"] == 100  # DAgger's mix: the teacher labels as the envs step
    online = rldistill.run(DistillConfig(teacher_train="ppo", env="CartPole-v1",
                                         teacher_steps=512, rounds=2, budget=100,
                                         student_hidden="8", min_updates=2, eval_episodes=1,
                                         out=str(tmp_path / "o")))
    # online: before each round the teacher relabels the buffer (0, then 50 rows)
    assert online["teacher_queries"] == 100 + 50 and online["env_steps"] >= 100
    # where it ran: the float kernels that make another CPU's run another run
    assert r["machine"] == online["machine"] == machine()
    assert r["machine"]["aten"] == torch.backends.cpu.get_cpu_capability()


def test_machine_names_the_cpu_and_its_kernel_flags():
    text = ("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Gold 6338\n"
            "flags\t\t: fpu sse avx avx2 fma avx512f avx512_vnni amx_tile\n\n"
            "processor\t: 1\nmodel name\t: other\nflags\t\t: fpu\n")
    assert cpu_info(text) == {"cpu": "Intel(R) Xeon(R) Gold 6338",
                              "flags": "avx avx2 fma avx512f avx512_vnni amx_tile"}
    assert cpu_info("processor\t: 0\nmodel name\t: Neoverse\nFeatures\t: fp asimd\n")[
        "flags"] == ""
