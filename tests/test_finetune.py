"""``rldistill finetune``: RL on a distilled student with a critic warm-up and an anchor.

What is asserted holds on any CPU: the large-margin loss by hand, the frozen actor bit for bit,
the SB3 model and the rldistill student acting alike after the write-back, the result's contract,
SIGINT + --resume, and the one-line errors. How well RL fine-tunes is measured in
``benchmarks/finetune/``, not here."""

import copy
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from rldistill.cli import main
from rldistill.core.config import FinetuneConfig
from rldistill.core.machine import machine
from rldistill.drivers import finetune
from rldistill.drivers.finetune import explore
from rldistill.engine.checkpoint import CKPT_NAME
from rldistill.heads.categorical import CategoricalHead
from rldistill.heads.losses import ActionMSE, LargeMargin


def test_large_margin_by_hand():
    """max_a [Q + 0.8 (a != a_E)] - Q(a_E): row 1, a_E = 0: max(1, 2.8, 0.8) - 1 = 1.8; row 2,
    a_E = 0 and ahead by more than the margin: 0. Mean 0.9; the gradient pushes row 1's a_E up
    and its best other action down."""
    loss = LargeMargin(0.8)
    q = torch.tensor([[1.0, 2.0, 0.0], [3.0, 1.0, 0.0]], requires_grad=True)
    ref = torch.tensor([[5.0, 0.0, 0.0], [2.0, 1.0, 1.0]])
    value = loss(q, loss.prepare(ref))
    assert value.item() == pytest.approx(0.9)
    value.backward()
    assert q.grad.tolist() == [[-0.5, 0.5, 0.0], [0.0, 0.0, 0.0]]


def test_action_mse_by_hand():
    """TD3's anchor: ((0.5 - 1)^2 + (0 - (-0.5))^2) / 2 = 0.25, the reference clamped to [-1, 1]
    (2 -> 1); gradient 2 (s - r) / n = (-0.5, 0.5)."""
    loss = ActionMSE()
    a = torch.tensor([[0.5], [0.0]], requires_grad=True)
    value = loss(a, loss.prepare(torch.tensor([[2.0], [-0.5]])))
    assert value.item() == pytest.approx(0.25)
    value.backward()
    assert a.grad.flatten().tolist() == pytest.approx([-0.5, 0.5])


def test_floor_temperature_by_hand():
    """Logits (10, 0): softmax(./T) has entropy 0.5 ln 2 where p = 0.88997 (the binary entropy
    -p ln p - (1-p) ln(1-p) = 0.34657), T = 10 / ln(p / (1 - p)) = 4.7836; logits (0, 0) are at
    ln 2 already (T = 1), as is any policy with a floor of 0."""
    head = CategoricalHead(2)
    assert head.floor_temperature(torch.tensor([[10.0, 0.0]]), 0.5) == pytest.approx(4.78364,
                                                                                      abs=1e-4)
    assert head.floor_temperature(torch.tensor([[0.0, 0.0]]), 0.5) == 1.0
    assert head.floor_temperature(torch.tensor([[10.0, 0.0]]), 0.0) == 1.0


def test_entropy_share_by_hand_and_the_advice_it_gives():
    """Entropy as a share of ln 2: p = (0.5, 0.5) -> 1; p = (0.9, 0.1) (logits ln 9, 0) ->
    (0.9 ln(1/0.9) + 0.1 ln 10) / ln 2 = (0.094825 + 0.230259) / 0.693147 = 0.46900. The advice
    to raise the entropy comes only where the median state is near-deterministic, RL did not
    move the student past its start, and no floor was asked for."""
    head = CategoricalHead(2)
    shares = head.entropy_share(torch.tensor([[0.0, 0.0], [float(np.log(9.0)), 0.0]]))
    assert shares.tolist() == pytest.approx([1.0, 0.46900], abs=1e-5)
    curve = [{"normalized_score": s} for s in (1.0, 0.98, 1.04)]
    stuck = {"start_entropy_share": 0.012, "start_normalized_score": 1.0, "curve": curve,
             "algo": "ppo"}
    (line,) = explore.advice(stuck, 0.0)
    assert "--entropy-floor 0.9" in line and "0.012" in line and "best evaluation 1.04" in line
    assert explore.advice(stuck, 0.9) == []  # a floor was asked for
    assert explore.advice({**stuck, "start_entropy_share": 0.2}, 0.0) == []  # explores
    assert explore.advice({**stuck, "start_entropy_share": None}, 0.0) == []  # no states kept
    moved = [*curve, {"normalized_score": 1.06}]
    assert explore.advice({**stuck, "curve": moved}, 0.0) == []  # RL moved it


def test_anchor_best_moves_only_past_every_earlier_evaluation():
    """--anchor best: the anchor takes a copy of the policy's weights where the last evaluation
    beats every earlier one (not at the start alone, not on a tie); a teacher anchor stays."""
    from types import SimpleNamespace

    from rldistill.drivers.finetune.anchor import Anchor, move_anchor

    policy = torch.nn.Linear(2, 2)
    model = SimpleNamespace(policy=policy, ks_teacher=Anchor("ppo", None, copy.deepcopy(policy)))
    with torch.no_grad():
        policy.weight.add_(1.0)
    start = model.ks_teacher.policy.weight.clone()
    assert not move_anchor(model, [{"return": 5.0}])
    assert not move_anchor(model, [{"return": 5.0}, {"return": 4.0}, {"return": 5.0}])
    assert torch.equal(model.ks_teacher.policy.weight, start)
    assert move_anchor(model, [{"return": 5.0}, {"return": 4.0}, {"return": 5.5}])
    assert torch.equal(model.ks_teacher.policy.weight, policy.weight)
    with torch.no_grad():  # a copy, not the policy itself
        policy.weight.add_(1.0)
    assert torch.equal(model.ks_teacher.policy.weight, start + 1.0)
    teacher = SimpleNamespace(policy=policy, ks_teacher=Anchor("ppo", None, None, object()))
    assert not move_anchor(teacher, [{"return": 0.0}, {"return": 1.0}])


def test_a_moved_anchor_is_checkpointed_and_restored():
    """The anchor's weights travel in the checkpoint's tensors (``anchor/...``) and come back
    on --resume, where they differ from the start's and the policy's."""
    from stable_baselines3 import PPO

    from rldistill.drivers.finetune.anchor import Anchor
    from rldistill.drivers.finetune.sb3_state import restore, torch_state

    model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64, seed=0, device="cpu")
    model.ks_teacher = Anchor("ppo", None, copy.deepcopy(model.policy))
    with torch.no_grad():
        for p in model.ks_teacher.policy.parameters():
            p.add_(0.5)
    saved = {k: v.clone() for k, v in model.ks_teacher.policy.state_dict().items()}
    tensors = torch_state(model)
    assert {k[7:] for k in tensors if k.startswith("anchor/")} == set(saved)
    fresh = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64, seed=1, device="cpu")
    fresh.ks_teacher = Anchor("ppo", None, copy.deepcopy(fresh.policy))
    restore(fresh, tensors, {})
    got = fresh.ks_teacher.policy.state_dict()
    assert all(torch.equal(got[k], saved[k]) for k in saved)
    assert not torch.equal(got["action_net.weight"], fresh.policy.action_net.weight)


@pytest.fixture(scope="module")
def cartpole_student(tmp_path_factory):
    out = tmp_path_factory.mktemp("ft") / "student"
    assert main(["distill", "--teacher", "zoo:CartPole-v1-ppo", "--budget", "1500",
                 "--rounds", "3", "--eval-episodes", "2", "--baseline", "none", "--out",
                 str(out)]) == 0
    return out


def _cfg(student, out, **kw):
    base = dict(student=str(student), steps=512, eval_every=256, eval_episodes=1,
                final_episodes=1, out=str(out))
    return FinetuneConfig(**{**base, **kw})


def _acting(run_dir):
    w = load_file(str(run_dir / "student.safetensors"))
    return {k: v for k, v in w.items() if k.startswith("net.")}


def test_warmup_keeps_the_actor_bit_for_bit_and_the_result_contract(cartpole_student, tmp_path):
    """During the warm-up only PPO's value net learns: the fine-tuned student (written back in
    rldistill's format) is the distilled one to the bit; without it, PPO moves the actor."""
    frozen = finetune.run(_cfg(cartpole_student, tmp_path / "a", warmup_steps=511), plot=False)
    start = _acting(cartpole_student)
    after = _acting(tmp_path / "a")
    assert start.keys() == after.keys() and all(torch.equal(start[k], after[k]) for k in start)
    # with an entropy floor, the same but for the logits divided by T > 1
    soft = finetune.run(_cfg(cartpole_student, tmp_path / "s", warmup_steps=511,
                             entropy_floor=0.5), plot=False)
    t, softened = soft["entropy_temperature"], _acting(tmp_path / "s")
    last = f"net.{max(int(k.split('.')[1]) for k in start)}."  # the logits' layer
    assert t > 1 and frozen["entropy_temperature"] == 1.0
    share = frozen["start_entropy_share"]  # the same states, the same student: the same share
    assert isinstance(share, float) and 0 <= share <= 1 and soft["start_entropy_share"] == share
    assert soft["warnings"] == []  # a floor asked for: no advice to ask for one
    for k in start:
        if k.startswith(last):
            assert torch.allclose(softened[k] * t, start[k], rtol=1e-4), k
        else:
            assert torch.equal(softened[k], start[k]), k
    moved = finetune.run(_cfg(cartpole_student, tmp_path / "b", warmup_steps=0, anchor="none"),
                         plot=False)
    assert any(not torch.equal(start[k], v) for k, v in _acting(tmp_path / "b").items())
    for r in (frozen, moved):
        steps = [p["env_steps"] for p in r["curve"]]
        assert steps[0] == 0 and steps == sorted(steps) and steps[-1] >= 512
        assert r["start_normalized_score"] == r["curve"][0]["normalized_score"]
        assert r["lowest_normalized_score"] == min(p["normalized_score"] for p in r["curve"])
        assert r["algo"] == "ppo" and r["config"]["steps"] == 512
        assert r["machine"] == machine()
    assert frozen["warmup_steps"] == 511 and moved["anchor"] == "none"
    assert not (tmp_path / "a" / CKPT_NAME).exists()  # removed once the run finished
    assert json.loads((tmp_path / "a" / "result.json").read_text())["curve"] == frozen["curve"]


@pytest.fixture(scope="module")
def td3_student(tmp_path_factory):
    """A deterministic student of an untrained (decisive) TD3 teacher on MountainCarContinuous
    (no RL Zoo entry there: SB3's defaults, learning_starts 100)."""
    from stable_baselines3 import TD3

    d = tmp_path_factory.mktemp("td3")
    model = TD3("MlpPolicy", "MountainCarContinuous-v0", seed=1, device="cpu",
                policy_kwargs={"net_arch": [32, 32]})
    with torch.no_grad():
        for p in model.policy.actor.parameters():
            p.mul_(2.0)
    model.save(d / "td3.zip")
    assert main(["distill", "--teacher", str(d / "td3.zip"), "--env", "MountainCarContinuous-v0",
                 "--budget", "1000", "--rounds", "2", "--eval-episodes", "1", "--baseline",
                 "none", "--min-updates", "100", "--out", str(d / "student")]) == 0
    return d / "student"


@pytest.mark.parametrize("algo", ["a2c", "td3"])
def test_a2c_and_td3_warm_up_frozen_then_anchored(algo, cartpole_student, td3_student,
                                                  tmp_path):
    """A2C (a categorical student) and TD3 (a deterministic one): a warm-up of 511 of 512 steps
    keeps A2C's actor bit for bit (whole rollouts) and lets TD3's (updated every second step)
    take one Adam step of lr 1e-3 at most; without it the actor moves further, under the anchor's
    term (KL / the squared action distance, logged with lambda > 0)."""
    student = cartpole_student if algo == "a2c" else td3_student
    frozen = finetune.run(_cfg(student, tmp_path / "a", algo=algo, warmup_steps=511), plot=False)
    moved = finetune.run(_cfg(student, tmp_path / "b", algo=algo, warmup_steps=0), plot=False)
    start, after, free = (_acting(d) for d in (student, tmp_path / "a", tmp_path / "b"))
    assert start.keys() == after.keys() == free.keys()
    step = max((start[k] - after[k]).abs().max().item() for k in start)
    assert step == 0.0 if algo == "a2c" else step <= 1.001e-3, step
    assert max((start[k] - free[k]).abs().max().item() for k in start) > 1.001e-3
    assert frozen["algo"] == moved["algo"] == algo
    last = moved["curve"][-1]
    assert last["lambda"] > 0 and last["distill_kl"] > 0, last


def test_a_cnn_student_is_held_by_rldistills_extractor_checkpointed_and_written_back(tmp_path):
    """A MinAtar CNN student (3x3 convolutions, not NatureCNN's: rldistill's StudentCNN in the
    SB3 policy) fine-tunes, checkpoints and comes back bit for bit through a whole-run warm-up:
    PPO's critic has its own features extractor, so the value loss cannot move the student's
    convolutions (shared, they moved by 4e-3 in two updates)."""
    pytest.importorskip("minatar")
    student = tmp_path / "student"
    assert main(["distill", "--teacher", "zoo:MinAtar-Breakout-v1-ppo", "--budget", "1000",
                 "--rounds", "2", "--min-updates", "200",  # not the CNN floor: 54 s -> 7 s
                 "--eval-episodes", "1", "--baseline", "none", "--out", str(student)]) == 0
    r = finetune.run(_cfg(student, tmp_path / "ft", steps=4096, eval_every=4096,
                          warmup_steps=4095), plot=False)
    assert r["export"]["policy"] == "CnnPolicy" and len(r["curve"]) == 2
    start, after = _acting(student), _acting(tmp_path / "ft")
    assert any(k.startswith("convs.") for k in load_file(str(student / "student.safetensors")))
    assert start.keys() == after.keys() and all(torch.equal(start[k], after[k]) for k in start)
    convs = (load_file(str(d / "student.safetensors")) for d in (student, tmp_path / "ft"))
    a, b = ({k: v for k, v in w.items() if k.startswith("convs.")} for w in convs)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_dqn_student_written_back_on_its_scale_and_exported_again(tmp_path, capsys):
    """A Q-value teacher's KL student is exported x tau (the teacher's Q scale; tau as the run
    fitted it, from student.json), fine-tuned by DQN with the large-margin anchor, written back
    / tau: export --format sb3 of the fine-tuned student acts as the fine-tuned SB3 model on
    every state and gives it the same Q-values."""
    from stable_baselines3 import DQN

    from rldistill.deploy.sb3 import export_sb3

    student = tmp_path / "student"
    assert main(["distill", "--teacher", "zoo:CartPole-v1-dqn", "--budget", "1000",
                 "--rounds", "2", "--student-hidden", "16", "--min-updates", "100",
                 "--eval-episodes", "1", "--baseline", "none", "--out", str(student)]) == 0
    capsys.readouterr()
    r = finetune.run(_cfg(student, tmp_path / "ft", steps=1400, eval_every=700, algo="dqn"),
                     plot=False)
    assert "did not learn its teacher's Q-values" in capsys.readouterr().err  # a KL student
    tau = json.loads((student / "student.json").read_text())["teacher"]["temperature"]
    assert r["algo"] == "dqn" and r["export"]["q_scale"] == tau and tau != 0.01
    assert r["warmup_steps"] == 0  # DQN has none (its Q-values are its policy)
    assert r["curve"][-1]["lambda"] > 0 and r["curve"][-1]["distill_kl"] >= 0  # from step 1000
    report = export_sb3(tmp_path / "ft", tmp_path / "again.zip")
    assert report["action_agreement"] == 1.0
    obs = torch.as_tensor(np.random.default_rng(0).normal(size=(64, 4)), dtype=torch.float32)
    tuned, again = (DQN.load(str(p), device="cpu", custom_objects={"buffer_size": 1})
                    for p in (tmp_path / "ft" / "student_sb3.zip", tmp_path / "again.zip"))
    with torch.no_grad():
        assert torch.allclose(tuned.q_net(obs), again.q_net(obs), atol=1e-5)
    # a student that learned the Q-values themselves (--loss mse): nothing said
    mse = tmp_path / "mse"
    assert main(["distill", "--teacher", "zoo:CartPole-v1-dqn", "--budget", "300", "--loss",
                 "mse", "--student-hidden", "16", "--min-updates", "20", "--eval-episodes", "1",
                 "--baseline", "none", "--out", str(mse)]) == 0
    capsys.readouterr()
    finetune.Setup(_cfg(mse, tmp_path / "ft-mse", algo="dqn"), tmp_path)
    assert "Q-values" not in capsys.readouterr().err


def _ft_cli(student, out, *extra):
    return [sys.executable, "-m", "rldistill.cli", "finetune", "--student", str(student),
            "--out", str(out), "--eval-episodes", "1", "--final-episodes", "1", *extra]


@pytest.mark.slow
def test_sigint_checkpoints_and_resume_finishes(cartpole_student, tmp_path):
    """SIGINT after the first checkpoints: exit 130, the checkpoint kept (its curve so far);
    --resume continues from it to the end, the curve's first points as they were."""
    out = tmp_path / "int"
    args = ["--steps", "8192", "--eval-every", "256"]
    proc = subprocess.Popen(_ft_cli(cartpole_student, out, *args), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not (out / CKPT_NAME).exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err, err
    assert not (out / "result.json").exists()
    state = finetune.load_checkpoint(out / CKPT_NAME)[1]
    stopped = state["counters"]["num_timesteps"]
    assert 0 < stopped < 8192 and state["phase"] == "student"
    done = subprocess.run(_ft_cli(cartpole_student, out, *args, "--resume", "--json"),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    r = json.loads(done.stdout.strip().splitlines()[-1])
    assert r["curve"][:len(state["curve"])] == state["curve"]
    assert r["curve"][-1]["env_steps"] >= 8192 and not (out / CKPT_NAME).exists()


def test_bad_input_is_one_line_exit_2(cartpole_student, tmp_path, capsys):
    cases = [
        (["--student", str(tmp_path / "nothing"), "--steps", "100"], "no student at"),
        (["--student", str(cartpole_student), "--steps", "100", "--algo", "sac"],
         "cannot fine-tune a categorical student"),
        (["--student", str(cartpole_student), "--steps", "100", "--warmup-steps", "100"],
         "--warmup-steps 100 must be"),
        (["--student", str(cartpole_student), "--steps", "100", "--warmup-steps", "10",
          "--algo", "dqn"], "--algo dqn has no warm-up"),
        (["--student", str(cartpole_student), "--steps", "100", "--anchor-lambda", "fast"],
         "--anchor-lambda 'fast' is not a schedule"),
        (["--steps", "100"], "finetune needs --student"),
    ]
    for args, words in cases:
        assert main(["finetune", *args, "--out", str(tmp_path / "o")]) == 2, args
        err = capsys.readouterr().err.strip()
        assert words in err and len(err.splitlines()) == 1, err


def test_seeds_and_report_read_finetune_runs(cartpole_student, tmp_path):
    """--seeds N aggregates the start, lowest and final scores over seeds; report lists a
    fine-tuned run as one (start -> final, lowest)."""
    out = tmp_path / "seeds"
    assert main(["finetune", "--student", str(cartpole_student), "--steps", "256",
                 "--eval-every", "256", "--eval-episodes", "1", "--final-episodes", "1",
                 "--out", str(out), "--seeds", "2", "--json"]) == 0
    r = json.loads((out / "result.json").read_text())
    assert r["seeds"] == [0, 1] and len(r["runs"]) == 2
    for key in ("normalized_score", "start_normalized_score", "lowest_normalized_score"):
        assert r[key]["runs"] == 2, key
    from rldistill.report.html import load_run

    row = load_run(out / "seed1").row()
    assert row["kind"] == "fine-tune (ppo)" and "lowest" in row["normalized"]
