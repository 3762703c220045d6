"""Dict observation spaces (issue 29): the flat layout by hand, SB3 MultiInputPolicy teachers
read from their zips (vector keys, and a channel-last image key through NatureCNN) against
SB3's own forward pass, distilled into a multi-input student, exported to ONNX with one named
input per key (the torch-free runtime takes the env's dicts) and to SB3; keys that are not
Boxes, and crafted zips, refused in one line with nothing run."""

import base64
import json
import zipfile

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import PPO

from rldistill.cli import main
from rldistill.core.errors import UserError
from rldistill.core.spaces import ObsKey, SpaceSpec, dict_spec, key_arrays, split_keys
from rldistill.envs.keys import flatten_keys, obs_keys
from rldistill.envs.make import env_spec, make_vec_env
from rldistill.sources import load_teacher


class Keys(gym.Env):
    """Random observations as a dict: ``pos`` (2,), ``goal`` (3,) and, with ``image``, a
    (36, 36, 3) uint8 ``view`` (channel last) whose bright column (channel 0) is the answer,
    beside a random row (channel 2); reward 1
    when the action is argmax(goal) (or the view's column // 4)."""

    def __init__(self, image: bool = False) -> None:
        keys = {"pos": spaces.Box(-1, 1, (2,), np.float32),
                "goal": spaces.Box(-1, 1, (3,), np.float32)}
        if image:
            keys["view"] = spaces.Box(0, 255, (36, 36, 3), np.uint8)
        self.image = image
        self.observation_space = spaces.Dict(keys)
        self.action_space = spaces.Discrete(3)

    def _obs(self):
        r = self.np_random
        self.o = {"pos": r.uniform(-1, 1, 2).astype(np.float32),
                  "goal": r.uniform(-1, 1, 3).astype(np.float32)}
        self.answer = int(np.argmax(self.o["goal"]))
        if self.image:
            col = int(r.integers(36))
            view = np.zeros((36, 36, 3), np.uint8)
            view[:, col, 0] = 255
            view[int(r.integers(36)), :, 2] = 128
            self.o["view"], self.answer = view, col // 12
        return self.o

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, a):
        reward, self.t = float(int(a) == self.answer), self.t + 1
        return self._obs(), reward, False, self.t >= 20, {}


for _id, _image in (("RldistillKeys-v0", False), ("RldistillKeysView-v0", True)):
    if _id not in gym.registry:
        gym.register(_id, entry_point=Keys, kwargs={"image": _image})


def test_flat_layout_by_hand():
    space = spaces.Dict({"b": spaces.Box(0, 255, (3, 3, 2), np.uint8),
                         "a": spaces.Box(-1, 1, (2,), np.float32)})  # sorted: a, b
    keys = obs_keys(space, "env")
    assert [k.name for k in keys] == ["a", "b"] and keys[1].shape == (2, 3, 3) \
        and keys[1].channels_last and keys[1].env_shape == (3, 3, 2) and keys[1].image
    view = np.arange(18, dtype=np.uint8).reshape(3, 3, 2)  # (H, W, C): channel c at [..., c]
    flat = flatten_keys({"a": np.array([0.5, -1.0]), "b": view}, keys)
    # channels first (as SB3's VecTransposeImage): channel 0 is 0, 2, .., 16, then 1, .., 17
    assert flat.tolist() == [0.5, -1.0, *range(0, 18, 2), *range(1, 18, 2)]
    spec = dict_spec(keys, SpaceSpec((1,), 2).action)
    assert spec.obs_shape == (20,) and SpaceSpec.from_json(spec.to_json()) == spec
    a, b = split_keys(torch.from_numpy(flat[None]), keys)
    assert a.shape == (1, 2) and b.shape == (1, 2, 3, 3) and b[0, 1, 0, 1].item() == 3
    back = key_arrays(flat[None], keys)  # as the env gives them again
    np.testing.assert_array_equal(back["b"][0], view)
    assert "Dict(a: (2,), b: (2, 3, 3) uint8)" in spec.describe()


def test_keys_that_are_not_boxes_are_one_line_errors():
    from rldistill.envs.make import spec_of

    bad = spaces.Dict({"a": spaces.Box(-1, 1, (2,)), "n": spaces.Discrete(3)})
    with pytest.raises(UserError, match="key 'n' is Discrete"):
        spec_of(bad, spaces.Discrete(2), "env X")
    with pytest.raises(UserError, match="Box and Dict"):
        spec_of(spaces.Tuple([spaces.Discrete(2)]), spaces.Discrete(2), "env X")


def _states(env_id, n=96):
    env = gym.make(env_id)
    out = [env.reset(seed=0)[0]]
    for _ in range(n - 1):
        out.append(env.step(env.action_space.sample())[0])
    return out


@pytest.fixture(scope="module")
def teachers(tmp_path_factory):
    """SB3 PPO MultiInputPolicy teachers (SB3's defaults, a short run) of both envs."""
    root = tmp_path_factory.mktemp("dict_teachers")
    out = {}
    for env_id, steps in (("RldistillKeys-v0", 4096), ("RldistillKeysView-v0", 512)):
        model = PPO("MultiInputPolicy", env_id, n_steps=256, batch_size=64, seed=0)
        model.learn(steps)
        model.save(root / f"{env_id}.zip")
        out[env_id] = (root / f"{env_id}.zip", model)
    return out


@pytest.mark.parametrize("env_id", ["RldistillKeys-v0", "RldistillKeysView-v0"])
def test_multi_input_teachers_read_as_sb3_runs_them(teachers, env_id):
    path, model = teachers[env_id]
    t = load_teacher(str(path))
    assert t.spec == env_spec(env_id)  # the zip's (transposed) image key is the env's, moved
    states = _states(env_id)
    batch = {k: np.stack([s[k] for s in states]) for k in states[0]}
    flat = torch.from_numpy(np.stack([flatten_keys(s, env_spec(env_id).keys) for s in states]))
    with torch.no_grad():
        want = model.policy.get_distribution(model.policy.obs_to_tensor(batch)[0]
                                             ).distribution.logits
    got = torch.log_softmax(t.outputs(flat), -1)
    assert torch.allclose(got, want, atol=1e-5)


def test_multi_input_student_distils_and_deploys(teachers, tmp_path, capsys):
    """A vector + image Dict teacher: a CNN for the image key beside the vector keys; ONNX
    takes one input per key and the runtime the env's own dicts."""
    from rldistill.deploy.runtime import Policy
    from rldistill.students.network import load_student

    env_id = "RldistillKeysView-v0"
    out = tmp_path / "run"
    assert main(["distill", "--teacher", str(teachers[env_id][0]), "--env", env_id,
                 "--budget", "600", "--eval-episodes", "3", "--min-updates", "50",
                 "--out", str(out), "--json"]) == 0  # how well it learns is not asked here
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["student"]["return_mean"] is not None and 0 <= r["agreement"] <= 1
    student, _ = load_student(out)
    assert student.arch.key_frames == ((3, 36, 36),) and student.arch.obs_dim == 5
    assert student.params == student.arch.params < load_teacher(
        str(teachers[env_id][0])).params
    assert main(["export", "--student", str(out), "--out", str(tmp_path / "s.onnx")]) == 0
    policy = Policy(tmp_path / "s.onnx")
    assert [(i.name, i.shape[1:]) for i in policy.session.get_inputs()] == [
        ("goal", [3]), ("pos", [2]), ("view", [36, 36, 3])]  # as the env gives them
    assert [i.type for i in policy.session.get_inputs()] == ["tensor(float)"] * 2 + [
        "tensor(uint8)"]  # the image as the env gives it, not a float copy
    venv = gym.make_vec(env_id, 4)  # the env's own dicts, batched
    obs, _ = venv.reset(seed=3)
    mine = make_vec_env(env_id, 4, 3).reset(seed=3)[0]  # the same states, flat
    with torch.no_grad():
        np.testing.assert_allclose(policy.outputs(obs), student(torch.from_numpy(mine)),
                                   atol=1e-5)
    want = student.act(torch.from_numpy(mine)).numpy()
    np.testing.assert_array_equal(policy.act(obs), want)
    one = {k: v[0] for k, v in obs.items()}
    assert policy.act(one) == want[0]
    (out / "checkpoint-buffer").rename(tmp_path / "gone")  # no buffer: random states, the
    from rldistill.deploy.onnx import export_onnx  # image key's what a uint8 image holds

    report = export_onnx(out, tmp_path / "r.onnx", int8="static")
    assert report["check_states"] == "random normal" and report["max_abs_diff"] < 1e-4
    assert main(["bench-latency", str(out), "--batch", "1,8", "--json"]) == 0
    with pytest.raises(UserError, match="image keys has no SB3 policy"):
        from rldistill.deploy.sb3 import export_sb3

        export_sb3(out, tmp_path / "s.zip")
    assert main(["finetune", "--student", str(out), "--steps", "64",  # one line, nothing run
                 "--out", str(tmp_path / "ft")]) == 2
    assert not (tmp_path / "ft" / "result.json").exists()


def test_vector_keys_student_exports_to_sb3_multi_input(teachers, tmp_path, capsys):
    env_id = "RldistillKeys-v0"
    out = tmp_path / "run"
    assert main(["distill", "--teacher", str(teachers[env_id][0]), "--env", env_id,
                 "--budget", "1000", "--eval-episodes", "3", "--out", str(out)]) == 0
    assert main(["export", "--student", str(out), "--format", "sb3",
                 "--out", str(tmp_path / "s.zip"), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rep["policy"] == "MultiInputPolicy" and rep["action_agreement"] == 1.0
    model = PPO.load(tmp_path / "s.zip", env=gym.make(env_id))  # SB3 trains on the dicts
    model.learn(64)


def test_crafted_dict_zip_is_refused_and_runs_no_code(teachers, tmp_path):
    import os
    import pickle

    marker = tmp_path / "pwned"

    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    bad = tmp_path / "evil.zip"
    with zipfile.ZipFile(teachers["RldistillKeys-v0"][0]) as src, \
            zipfile.ZipFile(bad, "w") as dst:
        for item in src.namelist():
            payload = src.read(item)
            if item == "data":  # a key that is no Box, and a poisoned serialized space
                data = json.loads(payload)
                space = data["observation_space"]
                space["spaces"] = space["spaces"].replace("'pos': Box(", "'pos': Tuple(")
                space[":serialized:"] = base64.b64encode(pickle.dumps(Boom())).decode()
                payload = json.dumps(data).encode()
            dst.writestr(item, payload)
    with pytest.raises(UserError, match="'pos' is a Tuple"):
        load_teacher(str(bad))
    assert not marker.exists()
    assert ObsKey("x", (2,)) == ObsKey("x", (2,), channels_last=True)  # compare ignores it


def test_buffer_keeps_image_keys_as_uint8():
    """A Dict space's image columns are stored as uint8 beside the float ones; rows come back
    whole, through a checkpoint chunk too (rows_since -> load_rows, stored_obs)."""
    from rldistill.engine.buffer import Buffer, stored_obs

    keys = (ObsKey("a", (2,)), ObsKey("img", (1, 2, 2), "uint8"), ObsKey("z", (1,)))
    obs = torch.tensor([[0.5, -1.0, 0, 255, 7, 9, 3.25], [1.5, 2.0, 1, 2, 3, 4, -0.5]])
    buf = Buffer(4, (7,), torch.float32, (2,), keys=keys)
    plain = Buffer(4, (7,), torch.float32, (2,))
    for b in (buf, plain):
        b.add(obs, torch.zeros(2, 2))
    assert buf.pix.dtype == torch.uint8 and buf.pix.shape == (4, 4) and buf.obs.shape == (4, 3)
    assert torch.equal(buf.observations(slice(0, 2)), obs)
    assert torch.equal(buf.observations(torch.tensor([1])), obs[1:])
    assert plain.bytes_per_row() - buf.bytes_per_row() == 7 * 4 - (3 * 4 + 4)
    rows = buf.rows_since(0)
    again = Buffer(4, (7,), torch.float32, (2,), keys=keys)
    again.load_rows(rows)
    assert torch.equal(again.observations(slice(0, 2)), obs)
    assert torch.equal(stored_obs([rows]), obs)


def test_multi_input_run_resumes_to_the_same_student(teachers, stopped_and_resumed):
    """Stopped after round 2 and resumed (the uint8 image columns read back from the
    checkpoint's chunks): the same student, bit for bit."""
    from rldistill.core.config import DistillConfig

    a, b = stopped_and_resumed(DistillConfig(
        teacher=str(teachers["RldistillKeysView-v0"][0]), env="RldistillKeysView-v0",
        budget=300, rounds=3, min_updates=20, eval_episodes=2))
    assert a.loop.tasks[0].buf.pix is not None
    for k, v in a.student.state_dict().items():
        assert v.equal(b.student.state_dict()[k]), k


def test_spaces_around_dict_envs():
    """A teacher of the flat vector (trained by rldistill) matches its Dict env; a recipe's
    FlattenObservation (named wrappers see the Dict) gives a plain vector; gym 0.21's
    OrderedDict text is read; uint8 keys outside [0, 255] are numbers, not images (SB3's
    rule)."""
    from pathlib import Path

    from rldistill.envs.make import check_match
    from rldistill.envs.recipe import EnvRecipe
    from rldistill.sources.sb3_zip import _dict_keys

    env = env_spec("RldistillKeys-v0")
    check_match(SpaceSpec((5,), 3), env, "flat", "RldistillKeys-v0")  # no error
    with pytest.raises(UserError, match="has obs"):
        check_match(SpaceSpec((6,), 3), env, "flat", "RldistillKeys-v0")
    flat = env_spec(EnvRecipe("RldistillKeys-v0", wrappers=(("FlattenObservation", {}),)))
    assert flat == SpaceSpec((5,), 3) and not flat.keys
    old = ("OrderedDict([('goal', Box(-1.0, 1.0, (3,), float32)), "
           "('view', Box(0, 255, (3, 8, 8), uint8))])")
    assert _dict_keys(old, Path("t.zip")) == (ObsKey("goal", (3,)),
                                              ObsKey("view", (3, 8, 8), "uint8"))
    odd = spaces.Dict({"n": spaces.Box(0, 9, (8, 8, 3), np.uint8)})
    assert obs_keys(odd, "env") == (ObsKey("n", (8, 8, 3), "float32"),)


def test_trusted_dict_teacher_is_fed_its_keys(teachers):
    """--trust-teacher (SB3's own loader) on a Dict teacher: its spaces from SB3, and the flat
    vector split back into the dict its policy takes: the same outputs as the zip read
    without unpickling."""
    from rldistill.sources.sb3_zip import _load_trusted

    path = teachers["RldistillKeysView-v0"][0]
    net, kind, spec = _load_trusted(path, None)
    plain = load_teacher(str(path))
    assert spec == plain.spec and kind == plain.kind
    states = _states("RldistillKeysView-v0", 32)
    flat = torch.from_numpy(np.stack([flatten_keys(s, spec.keys) for s in states]))
    with torch.no_grad():
        torch.testing.assert_close(torch.log_softmax(net(flat), -1),
                                   torch.log_softmax(plain.outputs(flat), -1), atol=1e-5,
                                   rtol=0)


def test_frame_stacks_of_dict_spaces_stack_each_key_as_sb3_does(tmp_path, capsys):
    """``--frame-stack`` on a Dict env stacks every key on its own axis (SB3's
    ``VecFrameStack``: images on their channels, vectors end to end), so a teacher trained on
    SB3's stacked dicts sees in rldistill's env what it saw in SB3's."""
    from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack

    from rldistill.envs.recipe import EnvRecipe

    env_id = "RldistillKeysView-v0"
    sb3 = VecFrameStack(DummyVecEnv([lambda: gym.make(env_id)]), 3)
    model = PPO("MultiInputPolicy", sb3, n_steps=64, batch_size=64, seed=0)
    model.save(tmp_path / "t.zip")
    assert sb3.observation_space["view"].shape == (36, 36, 9)
    mine = EnvRecipe(env_id, frame_stack=3).wrap(gym.make(env_id), flat=True)
    keys = obs_keys(sb3.observation_space, "SB3's stack")
    sb3.seed(5)
    want, got = [sb3.reset()], [mine.reset(seed=5)[0]]
    for a in (0, 2, 1, 1):
        want.append(sb3.step(np.array([a]))[0])
        got.append(mine.step(a)[0])
    flat_want = np.stack([flatten_keys({k: v[0] for k, v in w.items()}, keys) for w in want])
    np.testing.assert_array_equal(np.stack(got), flat_want)
    t = load_teacher(str(tmp_path / "t.zip"))
    with torch.no_grad():
        sb3_logits = torch.cat([model.policy.get_distribution(model.policy.obs_to_tensor(w)[0])
                                .distribution.logits for w in want])
        np.testing.assert_allclose(torch.log_softmax(t.outputs(torch.from_numpy(
            np.stack(got))), -1), sb3_logits, atol=1e-5)
    out = tmp_path / "run"
    assert main(["distill", "--teacher", str(tmp_path / "t.zip"), "--env", env_id,
                 "--frame-stack", "3", "--budget", "300", "--eval-episodes", "2",
                 "--min-updates", "20", "--out", str(out), "--json"]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["labelled_steps"] == 300
