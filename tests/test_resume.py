"""Kill a distill run with SIGKILL at a seeded moment, resume it: the same student as uninterrupted.

The run is the richest path through a checkpoint: a recurrent (LSTM) student on a student view
of CartPole (the acting state per env, the gap flags and both views are in the checkpoint),
DAgger driver. Plain MLP runs resume through the same code (tests/test_api.py,
test_multitask.py, test_pixels.py resume them in process)."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from rldistill.engine.checkpoint import CKPT_NAME, load_checkpoint

ROUNDS = 8
ARGS = ["distill", "--teacher", "zoo:CartPole-v1-ppo", "--env", "CartPole-v1",
        "--student-obs", "drop:velocities", "--student-arch", "lstm:8", "--driver", "mix",
        "--budget", "3000", "--rounds", str(ROUNDS), "--min-updates", "400", "--n-envs", "3",
        "--eval-episodes", "2", "--seed", "3", "--baseline", "none"]
# the moment of the kill is drawn from this seed (RLDISTILL_KILL_SEED=N to replay another)
KILL_SEED = int(os.environ.get("RLDISTILL_KILL_SEED", "20240611"))


def _cli(*extra):
    return [sys.executable, "-m", "rldistill.cli", *ARGS, *extra]


def _rounds_done(out):
    """Rounds the run has finished (a line each in rounds.jsonl, written as a round ends)."""
    try:
        return (out / "rounds.jsonl").read_text().count("\n")
    except FileNotFoundError:
        return 0


def _wait(proc, until, what, timeout=90):
    deadline = time.time() + timeout
    while not until():
        assert proc.poll() is None, f"the run ended (rc {proc.returncode}) before {what}"
        assert time.time() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.01)


def _checkpoint_round(out):
    return load_checkpoint(out / CKPT_NAME)[1]["round"]


@pytest.mark.slow
def test_sigkill_then_resume_gives_identical_weights(tmp_path):
    ref = tmp_path / "ref"
    assert subprocess.run(_cli("--out", str(ref)), capture_output=True).returncode == 0
    rnd = random.Random(KILL_SEED)
    for i in range(1):  # one seeded moment per run (each costs four process starts)
        # after 1..ROUNDS-4 finished rounds, a fraction of a round later: mid-run
        after, delay = rnd.randint(1, ROUNDS - 4), rnd.uniform(0.0, 0.25)
        moment = (f"RLDISTILL_KILL_SEED={KILL_SEED}: SIGKILL {delay:.3f} s after round "
                  f"{after} of {ROUNDS}")
        out = tmp_path / f"k{i}"
        proc = subprocess.Popen(_cli("--out", str(out)), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            _wait(proc, lambda: _rounds_done(out) >= after and (out / CKPT_NAME).exists(),
                  f"round {after} ({moment})")
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()  # (no-op once killed) never leave it running
            proc.wait()
        assert proc.returncode == -signal.SIGKILL, f"the run finished first: {moment}"
        assert 1 <= _checkpoint_round(out) < ROUNDS, moment  # killed mid-run
        again = subprocess.run(_cli("--out", str(out)), capture_output=True, text=True)
        assert again.returncode == 2 and "--resume" in again.stderr, moment  # no clobbering
        # --resume alone: the options come from the checkpoint
        done = subprocess.run([sys.executable, "-m", "rldistill.cli", "distill", "--out", str(out),
                               "--resume"], capture_output=True, text=True)
        assert done.returncode == 0, f"{moment}\n{done.stderr}"
        weights = (out / "student.safetensors").read_bytes()
        assert weights == (ref / "student.safetensors").read_bytes(), moment


@pytest.mark.slow
def test_sigint_writes_checkpoint_and_exits_cleanly(tmp_path):
    out, rounds = tmp_path / "int", 4  # a shorter run than the SIGKILL test's: the same path
    short = ("--budget", "1200", "--rounds", str(rounds), "--min-updates", "200")
    proc = subprocess.Popen(_cli("--out", str(out), *short), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        # right after the first checkpoint: rounds - 1 rounds are left (seconds of work)
        _wait(proc, lambda: (out / CKPT_NAME).exists(), "the first checkpoint")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted at labelled step" in err and "--resume" in err, err
    assert "Traceback" not in err
    stopped = _checkpoint_round(out)
    assert 1 <= stopped < rounds  # the checkpoint of the SIGINT, before the end
    assert not (out / "result.json").exists() and not (out / "student.json").exists()
    done = subprocess.run(_cli("--out", str(out), *short, "--resume", "--json"),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["labelled_steps"] == 1200 and _checkpoint_round(out) == rounds
