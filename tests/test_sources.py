"""Teacher sources: RL Zoo experiment folders, the Hugging Face cache, renamed env ids, env
recipes, torch files, sb3-contrib algorithms; crafted files are one-line errors."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from rldistill.cli import main
from rldistill.envs.recipe import EnvRecipe, FrameStack
from rldistill.envs.make import make_env, map_env_id
from rldistill.core.errors import UserError
from rldistill.sources import load_teacher
from rldistill.sources.resolve import read_zoo_yaml, resolve

ZOO = Path(__file__).resolve().parents[1] / "src/rldistill/zoo"
CONFIG = """!!python/object/apply:collections.OrderedDict
- - - env_wrapper
    - - gymnasium.wrappers.TimeLimit:
          max_episode_steps: 100
  - - frame_stack
    - 2
  - - n_envs
    - 8
  - - normalize
    - true
  - - policy
    - MlpPolicy
"""
ARGS = """!!python/object/apply:collections.OrderedDict
- - - algo
    - ppo
  - - env
    - CartPole-v1
  - - env_kwargs
    - null
  - - gym_packages
    - []
"""


def _zoo_folder(root: Path, zip_src: Path, env: str = "CartPole-v1", config: str = CONFIG,
                pkl: Path | None = None) -> Path:
    """An experiment folder in RL Zoo's layout: logs/ppo/ENV_1/{ENV.zip, ENV/*.yml}."""
    folder = root / "logs" / "ppo" / f"{env}_1"
    (folder / env).mkdir(parents=True)
    shutil.copy(zip_src, folder / f"{env}.zip")
    (folder / env / "config.yml").write_text(config)
    (folder / env / "args.yml").write_text(ARGS.replace("CartPole-v1", env))
    if pkl:
        shutil.copy(pkl, folder / env / "vecnormalize.pkl")
    return folder


def test_restricted_yaml_reads_rl_zoo_files_and_refuses_other_tags(tmp_path):
    (tmp_path / "config.yml").write_text(CONFIG)
    doc = read_zoo_yaml(tmp_path / "config.yml")
    assert doc["frame_stack"] == 2 and doc["normalize"] is True
    assert doc["env_wrapper"] == [{"gymnasium.wrappers.TimeLimit": {"max_episode_steps": 100}}]
    marker = tmp_path / "pwned"
    for evil in [f"!!python/object/apply:os.system ['touch {marker}']",
                 "!!python/name:os.system",
                 f"- !!python/object/new:subprocess.Popen [['touch', '{marker}']]",
                 "!!python/object/apply:collections.OrderedDict {args: [1]}"]:
        (tmp_path / "evil.yml").write_text(evil)
        with pytest.raises(UserError, match="not a plain RL Zoo YAML file") as e:
            read_zoo_yaml(tmp_path / "evil.yml")
        assert "\n" not in str(e.value)
    assert not marker.exists()


def test_an_rl_zoo_folder_gives_zip_statistics_env_and_wrappers(tmp_path, capsys):
    folder = _zoo_folder(tmp_path, ZOO / "CartPole-v1-ppo.zip")
    src = resolve(str(folder))
    assert src.zip == folder / "CartPole-v1.zip"
    assert str(src.env) == "CartPole-v1" and src.env.frame_stack == 2
    assert src.env.wrappers == (("gymnasium.wrappers.TimeLimit", {"max_episode_steps": 100}),)
    assert src.origin["env"].endswith("args.yml") and src.origin["frame_stack"].endswith(
        "config.yml")
    assert "normalize: True but the folder holds no vecnormalize.pkl" in src.notes[0]
    assert resolve(str(folder / "CartPole-v1.zip")).env == src.env  # the zip inside it too
    # the recipe builds the env as RL Zoo did: TimeLimit(100) and 2 frames (SB3's layout)
    env = make_env(src.env)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (8,) and np.all(obs[:4] == 0)
    assert main(["teacher", "info", str(folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert info["algorithm"] == "ppo" and info["env"]["frame_stack"] == 2
    assert info["notes"] and info["observation"]["shape"] == [4]


def test_distil_from_an_rl_zoo_folder_with_only_teacher_and_out(tmp_path, capsys):
    """The env and its VecNormalize statistics come from the folder; the recipe is saved."""
    folder = _zoo_folder(tmp_path, ZOO / "HalfCheetah-v5-ppo.zip", env="HalfCheetah-v5",
                         config=CONFIG.replace("frame_stack\n    - 2", "frame_stack\n    - 0"),
                         pkl=ZOO / "HalfCheetah-v5-ppo" / "vecnormalize.pkl")
    out = tmp_path / "run"
    assert main(["distill", "--teacher", str(folder), "--out", str(out), "--budget", "300",
                 "--student-hidden", "8", "--min-updates", "20", "--eval-episodes", "1",
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["env"] == "HalfCheetah-v5" and r["config"]["env"] == "HalfCheetah-v5"
    meta = json.loads((out / "student.json").read_text())
    assert meta["teacher"]["normalize"].endswith("vecnormalize.pkl")
    assert meta["env_recipe"]["wrappers"] == [["gymnasium.wrappers.TimeLimit",
                                               {"max_episode_steps": 100}]]
    # evaluation rebuilds the same env: TimeLimit(100) -> episodes of 100 steps
    assert main(["evaluate", "--student", str(out), "--episodes", "1", "--json"]) == 0
    ev = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert ev["student"]["length_mean"] == 100


def test_unknown_wrapper_in_a_folder_is_refused_without_importing_it(tmp_path):
    evil = CONFIG.replace("gymnasium.wrappers.TimeLimit", "os.system")
    folder = _zoo_folder(tmp_path, ZOO / "CartPole-v1-ppo.zip", config=evil)
    with pytest.raises(UserError, match="env wrapper 'os.system' is not one rldistill applies"):
        resolve(str(folder))


def _hub_cache(root: Path, repo: str, files: dict[str, Path | str]) -> Path:
    """A Hugging Face cache as huggingface_hub lays it out: blobs, a snapshot of links, refs."""
    org, name = repo.split("/")
    base = root / f"models--{org}--{name}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (base / "refs").mkdir(parents=True)
    (base / "refs" / "main").write_text(commit)
    snap = base / "snapshots" / commit
    snap.mkdir(parents=True)
    (base / "blobs").mkdir()
    for i, (fname, content) in enumerate(files.items()):
        blob = base / "blobs" / f"blob{i}"
        if isinstance(content, Path):
            shutil.copy(content, blob)
        else:
            blob.write_text(content)
        os.symlink(os.path.relpath(blob, snap), snap / fname)
    return root


def test_hf_teacher_from_the_local_cache_offline(tmp_path):
    pytest.importorskip("huggingface_hub")
    cache = _hub_cache(tmp_path / "hub", "sb3/ppo-LunarLander-v2", {
        "ppo-LunarLander-v2.zip": ZOO / "LunarLander-v3-ppo.zip",
        "config.yml": "!!python/object/apply:collections.OrderedDict\n- - - n_envs\n    - 16\n",
        "env_kwargs.yml": "{}\n"})
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    run = [sys.executable, "-m", "rldistill.cli"]
    p = subprocess.run([*run, "teacher", "info", "hf:sb3/ppo-LunarLander-v2", "--json"],
                       env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout.strip().splitlines()[-1])
    assert info["env"]["id"] == "LunarLander-v2" and info["origin"]["env"] == "the folder's name"
    out = tmp_path / "run"
    p = subprocess.run([*run, "distill", "--teacher", "hf:sb3/ppo-LunarLander-v2", "--out",
                        str(out), "--budget", "300", "--student-hidden", "8",
                        "--eval-episodes", "1", "--json"], env=env, capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr
    # the Hub's env id is gone from Gymnasium: mapped to v3 (same spaces) with a notice
    assert "env LunarLander-v2 is not available in this Gymnasium; using LunarLander-v3" in \
        p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1])["env"] == "LunarLander-v3"
    p = subprocess.run([*run, "teacher", "info", "hf:sb3/dqn-Missing-v0"], env=env,
                       capture_output=True, text=True)
    assert p.returncode == 2 and "hf download sb3/dqn-Missing-v0" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_renamed_env_ids_map_by_spaces_or_are_refused():
    t = load_teacher("zoo:LunarLander-v3-ppo")
    assert map_env_id("LunarLander-v3", t.spec) == "LunarLander-v3"
    assert map_env_id("LunarLander-v2", t.spec) == "LunarLander-v3"
    with pytest.raises(UserError, match=r"HalfCheetah-v5 has obs \(17,\), continuous") as e:
        map_env_id("HalfCheetah-v3", t.spec)  # v4 / v5: other spaces than this teacher's
    assert "\n" not in str(e.value)
    cheetah = load_teacher("zoo:HalfCheetah-v5-ppo")
    assert map_env_id("HalfCheetah-v3", cheetah.spec) == "HalfCheetah-v5"  # the newest
    assert map_env_id("HalfCheetah-v4", cheetah.spec) == "HalfCheetah-v4"  # still built


def test_frame_stack_matches_sb3_vec_frame_stack():
    from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack

    ours = FrameStack(make_env("CartPole-v1"), 3)
    sb3 = VecFrameStack(DummyVecEnv([lambda: make_env("CartPole-v1")]), 3)
    sb3.seed(7)
    a, _ = ours.reset(seed=7)
    b = sb3.reset()
    np.testing.assert_array_equal(a, b[0])
    for step in range(30):
        a, _, term, trunc, _ = ours.step(step % 2)
        b, _, done, _ = sb3.step(np.array([step % 2]))
        if term or trunc:
            break
        np.testing.assert_array_equal(a, b[0])


def test_env_module_and_module_colon_id(tmp_path, monkeypatch, capsys):
    pkg = tmp_path / "mytoyenvs"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "import gymnasium as gym\n"
        "gym.register('MyToyCartPole-v0', entry_point='gymnasium.envs.classic_control:CartPoleEnv',"
        " max_episode_steps=50)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    base = ["distill", "--teacher", "zoo:CartPole-v1-ppo", "--budget", "200",
            "--student-hidden", "8", "--eval-episodes", "1", "--json"]
    assert main([*base, "--env", "MyToyCartPole-v0", "--out", str(tmp_path / "a")]) == 2
    assert "--env-module PKG" in capsys.readouterr().err
    assert main([*base, "--env", "MyToyCartPole-v0", "--env-module", "mytoyenvs",
                 "--out", str(tmp_path / "b")]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["student"]["length_mean"] <= 50
    meta = json.loads((tmp_path / "b" / "student.json").read_text())
    assert meta["env_recipe"]["modules"] == ["mytoyenvs"]
    assert main([*base, "--env", "mytoyenvs:MyToyCartPole-v0", "--out", str(tmp_path / "c")]) == 0
    capsys.readouterr()
    assert main(["teacher", "info", "zoo:CartPole-v1-ppo", "--env-module", "nopkg_xyz"]) == 2
    assert "env module 'nopkg_xyz' cannot be imported" in capsys.readouterr().err


def test_torch_file_teachers_need_kind_env_and_trust(tmp_path, capsys):
    net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    torch.jit.script(net).save(str(tmp_path / "t.pt"))
    base = ["distill", "--teacher", str(tmp_path / "t.pt"), "--out", str(tmp_path / "r"),
            "--budget", "200", "--student-hidden", "8", "--eval-episodes", "1"]
    wide = torch.nn.Sequential(torch.nn.Linear(4, 3))
    torch.save(wide, tmp_path / "wide.pt")  # a pickled module, not TorchScript
    for extra, msg in [([], "does not name one: pass --env ID"),
                       (["--env", "CartPole-v1"], "pass --teacher-kind"),
                       (["--teacher-kind", "q", "--env", "CartPole-v1"], "--trust-teacher"),
                       (["--teacher-kind", "gaussian", "--env", "CartPole-v1",
                         "--trust-teacher"], "does not fit env CartPole-v1"),
                       (["--teacher-kind", "q", "--env", "Acrobot-v1", "--trust-teacher"],
                        "cannot act on env Acrobot-v1's observations of shape (6,)"),
                       (["--teacher-kind", "q", "--env", "CartPole-v1", "--trust-teacher",
                         "--teacher", str(tmp_path / "wide.pt")],
                        "returns (2, 3) for a batch of 2 observations")]:
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert msg in err and len(err.splitlines()) == 1, err
    assert main([*base, "--teacher-kind", "q", "--env", "CartPole-v1", "--trust-teacher",
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["teacher"]["kind"] == "q" and r["agreement"] > 0.5


@pytest.mark.parametrize("algo,env,kind", [("TRPO", "CartPole-v1", "logits"),
                                           ("ARS", "CartPole-v1", "q"),
                                           ("ARS", "Pendulum-v1", "deterministic")])
def test_sb3_contrib_teachers_act_as_sb3_predicts(tmp_path, algo, env, kind):
    import sb3_contrib

    cls = getattr(sb3_contrib, algo)
    model = cls("MlpPolicy", env, seed=0, policy_kwargs={"net_arch": [16]})
    with torch.no_grad():  # ARS starts at zero weights: give it a policy to compare
        for p in model.policy.parameters():
            p.normal_(0, 0.5)
    model.save(tmp_path / "m.zip")
    t = load_teacher(str(tmp_path / "m.zip"))
    assert t.kind == kind and t.source["algorithm"] == algo.lower()
    x = np.random.default_rng(0).normal(size=(256, *t.spec.obs_shape)).astype(np.float32)
    want, _ = model.predict(x, deterministic=True)
    got = t.head.to_env(t.act(torch.from_numpy(x)))
    np.testing.assert_allclose(np.asarray(got, float).reshape(256, -1),
                               np.asarray(want, float).reshape(256, -1), atol=1e-5)


def test_recurrent_ppo_teacher_carries_its_lstm_state(tmp_path, stopped_and_resumed):
    """RecurrentPPO read from its weights: its steps (state zeroed at episode starts) are SB3's
    own to the bit; a distill run labels with the state carried per env (its evaluation too)
    and resumes with the teacher's state from its checkpoint: the same student."""
    from sb3_contrib import RecurrentPPO

    from rldistill.core.config import DistillConfig

    model = RecurrentPPO("MlpLstmPolicy", "CartPole-v1", n_steps=64, seed=0,
                         policy_kwargs={"lstm_hidden_size": 32})
    model.learn(256)
    model.save(tmp_path / "r.zip")
    t = load_teacher(str(tmp_path / "r.zip"))
    assert t.recurrent and t.kind == "logits"
    pol = model.policy.eval()
    x = torch.randn(8, 3, 4, generator=torch.Generator().manual_seed(0))
    starts = torch.zeros(8, 3)
    starts[0], starts[3, 1], starts[5, 0] = 1.0, 1.0, 1.0
    mine, theirs = t.initial_state(3), (torch.zeros(1, 3, 32), torch.zeros(1, 3, 32))
    for i in range(8):
        out, mine = t.step(x[i], mine * (1 - starts[i]).unsqueeze(1))
        with torch.no_grad():
            feats = pol.extract_features(x[i], pol.pi_features_extractor)
            latent, theirs = pol._process_sequence(feats, theirs, starts[i], pol.lstm_actor)
            want = pol.action_net(pol.mlp_extractor.forward_actor(latent))
        torch.testing.assert_close(out, want, rtol=0, atol=0)
    box = RecurrentPPO("MlpLstmPolicy", "Pendulum-v1", n_steps=64, seed=0,
                       policy_kwargs={"lstm_hidden_size": 16})
    box.save(tmp_path / "box.zip")  # Box actions: a Gaussian after the LSTM
    tb = load_teacher(str(tmp_path / "box.zip"))
    assert tb.recurrent and tb.kind == "gaussian" and tb.head.name == "gaussian"
    obs = np.random.default_rng(0).uniform(-1, 1, (5, 3)).astype(np.float32)
    mine, theirs, first = tb.initial_state(5), None, np.ones(5, bool)
    for _ in range(3):  # SB3's predict carries its state; rldistill's step too
        want, theirs = box.predict(obs, theirs, episode_start=first, deterministic=True)
        out, mine = tb.step(torch.from_numpy(obs), mine)
        np.testing.assert_allclose(tb.head.to_env(tb.head.act(out)), want, atol=1e-5)
        first[:] = False
    base = DistillConfig(teacher=str(tmp_path / "r.zip"), env="CartPole-v1", budget=300,
                         rounds=3, min_updates=30, student_hidden="8", driver="student",
                         n_envs=4)  # envs mid-episode at the checkpoint: the state matters
    a, b = stopped_and_resumed(base)
    assert a.loop.tasks[0].t_memory is not None and a.loop.teacher_queries == 300
    for k, v in a.student.state_dict().items():
        assert v.equal(b.student.state_dict()[k]), k
    assert main(["distill", "--teacher", str(tmp_path / "r.zip"), "--env", "CartPole-v1",
                 "--budget", "200", "--perturb", "0.1", "--out", str(tmp_path / "p")]) == 2


def test_mujoco_warnings_come_once_per_process(monkeypatch):
    """MuJoCo's compiler warns at every model it builds: a MuJoCo env routes its warnings
    through one handler that shows each distinct one once (a RuntimeWarning)."""
    import warnings

    mujoco = pytest.importorskip("mujoco")
    from rldistill.envs import sim_warnings

    monkeypatch.setattr(sim_warnings, "_SEEN", set())
    if mujoco.get_mju_user_warning() is None:
        make_env("Hopper-v5")
    assert mujoco.get_mju_user_warning() is sim_warnings._once
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for message in ("a", "a", "b"):
            sim_warnings._once(message)
    assert [str(w.message) for w in seen] == ["a", "b"]
    assert {w.category for w in seen} == {RuntimeWarning}


def test_env_recipe_round_trips_through_json_and_pickle():
    import pickle

    r = EnvRecipe("CartPole-v1", {}, (("TimeLimit", {"max_episode_steps": 9}),), 2, ("math",))
    for back in (EnvRecipe.from_json(json.loads(json.dumps(r.to_json())), "x"),
                 pickle.loads(pickle.dumps(r))):
        assert isinstance(back, EnvRecipe) and back.to_json() == r.to_json() and back == r
    assert EnvRecipe("CartPole-v1").plain and not r.plain


def test_crossq_teacher_acts_as_sb3_predicts(tmp_path):
    """CrossQ's actor has BatchRenorm layers: rebuilt in eval mode (running statistics)."""
    from sb3_contrib import CrossQ

    model = CrossQ("MlpPolicy", "Pendulum-v1", seed=0, policy_kwargs={"net_arch": [16, 16]})
    with torch.no_grad():
        for name, b in model.policy.actor.named_buffers():
            if "ra_" in name:
                b.uniform_(0.5, 2.0)
        for p in model.policy.actor.parameters():
            p.normal_(0, 0.3)
    model.save(tmp_path / "c.zip")
    t = load_teacher(str(tmp_path / "c.zip"))
    assert (t.kind, t.source["algorithm"]) == ("squashed", "crossq")
    x = np.random.default_rng(0).normal(size=(256, 3)).astype(np.float32)
    np.testing.assert_allclose(t.head.to_env(t.act(torch.from_numpy(x))),
                               model.predict(x, deterministic=True)[0], atol=1e-5)


class MaskedPick(gym.Env):
    """Pick the target of a one-hot observation among 6 actions; each step 3 others are
    invalid (``action_masks()``); an invalid action is counted (``invalid``) and ends the
    episode with -10."""

    invalid = 0

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(0, 1, (6,), np.float32)
        self.action_space = gym.spaces.Discrete(6)

    def _next(self) -> np.ndarray:
        self.target = int(self.np_random.integers(6))
        others = [a for a in range(6) if a != self.target]
        self.bad = set(self.np_random.choice(others, 3, replace=False).tolist())
        return np.eye(6, dtype=np.float32)[self.target]

    def action_masks(self) -> np.ndarray:
        return np.array([a not in self.bad for a in range(6)])

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._next(), {}

    def step(self, a):
        self.t += 1
        if int(a) in self.bad:
            MaskedPick.invalid += 1
            return self._next(), -10.0, True, False, {}
        reward = float(int(a) == self.target)
        return self._next(), reward, False, self.t >= 20, {}


def test_maskable_ppo_teacher_and_student_act_within_the_masks(tmp_path, capsys):
    """MaskablePPO on an env with action masks: the teacher's labels are masked, the student
    (and teacher, and random baseline) never act outside the mask in collection or
    evaluation, and the torch-free runtime masks as the student does; the options that do not
    mask yet are one-line errors; without masks a MaskablePPO model is a plain policy."""
    from sb3_contrib import MaskablePPO

    from rldistill.deploy.runtime import Policy
    from rldistill.students.network import load_student

    if "MaskedPickTest-v0" not in gym.registry:
        gym.register("MaskedPickTest-v0", entry_point=MaskedPick)
    model = MaskablePPO("MlpPolicy", "MaskedPickTest-v0", n_steps=256, batch_size=64, seed=0)
    model.learn(1024)
    model.save(tmp_path / "m.zip")
    MaskedPick.invalid = 0
    out = tmp_path / "a"
    assert main(["distill", "--teacher", str(tmp_path / "m.zip"), "--env", "MaskedPickTest-v0",
                 "--budget", "1000", "--student-hidden", "16", "--driver", "student",
                 "--eval-episodes", "10", "--out", str(out), "--json"]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert MaskedPick.invalid == 0  # collection (the student drove) and all three evaluations
    assert min(r[k]["return_mean"] for k in ("student", "teacher", "random")) >= 0
    student, _ = load_student(out)
    env = MaskedPick()
    obs, masks = [], []
    for seed in range(64):
        o, _ = env.reset(seed=seed)
        obs.append(o)
        masks.append(env.action_masks())
    x, m = np.stack(obs), np.stack(masks)
    head = student.action_heads[0]
    acts = head.act(head.mask(student.outputs(torch.from_numpy(x)), torch.from_numpy(m)))
    assert m[np.arange(64), acts.numpy()].all()
    assert main(["export", "--student", str(out), "--out", str(tmp_path / "s.onnx")]) == 0
    capsys.readouterr()
    policy = Policy(tmp_path / "s.onnx")
    assert [i.name for i in policy.session.get_inputs()] == ["obs", "mask"]
    np.testing.assert_array_equal(policy.act(x, mask=m), acts.numpy())
    assert (policy.outputs(x, m)[~m] <= -1e7).all()  # the graph masks the logits
    base = ["distill", "--budget", "200", "--student-hidden", "8", "--eval-episodes", "1"]
    assert json.loads((out / "student.json").read_text())["action_masks"] is True  # export
    assert main([*base, "--teacher-train", "ppo", "--env", "MaskedPickTest-v0",
                 "--out", str(tmp_path / "t")]) == 2
    assert "and --teacher-train does not mask them yet" in capsys.readouterr().err
    assert main([*base, "--teacher", str(tmp_path / "m.zip"), "--env", "MaskedPickTest-v0",
                 "--loss", "mse",
                 "--out", str(tmp_path / "b")]) == 2
    assert "masks actions (action_masks()) and --loss mse does not mask them yet" in \
        capsys.readouterr().err
    MaskablePPO("MlpPolicy", "CartPole-v1", seed=0).save(tmp_path / "c.zip")
    assert main([*base, "--teacher", str(tmp_path / "c.zip"), "--env", "CartPole-v1",
                 "--out", str(tmp_path / "c")]) == 0
