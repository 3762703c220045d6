"""Kick-starting: lambda schedules, the extra loss term, and a short CartPole run end to end."""

import json
import math
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from rldistill.cli import main as cli_main
from rldistill.core.config import KickstartConfig
from rldistill.drivers.kickstart import sb3_kwargs
from rldistill.core.errors import UserError
from rldistill.core.machine import machine
from rldistill.drivers.kickstart.algos import ALGOS
from rldistill.core.schedules import LambdaSchedule, parse_lambda
from rldistill.sources import load_teacher


def main(argv):
    return cli_main(["kickstart", *argv])


# ---------------------------------------------------------------------------------- schedules

def test_constant_and_bare_number():
    assert parse_lambda("constant:0.5") == LambdaSchedule("constant", 0.5)
    assert parse_lambda("2") == LambdaSchedule("constant", 2.0)
    assert parse_lambda("constant:0.5")(10**6) == 0.5


def test_linear_falls_to_zero_at_steps():
    s = parse_lambda("linear:2:1000")
    assert [s(0), s(250), s(500), s(1000), s(5000)] == [2.0, 1.5, 1.0, 0.0, 0.0]


def test_exp_halves_every_half_life():
    s = parse_lambda("exp:4:100")
    assert [s(0), s(100), s(200), s(300)] == [4.0, 2.0, 1.0, 0.5]


def test_return_ratio():
    s = parse_lambda("return-ratio:1000")
    assert s.kind == "return-ratio" and s.b == 1000
    assert s(0) == 1.0                                         # no episode finished yet
    assert s(10, g_student=25.0, g_teacher=100.0) == 0.75      # 1 - 25/100
    assert s(10, g_student=150.0, g_teacher=100.0) == 0.0      # max(., 0)
    assert s(10, g_student=-300.0, g_teacher=100.0) == 1.0     # capped at 1
    assert s(10, g_student=0.0, g_teacher=100.0, g_random=-100.0) == 0.5  # from random's return
    assert s(1000, g_student=0.0, g_teacher=100.0) == 0.0      # cutoff
    assert parse_lambda("return-ratio").b == math.inf
    floored = parse_lambda("return-ratio::0.1")  # no cutoff, lambda never under 0.1
    assert floored.b == math.inf and floored(10, g_student=150.0, g_teacher=100.0) == 0.1
    assert floored(10, g_student=25.0, g_teacher=100.0) == 0.75


@pytest.mark.parametrize("text", ["linear:1", "foo:1", "constant:-1", "linear:1:0", "exp:a:3",
                                  "return-ratio:0", "return-ratio::2", "constant:nan", ""])
def test_bad_schedules_are_user_errors(text):
    with pytest.raises(UserError):
        parse_lambda(text)


# -------------------------------------------------------------------------------- loss term

def _pair(algo, lam_text, steps, **extra):
    """(plain SB3 model, kick-start model) with the same seed and hyperparameters, trained."""
    import stable_baselines3 as sb3
    from stable_baselines3.common.env_util import make_vec_env

    teacher = load_teacher("zoo:CartPole-v1-ppo")
    _, kw = sb3_kwargs(algo, "CartPole-v1", (16, 16))
    kw.update(extra)
    base = {"ppo": sb3.PPO, "a2c": sb3.A2C, "dqn": sb3.DQN}[algo]
    models = []
    for cls, more in [(base, {}), (ALGOS[algo],
                                   {"teacher": teacher, "lam": parse_lambda(lam_text)})]:
        env = make_vec_env("CartPole-v1", n_envs=1 if algo == "dqn" else 2, seed=3)
        m = cls("MlpPolicy", env, seed=3, verbose=0, **kw, **more)
        m.learn(steps)
        models.append(m)
    return models


def _same_weights(a, b):
    sa, sb = a.policy.state_dict(), b.policy.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _cartpole_states(n=512, seed=7):
    """CartPole states a fresh learner visits: a random policy from seeded resets."""
    import gymnasium as gym

    env, rng, out, episode = gym.make("CartPole-v1"), np.random.default_rng(seed), [], 0
    obs, _ = env.reset(seed=seed)
    while len(out) < n:
        out.append(obs)
        obs, _, terminated, truncated, _ = env.step(int(rng.integers(2)))
        if terminated or truncated:
            episode += 1
            obs, _ = env.reset(seed=seed + episode)
    return torch.as_tensor(np.array(out), dtype=torch.float32)


def _distill_term(student, teacher, obs):
    """The kick-start term as the SB3 subclasses compute it (the teacher head's kl loss at its
    default temperature, batch mean), of an rldistill student on ``obs``."""
    loss = teacher.head.loss("kl", None, teacher.kind)
    with torch.no_grad():
        return float(loss(student.outputs(obs), loss.prepare(teacher.outputs(obs))))


def _kl_to_teacher(model):
    """KL(teacher || model's policy) on the same fixed CartPole states, for any model."""
    from rldistill.drivers.kickstart import to_student

    teacher = load_teacher("zoo:CartPole-v1-ppo")
    obs = _cartpole_states()
    student = to_student(model, teacher).for_task(0)
    with torch.no_grad():
        return float(teacher.head.divergence(teacher.outputs(obs), student.outputs(obs),
                                             teacher.kind).mean())


@pytest.mark.parametrize("algo,extra", [("ppo", dict(n_steps=64, batch_size=32, n_epochs=2)),
                                        ("a2c", dict(n_steps=16))])
def test_on_policy_lambda_zero_is_plain_sb3(algo, extra):
    """PPO's and A2C's copies with lambda 0: SB3's own run to the bit (one forward pass shared
    by both terms gives the same numbers as SB3's evaluate_actions)."""
    plain, ks = _pair(algo, "constant:0", 256, **extra)
    assert ks.ks_last["lambda"] == 0.0 and ks.ks_last["distill_kl"] > 0  # term computed, x 0
    assert _same_weights(plain, ks)


def test_ppo_lambda_positive_pulls_the_student_toward_the_teacher():
    """Same seed, rollouts and hyperparameters: with lambda > 0 the student ends nearer the
    teacher than plain PPO (KL on the same states; measured over seeds 0-9 the kick-started
    KL was 0.58-0.89 of the plain one; 0.64 at this seed)."""
    plain, ks = _pair("ppo", "constant:1", 512, n_steps=64, batch_size=32, n_epochs=4,
                      learning_rate=3e-3)
    assert ks.ks_last["lambda"] == 1.0 and ks.ks_last["distill_kl"] > 0
    assert not _same_weights(plain, ks)
    kl_plain, kl_ks = _kl_to_teacher(plain), _kl_to_teacher(ks)
    assert kl_ks < kl_plain, (kl_ks, kl_plain)


def test_dqn_lambda_zero_is_plain_dqn():
    plain, ks = _pair("dqn", "constant:0", 300, learning_starts=100, train_freq=50,
                      gradient_steps=5)
    assert ks.ks_last["distill_kl"] > 0
    assert _same_weights(plain, ks)


def test_dqn_lambda_positive_pulls_its_q_policy_toward_the_teacher():
    """softmax(Q) of a QDagger student ends nearer the teacher than plain DQN's (measured over
    seeds 0-4: 0.19-0.60 of the plain KL, 0.60 at this seed)."""
    plain, ks = _pair("dqn", "constant:1", 300, learning_starts=100, train_freq=10,
                      gradient_steps=5)
    assert ks.ks_last["lambda"] == 1.0
    kl_plain, kl_ks = _kl_to_teacher(plain), _kl_to_teacher(ks)
    assert kl_ks < kl_plain, (kl_ks, kl_plain)


# ------------------------------------------------------------------------------ end to end

def test_cartpole_kickstart_saves_plain_sb3_zip_and_same_acting_student(tmp_path, capsys):
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    from rldistill.students.network import load_student

    out = tmp_path / "ks"
    rc = main(["--teacher", "zoo:CartPole-v1-ppo", "--env", "CartPole-v1", "--algo", "ppo",
               "--steps", "3072", "--lambda", "linear:1:3072", "--student-hidden", "32,32",
               "--compare-scratch", "--eval-every", "1024", "--eval-episodes", "2",
               "--final-episodes", "3", "--out", str(out), "--json"])
    assert rc == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result == json.loads((out / "result.json").read_text())
    assert result["machine"] == machine()  # where it ran: another CPU is another run
    lam = parse_lambda("linear:1:3072")
    for name in ("student", "scratch"):
        assert {"steps_to_90", "normalized_score", "curve"} <= set(result[name])
        curve = result[name]["curve"]
        assert [p["step"] for p in curve] == [0, 1024, 2048, 3072]
        assert "lambda" not in curve[0]  # before any update
        # each point: the lambda of the update just before it (made at that step), the
        # schedule's for the kick-started run, 0 for its scratch twin; the term computed by both
        want = [round(lam(p["step"]), 5) if name == "student" else 0.0 for p in curve[1:]]
        assert [p["lambda"] for p in curve[1:]] == want
        assert all(p["distill_kl"] > 0 for p in curve[1:])
    # the distillation term dominates early (lambda 1 -> 0): the kick-started student ends
    # above its scratch twin (measured seeds 0-4, ATEN_CPU_CAPABILITY default and avx2: 1.0,
    # 1.0, 0.07, 1.0, 1.0 against -0.00, 0.23, -0.02, -0.01, 0.05; this is seed 0)
    assert result["student"]["normalized_score"] > result["scratch"]["normalized_score"]
    assert "speedup" in result and (out / "curves.png").stat().st_size > 0
    # --seeds aggregates kick-start results: the student and its scratch twin, per seed
    from rldistill.core.config import KickstartConfig
    from rldistill.drivers.seeds import seeds_result

    other = json.loads(json.dumps(result))
    other["config"]["seed"], other["student"]["normalized_score"] = 1, 0.5
    agg = seeds_result(KickstartConfig(**{k: v for k, v in result["config"].items()}),
                       [result, other])
    assert agg["seeds"] == [0, 1] and agg["normalized_score"]["mean"]["value"] == round(
        (result["student"]["normalized_score"] + 0.5) / 2, 4)
    assert agg["scratch_normalized_score"]["runs"] == 2
    assert agg["runs"][1]["steps_to_90"] == result["student"]["steps_to_90"]

    zip_path = out / "student_sb3.zip"
    with zipfile.ZipFile(zip_path) as zf:  # nothing of rldistill pickled into the zip
        assert b"rldistill" not in zf.read("data")
    model = PPO.load(zip_path, env=make_vec_env("CartPole-v1", n_envs=2, seed=0))
    student, meta = load_student(out)
    assert student.arch.hidden == (32, 32) and meta["source"] == "kickstart"
    obs = np.random.default_rng(0).normal(size=(256, 4)).astype(np.float32)
    sb3_actions, _ = model.predict(obs, deterministic=True)
    np.testing.assert_array_equal(student.act(torch.as_tensor(obs)).numpy(), sb3_actions)
    model.learn(256)  # plain SB3 keeps training it


def test_bad_input_exits_2(tmp_path, capsys):
    base = ["--teacher", "zoo:CartPole-v1-ppo", "--algo", "ppo", "--steps", "100",
            "--out", str(tmp_path)]
    assert main([*base, "--env", "CartPole-v1", "--lambda", "linear:1"]) == 2
    assert main([*base, "--env", "LunarLander-v3", "--lambda", "constant:1"]) == 2
    assert "error" in capsys.readouterr().err


def test_pretrain_phase_counts_its_steps_and_starts_at_the_teacher(tmp_path):
    """--pretrain N (QDagger's offline phase): rldistill's loop first, the curve starts at N."""
    from rldistill.drivers.kickstart import run

    r = run(KickstartConfig(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", algo="ppo",
                            steps=6000, lambda_schedule="linear:1:4000", student_hidden="32,32",
                            seed=0, out=str(tmp_path), eval_every=1024, eval_episodes=5,
                            final_episodes=5, pretrain=2000), plot=False)
    curve = r["student"]["curve"]
    assert r["pretrain"] == 2000 and curve[0]["step"] == 2000 and curve[-1]["step"] >= 6000
    assert curve[0]["normalized"] >= 0.9  # measured 1.0: distilled before any RL step
    assert r["student"]["steps_to_90"] == 2000


@pytest.mark.parametrize("algo", ["ppo", "a2c", "dqn", "sac", "td3"])
def test_train_is_sb3s_own_but_for_the_marked_lines(algo):
    """The copied train() holds SB3's own text line for line, except lines marked ##; of SB3's
    lines only PPO's and A2C's evaluate_actions calls are replaced (to share the forward
    pass)."""
    import inspect

    import stable_baselines3 as sb3

    from rldistill.drivers.kickstart.algos import check_sb3_version

    check_sb3_version()  # the installed SB3 is one the copy was checked against
    def lines(fn):
        return [ln.strip() for ln in inspect.getsource(fn).splitlines()[1:] if ln.strip()]

    upstream = lines(getattr(sb3, algo.upper()).train)
    ours = [ln for ln in lines(ALGOS[algo].train) if not ln.endswith("##")]
    missing = [ln for ln in upstream if ln not in ours]
    assert missing == ([ln for ln in upstream if "self.policy.evaluate_actions(" in ln]
                       if algo in ("ppo", "a2c") else [])
    assert [ln for ln in ours if ln in upstream] == [ln for ln in upstream if ln not in missing]
    with pytest.raises(UserError, match="checked for SB3 2.7-2.9"):
        check_sb3_version("2.10.0")


def _pendulum_states(n=512, seed=0):
    rng = np.random.default_rng(seed)
    theta, speed = rng.uniform(-np.pi, np.pi, n), rng.uniform(-8.0, 8.0, n)
    return torch.as_tensor(np.stack([np.cos(theta), np.sin(theta), speed], 1),
                           dtype=torch.float32)


def _pulled_toward_the_teacher(r, teacher_zip, out):
    """lambda 1 at every update of the kick-started run, 0 for its scratch twin (same seed and
    hyperparameters); the distillation term, as the run computes it, lower for the kick-started
    student on the same Pendulum states (measured seeds 0-4, ATEN_CPU_CAPABILITY default and
    avx2: 0.17-0.32 of the scratch twin's)."""
    from rldistill.students.network import load_student

    for name, lam in (("student", 1.0), ("scratch", 0.0)):
        curve = r[name]["curve"]
        assert len(curve) >= 2 and "lambda" not in curve[0]
        assert all(p["lambda"] == lam and p["distill_kl"] > 0 for p in curve[1:]), curve
    teacher, obs = load_teacher(str(teacher_zip)), _pendulum_states()
    ks, meta = load_student(out / "student.json")
    scratch, scratch_meta = load_student(out / "scratch.json")
    assert (meta["config"]["lambda_schedule"], scratch_meta["config"]["lambda_schedule"]) == (
        "constant:1", "constant:0")
    term_ks, term_scratch = (_distill_term(s.for_task(0), teacher, obs) for s in (ks, scratch))
    assert term_ks < term_scratch, (term_ks, term_scratch)


def test_gaussian_teacher_kickstarts_a_ppo_student(tmp_path):
    """Continuous actions: the Gaussian KL to a PPO teacher; the saved SB3 student and the
    rldistill student act alike (the student's last layer carries PPO's log std)."""
    from stable_baselines3 import PPO

    from rldistill.drivers.kickstart import run
    from rldistill.students.network import load_student

    PPO("MlpPolicy", "Pendulum-v1", n_steps=64, seed=0, verbose=0).save(tmp_path / "t.zip")
    r = run(KickstartConfig(teacher=str(tmp_path / "t.zip"), env="Pendulum-v1", algo="ppo",
                            steps=2048, lambda_schedule="constant:1", student_hidden="16,16",
                            eval_every=1024, eval_episodes=2, final_episodes=2,
                            compare_scratch=True, out=str(tmp_path / "ks")), plot=False)
    _pulled_toward_the_teacher(r, tmp_path / "t.zip", tmp_path / "ks")
    model = PPO.load(tmp_path / "ks" / "student_sb3.zip", device="cpu")
    student, meta = load_student(tmp_path / "ks")
    assert meta["heads"] == ["gaussian"]
    obs = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    want, _ = model.predict(obs, deterministic=True)
    np.testing.assert_allclose(student.act(torch.as_tensor(obs)).numpy(), want, atol=1e-5)
    mu, log_std = student.outputs(torch.as_tensor(obs)).chunk(2, -1)
    torch.testing.assert_close(log_std[0], model.policy.log_std.detach())
    with pytest.raises(UserError, match="needs a teacher whose policy is categorical"):
        run(KickstartConfig(teacher=str(tmp_path / "t.zip"), env="Pendulum-v1", algo="dqn",
                            steps=100, lambda_schedule="1", out=str(tmp_path / "x")))


def test_squashed_teacher_kickstarts_a_sac_student(tmp_path):
    """SAC students: the KL to a SAC teacher in pre-squash space; the saved SB3 SAC and the
    rldistill student (mean and log std in one layer) act alike; the copied train() is SB3's."""
    from stable_baselines3 import SAC

    from rldistill.drivers.kickstart import run
    from rldistill.students.network import load_student

    SAC("MlpPolicy", "Pendulum-v1", seed=0, verbose=0,
        policy_kwargs={"net_arch": [32, 32]}).save(tmp_path / "t.zip")
    r = run(KickstartConfig(teacher=str(tmp_path / "t.zip"), env="Pendulum-v1", algo="sac",
                            steps=400, lambda_schedule="constant:1", student_hidden="16,16",
                            eval_every=200, eval_episodes=1, final_episodes=1,
                            compare_scratch=True, out=str(tmp_path / "ks")), plot=False)
    _pulled_toward_the_teacher(r, tmp_path / "t.zip", tmp_path / "ks")
    model = SAC.load(tmp_path / "ks" / "student_sb3.zip", device="cpu")
    student, meta = load_student(tmp_path / "ks")
    assert meta["heads"] == ["squashed_gaussian"]
    obs = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    want, _ = model.predict(obs, deterministic=True)
    np.testing.assert_allclose(student.act(torch.as_tensor(obs)).numpy(), want, atol=1e-5)


def test_kickstart_and_teacher_train_use_the_env_recipe(tmp_path, capsys):
    """An RL Zoo folder's wrappers reach kick-starting's SB3 envs, its evaluations and the
    saved student (TimeLimit 100: the teacher's CartPole returns stop at 100, not 500); the
    online teacher's SB3 envs get --env-wrapper as the loop's do."""
    import shutil

    from rldistill.drivers.teacher_train import make_model
    from rldistill.envs.recipe import EnvRecipe
    from rldistill.students.network import load_student

    zoo = Path(__file__).resolve().parents[1] / "src/rldistill/zoo/CartPole-v1-ppo.zip"
    folder = tmp_path / "logs" / "ppo" / "CartPole-v1_1"
    (folder / "CartPole-v1").mkdir(parents=True)
    shutil.copy(zoo, folder / "CartPole-v1.zip")
    (folder / "CartPole-v1" / "config.yml").write_text(
        "!!python/object/apply:collections.OrderedDict\n- - - env_wrapper\n"
        "    - - gymnasium.wrappers.TimeLimit:\n          max_episode_steps: 100\n")
    out = tmp_path / "ks"
    assert main(["--teacher", str(folder), "--env", "CartPole-v1", "--algo", "ppo", "--steps",
                 "512", "--eval-every", "512", "--eval-episodes", "2", "--final-episodes", "2",
                 "--student-hidden", "8", "--out", str(out), "--json"]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["teacher"]["eval_return_mean"] == r["teacher"]["final_return_mean"] == 100.0
    assert all(p["return"] <= 100 for p in r["student"]["curve"])
    assert load_student(out)[1]["env_recipe"]["wrappers"][0][1] == {"max_episode_steps": 100}
    recipe = EnvRecipe("CartPole-v1", wrappers=(("gymnasium.wrappers.TimeLimit",
                                                 {"max_episode_steps": 20}),))
    model, _ = make_model("ppo", recipe, 0)
    env = model.get_env().envs[0]
    while not isinstance(env, gym.wrappers.TimeLimit) or env._max_episode_steps != 20:
        env = env.env  # AttributeError (no such wrapper) fails the test


def test_to_student_keeps_the_sb3_policys_activation():
    """An SB3 policy with tanh (SB3's own PPO default) becomes a tanh student that acts alike."""
    from stable_baselines3 import PPO

    from rldistill.drivers.kickstart import to_student

    teacher = load_teacher("zoo:CartPole-v1-ppo")
    model = PPO("MlpPolicy", "CartPole-v1", seed=0, device="cpu",
                policy_kwargs=dict(net_arch=dict(pi=[8, 8], vf=[8, 8])))
    student = to_student(model, teacher)
    assert student.arch.activation == "tanh"
    obs = _cartpole_states()
    with torch.no_grad():
        logits = model.policy.get_distribution(obs).distribution.logits
    torch.testing.assert_close(torch.log_softmax(student.outputs(obs), -1), logits)
