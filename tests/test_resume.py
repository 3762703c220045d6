"""Kill a distill run with SIGKILL at random moments, resume it: the same student as uninterrupted.

The run is the richest path through a checkpoint: a recurrent (LSTM) student on a student view
of CartPole (the acting state per env, the gap flags and both views are in the checkpoint),
DAgger driver. Plain MLP runs resume through the same code (tests/test_api.py,
test_multitask.py, test_pixels.py resume them in process)."""

import random
import signal
import subprocess
import sys
import time

import pytest

ARGS = ["distill", "--teacher", "zoo:CartPole-v1-ppo", "--env", "CartPole-v1",
        "--student-obs", "drop:velocities", "--student-arch", "lstm:8", "--driver", "mix",
        "--budget", "3000", "--rounds", "8", "--min-updates", "800", "--n-envs", "3",
        "--eval-episodes", "2", "--seed", "3", "--baseline", "none"]


def _cli(*extra):
    return [sys.executable, "-m", "rldistill.cli", *ARGS, *extra]


@pytest.mark.slow
def test_sigkill_then_resume_gives_identical_weights(tmp_path):
    ref = tmp_path / "ref"
    assert subprocess.run(_cli("--out", str(ref)), capture_output=True).returncode == 0
    rnd = random.Random()
    for i in range(1):  # one random moment per run (each costs four process starts)
        out = tmp_path / f"k{i}"
        proc = subprocess.Popen(_cli("--out", str(out)), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while not (out / "checkpoint.safetensors").exists() and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(rnd.uniform(0.0, 1.0))  # a random moment after the first checkpoint
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        again = subprocess.run(_cli("--out", str(out)), capture_output=True, text=True)
        assert again.returncode == 2 and "--resume" in again.stderr  # refuses to clobber
        # --resume alone: the options come from the checkpoint
        done = subprocess.run([sys.executable, "-m", "rldistill.cli", "distill", "--out", str(out),
                               "--resume"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        weights = (out / "student.safetensors").read_bytes()
        assert weights == (ref / "student.safetensors").read_bytes()


@pytest.mark.slow
def test_sigint_writes_checkpoint_and_exits_cleanly(tmp_path):
    out = tmp_path / "int"
    proc = subprocess.Popen(_cli("--out", str(out)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (out / "checkpoint.safetensors").exists() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:  # the run finished before the signal landed
        return
    assert proc.returncode == 130 and "--resume" in err and "Traceback" not in err
    done = subprocess.run(_cli("--out", str(out), "--resume"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
