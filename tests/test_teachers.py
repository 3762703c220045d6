import gymnasium as gym
import numpy as np
import pytest
import torch

from rldistill.core.errors import UserError
from rldistill.core.machine import machine
from rldistill.sources import load_teacher


@pytest.mark.parametrize("name,kind", [("ppo", "logits"), ("a2c", "logits"), ("dqn", "q"),
                                       ("qrdqn", "q")])
def test_sb3_zip_acts_like_sb3(sb3_zips, name, kind):
    from sb3_contrib import QRDQN
    from stable_baselines3 import A2C, DQN, PPO

    cls = {"ppo": PPO, "a2c": A2C, "dqn": DQN, "qrdqn": QRDQN}[name]
    model = cls.load(sb3_zips[name], device="cpu")
    teacher = load_teacher(str(sb3_zips[name]))
    assert teacher.kind == kind and teacher.spec.obs_shape == (4,) and teacher.spec.action.n == 2
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    sb3_actions, _ = model.predict(obs, deterministic=True)
    assert (teacher.act(torch.from_numpy(obs)).numpy() == sb3_actions).all()


def test_acting_params_exclude_value_and_target_nets(sb3_zips):
    ppo = load_teacher(str(sb3_zips["ppo"]))  # net_arch [32, 16]: 4*32+32 + 32*16+16 + 16*2+2
    assert ppo.params == 160 + 528 + 34
    dqn = load_teacher(str(sb3_zips["dqn"]))  # q_net only, not q_net_target
    assert dqn.params == 4 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2


def test_ppo_logits_match_sb3_distribution(sb3_zips):
    from stable_baselines3 import PPO

    model = PPO.load(sb3_zips["ppo"], device="cpu")
    obs = torch.randn(8, 4)
    sb3_logp = model.policy.get_distribution(obs).distribution.logits
    ours = torch.log_softmax(load_teacher(str(sb3_zips["ppo"])).outputs(obs), -1)
    assert torch.allclose(sb3_logp, ours, atol=1e-6)


def test_bad_teacher_files(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_teacher(str(tmp_path / "missing.zip"))
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(UserError, match="not a valid zip"):
        load_teacher(str(junk))
    with pytest.raises(UserError, match="no zoo teacher"):
        load_teacher("zoo:NoSuchTeacher")


def _malicious_pickle(marker):
    import os
    import pickle

    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    return pickle.dumps(Boom())


def test_crafted_zip_is_refused_and_runs_no_code(sb3_zips, tmp_path):
    import base64
    import json
    import zipfile

    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.zip"
    with zipfile.ZipFile(sb3_zips["ppo"]) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.namelist():
            payload = src.read(item)
            if item == "policy.pth":
                payload = _malicious_pickle(marker)
            if item == "data":  # a poisoned serialized field too: never unpickled
                data = json.loads(payload)
                data["policy_class"][":serialized:"] = base64.b64encode(
                    _malicious_pickle(marker)).decode()
                payload = json.dumps(data).encode()
            dst.writestr(item, payload)
    with pytest.raises(UserError, match="--trust-teacher"):
        load_teacher(str(bad))
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "rldistill.cli", "distill", "--teacher",
                           str(bad), "--env", "CartPole-v1", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not marker.exists()


def test_poisoned_data_json_alone_loads_without_running_code(sb3_zips, tmp_path):
    import base64
    import json
    import zipfile

    marker = tmp_path / "pwned"
    path = tmp_path / "poisoned_data.zip"
    with zipfile.ZipFile(sb3_zips["dqn"]) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.namelist():
            payload = src.read(item)
            if item == "data":
                data = json.loads(payload)
                for key in ("policy_class", "observation_space", "action_space"):
                    data[key][":serialized:"] = base64.b64encode(
                        _malicious_pickle(marker)).decode()
                payload = json.dumps(data).encode()
            dst.writestr(item, payload)
    assert load_teacher(str(path)).kind == "q"
    assert not marker.exists()


def test_custom_policy_needs_trust(tmp_path):
    from stable_baselines3 import PPO
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    class Custom(BaseFeaturesExtractor):
        def __init__(self, space):
            super().__init__(space, features_dim=8)
            self.lin = torch.nn.Linear(4, 8)

        def forward(self, obs):
            return torch.relu(self.lin(obs))

    model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, seed=0, verbose=0,
                policy_kwargs={"features_extractor_class": Custom})
    model.save(tmp_path / "custom.zip")
    with pytest.raises(UserError, match="custom policy.*--trust-teacher"):
        load_teacher(str(tmp_path / "custom.zip"))
    teacher = load_teacher(str(tmp_path / "custom.zip"), trust=True)
    obs = torch.randn(16, 4)
    expected, _ = model.predict(obs.numpy(), deterministic=True)
    assert (teacher.act(obs).numpy() == expected).all()


class _ReluExtractor(torch.nn.Module):  # SB3's docs' custom mlp_extractor, with ReLU
    def __init__(self, n):
        super().__init__()
        self.latent_dim_pi = self.latent_dim_vf = 16
        self.policy_net = torch.nn.Sequential(torch.nn.Linear(n, 16), torch.nn.ReLU())
        self.value_net = torch.nn.Sequential(torch.nn.Linear(n, 16), torch.nn.ReLU())

    def forward(self, features):
        return self.forward_actor(features), self.forward_critic(features)

    def forward_actor(self, features):
        return self.policy_net(features)

    def forward_critic(self, features):
        return self.value_net(features)


def _custom_policy_class():
    from stable_baselines3.common.policies import ActorCriticPolicy

    class CustomActorCriticPolicy(ActorCriticPolicy):
        def _build_mlp_extractor(self):
            self.mlp_extractor = _ReluExtractor(self.features_dim)

    return CustomActorCriticPolicy


def test_a_custom_policy_class_needs_trust_then_acts_as_sb3(tmp_path):
    """Its state-dict keys look like SB3's own (mlp_extractor.policy_net.0, action_net), its
    activation is not the one the zip names (ReLU, not Tanh): refused without the flag rather
    than rebuilt wrong; with it, SB3 loads the class and the teacher acts as model.predict."""
    from stable_baselines3 import PPO

    model = PPO(_custom_policy_class(), "Pendulum-v1", n_steps=64, seed=0, verbose=0)
    with torch.no_grad():
        for p in model.policy.parameters():
            p.normal_(0, 0.5)
    model.save(tmp_path / "custom.zip")
    with pytest.raises(UserError, match="custom policy class .*CustomActorCriticPolicy"):
        load_teacher(str(tmp_path / "custom.zip"))
    teacher = load_teacher(str(tmp_path / "custom.zip"), trust=True)
    obs = torch.randn(64, 3)
    expected, _ = model.predict(obs.numpy(), deterministic=True)
    got = teacher.head.to_env(teacher.act(obs))
    np.testing.assert_allclose(np.asarray(got).reshape(64, -1), expected, atol=1e-5)
    assert teacher.kind == "gaussian" and teacher.source["trusted"]


@pytest.mark.parametrize("algo,kw,kind", [
    ("SAC", {}, "squashed"), ("SAC", {"use_sde": True}, "squashed"), ("TQC", {}, "squashed"),
    ("TD3", {}, "deterministic"), ("DDPG", {}, "deterministic"),
    ("PPO", {"n_steps": 64}, "gaussian"), ("PPO", {"n_steps": 64, "use_sde": True}, "gaussian"),
    ("A2C", {}, "gaussian")])
def test_continuous_teachers_load_safely_and_act_like_sb3(tmp_path, algo, kw, kind):
    """Rebuilt from the zip without unpickling: the same greedy actions as SB3's predict and
    the same distribution as SB3's (mean and std, gSDE's state-dependent std included)."""
    import sb3_contrib
    import stable_baselines3

    cls = getattr(stable_baselines3, algo, None) or getattr(sb3_contrib, algo)
    model = cls("MlpPolicy", "Pendulum-v1", seed=0, verbose=0, **kw)
    if kw.get("use_sde"):  # non-zero stds and a trained-looking mean
        with torch.no_grad():
            for p in model.policy.parameters():
                p.add_(0.1 * torch.randn_like(p))
    model.save(tmp_path / "m.zip")
    teacher = load_teacher(str(tmp_path / "m.zip"))
    assert teacher.kind == kind and teacher.spec.action.low == (-2.0,)
    obs = torch.randn(128, 3) * torch.tensor([1.0, 1.0, 4.0])
    want, _ = model.predict(obs.numpy(), deterministic=True)
    np.testing.assert_allclose(teacher.act(obs).numpy(), want, atol=1e-5)
    if kind != "deterministic":
        with torch.no_grad():
            if hasattr(model.policy, "actor"):
                mean, log_std, extra = model.policy.actor.get_action_dist_params(obs)
                dist = model.policy.actor.action_dist.proba_distribution(mean, log_std, **extra)
            else:
                dist = model.policy.get_distribution(obs)
        mu, ls = teacher.outputs(obs).chunk(2, -1)
        torch.testing.assert_close(mu, dist.distribution.mean, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(ls.exp(), dist.distribution.stddev, atol=1e-5, rtol=1e-4)


def test_an_action_space_without_a_head_is_refused(tmp_path):
    """MultiDiscrete is read (tests/test_multi_actions.py); a Tuple action space in the zip's
    data, or a MultiDiscrete not starting at 0, is a one-line error."""
    import json
    import zipfile

    from stable_baselines3 import PPO

    env = gym.make("CartPole-v1")
    env.action_space = gym.spaces.MultiDiscrete([2, 2])
    PPO("MlpPolicy", env, n_steps=64, verbose=0).save(tmp_path / "md.zip")
    assert load_teacher(str(tmp_path / "md.zip")).spec.action.nvec == (2, 2)
    for name, change in (("tuple", {":type:": "<class 'gymnasium.spaces.tuple.Tuple'>"}),
                         ("start", {"start": "[1 0]"})):
        with zipfile.ZipFile(tmp_path / "md.zip") as z:
            files = {n: z.read(n) for n in z.namelist()}
        data = json.loads(files["data"])
        data["action_space"].update(change)
        files["data"] = json.dumps(data).encode()
        with zipfile.ZipFile(tmp_path / f"{name}.zip", "w") as z:
            for n, b in files.items():
                z.writestr(n, b)
        with pytest.raises(UserError, match="Tuple action space|MultiDiscrete action space "
                                            "cannot be read"):
            load_teacher(str(tmp_path / f"{name}.zip"))


def test_truncated_and_foreign_zips(sb3_zips, tmp_path):
    import zipfile

    cut = tmp_path / "cut.zip"
    cut.write_bytes(sb3_zips["ppo"].read_bytes()[:5000])
    with pytest.raises(UserError, match="not a valid zip|truncated"):
        load_teacher(str(cut))
    foreign = tmp_path / "keras.zip"
    with zipfile.ZipFile(foreign, "w") as z:
        z.writestr("model.h5", b"\x89HDF")
    with pytest.raises(UserError, match="not a Stable-Baselines3 model"):
        load_teacher(str(foreign))


@pytest.mark.parametrize("algo", ["ppo", "a2c", "sac", "td3", "ddpg", "tqc"])
def test_every_mujoco_teacher_trains_with_the_zoos_values(algo):
    """`teacher train` on a MuJoCo env takes RL Zoo's v4 entry (not SB3's defaults, which for
    TD3 mean no exploration noise: an Ant that learns to stand): every continuous algorithm on
    the four locomotion envs; TD3 and DDPG with the zoo's Gaussian action noise."""
    from rldistill.zoo.hyperparams import MUJOCO, lookup

    for env in MUJOCO:
        n_envs, kw = lookup(algo, env)
        assert kw and n_envs == 1, (algo, env)
        if algo in ("td3", "ddpg"):
            assert (kw["noise_std"], kw["learning_starts"]) == (0.1, 10_000), env
    if algo == "td3":
        pytest.importorskip("mujoco")
        from rldistill.drivers.teacher_train import make_model

        model, _ = make_model("td3", "Ant-v5", 0)
        assert model.action_noise is not None and model.learning_starts == 10_000
        model.get_env().close()


def test_minatar_dqn_teachers_train_as_the_minatar_paper():
    """`teacher train --algo dqn` on MinAtar builds the MinAtar paper's DQN (examples/dqn.py of
    kenjyoung/MinAtar): its network (one 3x3 convolution of 16, a dense 128), centred RMSprop
    (lr 2.5e-4, alpha 0.95, eps 0.01), a replay of 100k, targets every 1 000 steps and epsilon
    1 -> 0.1, not SB3's defaults (a replay of a million, Adam, no MinAtar network)."""
    pytest.importorskip("minatar")
    import torch

    from rldistill.drivers.teacher_train import make_model
    from rldistill.zoo.minatar import MinAtarCNN

    model, _ = make_model("dqn", "MinAtar/Breakout-v1", 0)
    opt = model.policy.optimizer
    assert isinstance(model.q_net.features_extractor, MinAtarCNN)
    assert isinstance(opt, torch.optim.RMSprop)
    group = opt.param_groups[0]
    assert (group["lr"], group["alpha"], group["eps"], group["centered"]) == (2.5e-4, 0.95,
                                                                              0.01, True)
    assert (model.buffer_size, model.batch_size, model.target_update_interval,
            model.exploration_initial_eps, model.exploration_final_eps) == (100_000, 32, 1000,
                                                                            1.0, 0.1)
    model.get_env().close()


def _same_model(a, b) -> None:
    """Two SB3 models hold the same weights, optimizer states, torch variables and counters."""
    from rldistill.drivers.finetune.sb3_state import COUNTERS, torch_state

    sa, sb = torch_state(a), torch_state(b)
    assert sa.keys() == sb.keys() and len(sa) > 4
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    assert [getattr(a, k, None) for k in COUNTERS] == [getattr(b, k, None) for k in COUNTERS]


def test_a_teacher_checkpoint_holds_the_whole_training_state(tmp_path):
    """What `teacher train --resume` restores is the model that stopped: weights, optimizer
    states, the replay buffer with its position, SB3's counters (DQN); VecNormalize's running
    statistics (A2C on MuJoCo); read back from safetensors, nothing unpickled."""
    from rldistill.drivers.finetune.sb3_state import restore, save_model_state
    from rldistill.drivers.teacher_train import make_model
    from rldistill.engine.checkpoint import load_checkpoint

    cases = [("dqn", "CartPole-v1", 1500)]
    if __import__("importlib").util.find_spec("mujoco"):
        cases.append(("a2c", "Hopper-v5", 200))
    for algo, env, steps in cases:
        a, _ = make_model(algo, env, 0)
        a.learn(steps)
        save_model_state(tmp_path / f"{algo}.ckpt", a, {"kind": "teacher"})
        b, _ = make_model(algo, env, 1)
        tensors, state = load_checkpoint(tmp_path / f"{algo}.ckpt")
        restore(b, tensors, state["counters"])
        _same_model(a, b)
        if algo == "dqn":
            assert a._n_updates > 0 and b.replay_buffer.pos == a.replay_buffer.pos >= 1500
            np.testing.assert_array_equal(b.replay_buffer.observations,
                                          a.replay_buffer.observations)
        else:
            va, vb = a.get_env(), b.get_env()
            assert vb.obs_rms.count == va.obs_rms.count > 200
            np.testing.assert_array_equal(vb.obs_rms.mean, va.obs_rms.mean)
            np.testing.assert_array_equal(vb.ret_rms.var, va.ret_rms.var)
        for m in (a, b):
            m.get_env().close()


def test_teacher_train_stops_and_resumes(tmp_path, capsys):
    """--max-seconds leaves a checkpoint beside --out; a second run without --resume is a
    one-line error that keeps it; --resume goes on to --steps and removes it."""
    import json

    from rldistill.cli import main
    from rldistill.drivers.teacher_train import checkpoint_path

    out = tmp_path / "t.zip"
    argv = ["teacher", "train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "512",
            "--out", str(out), "--eval-episodes", "2"]
    assert main([*argv, "--max-seconds", "1e-9"]) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert first["steps"] < 512 and first["steps_asked"] == 512
    assert checkpoint_path(out).exists()
    assert main(argv) == 2
    assert "--resume" in capsys.readouterr().err and checkpoint_path(out).exists()
    other = [a if a != "ppo" else "a2c" for a in argv]  # another run's options: kept, one line
    assert main([*other, "--resume"]) == 2
    assert "another training" in capsys.readouterr().err and checkpoint_path(out).exists()
    assert main([*argv, "--resume"]) == 0
    done = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert done["steps"] >= 512 and done["resumed_from"] == first["steps"]
    assert "steps_asked" not in done and not checkpoint_path(out).exists()
    assert main(["teacher", "train", "--algo", "dqn", "--env", "CartPole-v1", "--steps", "64",
                 "--out", str(tmp_path / "d.zip"), "--resume", "--max-seconds", "1e-9"]) == 0
    assert "no checkpoint" in capsys.readouterr().err
    bad = checkpoint_path(tmp_path / "d.zip")
    bad.write_bytes(b"not a checkpoint")
    assert main(["teacher", "train", "--algo", "dqn", "--env", "CartPole-v1", "--steps", "64",
                 "--out", str(tmp_path / "d.zip"), "--resume"]) == 2
    assert "delete it" in capsys.readouterr().err and bad.read_bytes() == b"not a checkpoint"


def test_a_killed_teacher_training_resumes_from_its_checkpoint(tmp_path):
    """SIGKILL half way through a training: its last periodic checkpoint (written whole or not
    at all) is where --resume starts."""
    import json
    import signal
    import subprocess
    import sys
    import time

    from rldistill.drivers.teacher_train import checkpoint_path

    out = tmp_path / "t.zip"
    argv = ["teacher", "train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "10000000",
            "--out", str(out), "--eval-episodes", "2"]
    code = ("import sys, rldistill.drivers.teacher_train as t; t.CKPT_EVERY_S = 0.2; "
            "from rldistill.cli import main; sys.exit(main(sys.argv[1:]))")
    p = subprocess.Popen([sys.executable, "-c", code, *argv])
    try:
        for _ in range(600):
            if checkpoint_path(out).exists() or p.poll() is not None:
                break
            time.sleep(0.1)
        time.sleep(0.5)  # past one more save, perhaps mid-write
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    assert checkpoint_path(out).exists() and not out.exists()
    from rldistill.cli import main

    assert main([*argv, "--resume", "--max-seconds", "1e-9"]) == 0
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["resumed_from"] > 0 and record["steps"] >= record["resumed_from"]
    assert record["machine"] == machine()


SHIPPED_BANK = ["MinAtar-Breakout-v1-dqn-s1", "MinAtar-SpaceInvaders-v1-dqn-s1",
                "MinAtar-Freeway-v1-dqn-s1", "Ant-v5-sac-s1", "Ant-v5-sac-s2"]


@pytest.mark.parametrize("name", SHIPPED_BANK)
def test_the_bank_teachers_in_git_load_safely_and_are_the_records_ones(name):
    """The teachers that took long to train ship slimmed (benchmarks/bank: `bank.py ship`):
    small, read without unpickling, with the record their rows cite (same acting network)."""
    import json
    from pathlib import Path

    bank = Path(__file__).parents[1] / "benchmarks" / "bank"
    zip_path = bank / "teachers" / f"{name}.zip"
    record = json.loads((bank / "results" / f"{name}.json").read_text())
    assert zip_path.stat().st_size < 2_500_000  # optimizers' moments dropped
    teacher = load_teacher(str(zip_path))
    assert teacher.params == record["acting_params"]
    assert record["file"] == zip_path.name and record["return_mean"] > 0
