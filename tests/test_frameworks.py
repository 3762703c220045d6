"""Other frameworks' checkpoints as teachers (rldistill.sources.frameworks): CleanRL's DQN, C51
and PPO agents (their classes as CleanRL's scripts define them, small enough to copy here) and
rsl-rl's PPO actor (rsl-rl-lib 5's own MLPModel; rsl-rl 2's checkpoint layout), read as tensors
with no --trust-teacher, each acting as the framework's own forward pass."""

import json
import os
import pickle

import numpy as np
import pytest
import torch
from torch import nn

from rldistill.cli import main
from rldistill.core.errors import UserError
from rldistill.sources import load_teacher


class CleanRLQNetwork(nn.Module):  # cleanrl/dqn.py
    def __init__(self, n_obs, n_actions):
        super().__init__()
        self.network = nn.Sequential(nn.Linear(n_obs, 120), nn.ReLU(), nn.Linear(120, 84),
                                     nn.ReLU(), nn.Linear(84, n_actions))

    def forward(self, x):
        return self.network(x)


class CleanRLC51(nn.Module):  # cleanrl/c51.py
    def __init__(self, n_obs, n_actions, n_atoms=101, v_min=-100, v_max=100):
        super().__init__()
        self.n, self.n_atoms = n_actions, n_atoms
        self.register_buffer("atoms", torch.linspace(v_min, v_max, steps=n_atoms))
        self.network = nn.Sequential(nn.Linear(n_obs, 120), nn.ReLU(), nn.Linear(120, 84),
                                     nn.ReLU(), nn.Linear(84, n_actions * n_atoms))

    def q_values(self, x):  # get_action's
        pmfs = torch.softmax(self.network(x).view(len(x), self.n, self.n_atoms), dim=2)
        return (pmfs * self.atoms).sum(2)


class CleanRLAgent(nn.Module):  # cleanrl/ppo.py
    def __init__(self, n_obs, n_actions):
        super().__init__()
        self.critic = nn.Sequential(nn.Linear(n_obs, 64), nn.Tanh(), nn.Linear(64, 64),
                                    nn.Tanh(), nn.Linear(64, 1))
        self.actor = nn.Sequential(nn.Linear(n_obs, 64), nn.Tanh(), nn.Linear(64, 64),
                                   nn.Tanh(), nn.Linear(64, n_actions))


class CleanRLContinuousAgent(nn.Module):  # cleanrl/ppo_continuous_action.py
    def __init__(self, n_obs, n_act):
        super().__init__()
        self.critic = nn.Sequential(nn.Linear(n_obs, 64), nn.Tanh(), nn.Linear(64, 64),
                                    nn.Tanh(), nn.Linear(64, 1))
        self.actor_mean = nn.Sequential(nn.Linear(n_obs, 64), nn.Tanh(), nn.Linear(64, 64),
                                        nn.Tanh(), nn.Linear(64, n_act))
        self.actor_logstd = nn.Parameter(torch.zeros(1, n_act))


def _nature(out=None):  # cleanrl's *_atari.py: NatureCNN on x / 255 of 4 stacked frames
    layers = [nn.Conv2d(4, 32, 8, stride=4), nn.ReLU(), nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
              nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(), nn.Flatten(), nn.Linear(3136, 512),
              nn.ReLU()]
    return nn.Sequential(*layers, *([nn.Linear(512, out)] if out else []))


class CleanRLAtariQNetwork(nn.Module):  # cleanrl/dqn_atari.py
    def __init__(self, n_actions):
        super().__init__()
        self.network = _nature(n_actions)

    def forward(self, x):
        return self.network(x / 255.0)


class CleanRLAtariC51(nn.Module):  # cleanrl/c51_atari.py
    def __init__(self, n_actions, n_atoms=51, v_min=-10, v_max=10):
        super().__init__()
        self.n, self.n_atoms = n_actions, n_atoms
        self.register_buffer("atoms", torch.linspace(v_min, v_max, steps=n_atoms))
        self.network = _nature(n_actions * n_atoms)

    def q_values(self, x):
        logits = self.network(x / 255.0)
        pmfs = torch.softmax(logits.view(len(x), self.n, self.n_atoms), dim=2)
        return (pmfs * self.atoms).sum(2)


class CleanRLAtariAgent(nn.Module):  # cleanrl/ppo_atari.py
    def __init__(self, n_actions):
        super().__init__()
        self.network = _nature()
        self.actor = nn.Linear(512, n_actions)
        self.critic = nn.Linear(512, 1)

    def logits(self, x):
        return self.actor(self.network(x / 255.0))


def _randomise(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return module


def _obs(n, dim, seed=1):
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed)) * 2.0


@pytest.mark.parametrize("name", ["dqn", "c51", "ppo", "ppo_continuous"])
def test_cleanrl_agents_act_as_their_forward(tmp_path, name):
    env, dim = ("Pendulum-v1", 3) if name == "ppo_continuous" else ("CartPole-v1", 4)
    agent = _randomise({"dqn": lambda: CleanRLQNetwork(4, 2), "c51": lambda: CleanRLC51(4, 2),
                        "ppo": lambda: CleanRLAgent(4, 2),
                        "ppo_continuous": lambda: CleanRLContinuousAgent(3, 1)}[name]())
    path = tmp_path / f"{name}.cleanrl_model"
    torch.save(agent.state_dict(), path)  # what CleanRL's --save-model writes
    t = load_teacher(str(path), env=env)  # no --teacher-kind, no --trust-teacher
    x = _obs(256, dim)
    with torch.no_grad():
        want = {"dqn": lambda: agent(x), "c51": lambda: agent.q_values(x),
                "ppo": lambda: agent.actor(x),
                "ppo_continuous": lambda: torch.cat(
                    [agent.actor_mean(x), agent.actor_logstd.expand(len(x), -1)], -1)}[name]()
    torch.testing.assert_close(t.outputs(x), want)
    assert t.kind == {"dqn": "q", "c51": "q", "ppo": "logits", "ppo_continuous": "gaussian"}[name]
    assert t.source["format"] == {"dqn": "cleanrl-dqn", "c51": "cleanrl-c51"}.get(
        name, "cleanrl-ppo")


@pytest.mark.parametrize("name", ["dqn_atari", "c51_atari", "ppo_atari"])
def test_cleanrl_atari_agents_act_as_their_forward(tmp_path, name):
    """CleanRL's Atari agents: NatureCNN read off the tensors, on the frames AtariWrapper and a
    4-frame stack give (CleanRL's wrappers are the same), a CNN student by default."""
    pytest.importorskip("ale_py")
    from rldistill.students.convs import teacher_layout

    agent = {"dqn_atari": lambda: CleanRLAtariQNetwork(4), "c51_atari": lambda:
             CleanRLAtariC51(4), "ppo_atari": lambda: CleanRLAtariAgent(4)}[name]()
    with torch.no_grad():
        for p in agent.parameters():
            p.mul_(3.0)  # larger than the init, so the outputs differ between frames
    path = tmp_path / f"{name}.cleanrl_model"
    torch.save(agent.state_dict(), path)
    t = load_teacher(str(path), env="BreakoutNoFrameskip-v4")
    assert t.spec.obs_shape == (4, 84, 84) and t.spec.obs_dtype == "uint8"
    x = torch.randint(0, 256, (16, 4, 84, 84), generator=torch.Generator().manual_seed(0),
                      dtype=torch.uint8)
    with torch.no_grad():
        want = {"dqn_atari": lambda: agent(x.float()), "c51_atari": lambda: agent.q_values(
            x.float()), "ppo_atari": lambda: agent.logits(x.float())}[name]()
    torch.testing.assert_close(t.outputs(x), want, rtol=1e-4, atol=1e-4)
    assert teacher_layout(t) == (((32, 8, 4), (64, 4, 2), (64, 3, 1)), 512, False)


def test_rsl_rl_5_actor_with_its_normaliser_acts_as_rsl_rl(tmp_path):
    """rsl-rl-lib's own MLPModel (ELU, Gaussian with a scalar std, the empirical normaliser fed
    data), saved as its PPO saves it: the teacher's mean is the model's deterministic output,
    its log std the distribution's, on raw observations (the normaliser in front, copied)."""
    pytest.importorskip("rsl_rl")
    from rsl_rl.models.mlp_model import MLPModel
    from tensordict import TensorDict

    def td(x):
        return TensorDict({"policy": x}, batch_size=[len(x)])

    model = MLPModel(td(torch.zeros(1, 3)), {"actor": ["policy"]}, "actor", 1, (32, 32), "elu",
                     obs_normalization=True,
                     distribution_cfg={"class_name": "GaussianDistribution", "init_std": 0.6})
    _randomise(model.mlp)
    model.train()
    model.obs_normalizer.update(_obs(512, 3, seed=5) * 3.0 + 1.0)
    model.eval()
    torch.save({"actor_state_dict": model.state_dict(), "critic_state_dict": {},
                "optimizer_state_dict": {}, "iter": 10, "infos": None}, tmp_path / "model_10.pt")
    t = load_teacher(str(tmp_path / "model_10.pt"), env="Pendulum-v1")
    x = _obs(256, 3)
    with torch.no_grad():
        want_mean = model(td(x))
    out = t.outputs(x)
    torch.testing.assert_close(out[:, :1], want_mean, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out[:, 1:], torch.full((256, 1), float(np.log(0.6))))
    assert t.obs_norm is not None and t.source["format"] == "rsl-rl"


def test_rsl_rl_2_layout_with_obs_norm_state_dict(tmp_path):
    """rsl-rl 2's checkpoint (legged_gym, Isaac Lab): model_state_dict with actor.* and std,
    the normaliser in obs_norm_state_dict: mean = actor((x - m) / (s + 0.01))."""
    actor = _randomise(nn.Sequential(nn.Linear(3, 16), nn.ELU(), nn.Linear(16, 16), nn.ELU(),
                                     nn.Linear(16, 1)))
    m, s = torch.tensor([[0.5, -1.0, 2.0]]), torch.tensor([[2.0, 0.5, 3.0]])
    state = {f"actor.{k}": v for k, v in actor.state_dict().items()}
    state |= {"critic.0.weight": torch.zeros(1, 3), "critic.0.bias": torch.zeros(1),
              "std": torch.tensor([0.3])}
    torch.save({"model_state_dict": state, "optimizer_state_dict": {}, "iter": 1,
                "infos": None, "obs_norm_state_dict": {"_mean": m, "_var": s ** 2, "_std": s,
                                                       "count": torch.tensor(100)}},
               tmp_path / "model_1.pt")
    t = load_teacher(str(tmp_path / "model_1.pt"), env="Pendulum-v1")
    x = _obs(64, 3)
    with torch.no_grad():
        want = actor((x - m) / (s + 0.01))
    torch.testing.assert_close(t.outputs(x)[:, :1], want)
    torch.testing.assert_close(t.outputs(x)[:, 1:], torch.full((64, 1), float(np.log(0.3))))


def test_rsl_rl_activation_from_isaac_labs_agent_yaml(tmp_path):
    """The checkpoint does not hold the actor's activation: Isaac Lab's params/agent.yaml
    beside it does (tuples as !!python/tuple, read without running anything); without it ELU,
    said in the teacher's source; a name rsl-rl does not define is a one-line error."""
    actor = _randomise(nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1)))
    state = {f"actor.{k}": v for k, v in actor.state_dict().items()} | {"std": torch.ones(1)}
    run = tmp_path / "2026-12-04_12-00-00"
    (run / "params").mkdir(parents=True)
    torch.save({"model_state_dict": state, "iter": 1, "infos": None}, run / "model_1.pt")
    x = _obs(64, 3)
    elu = load_teacher(str(run / "model_1.pt"), env="Pendulum-v1")  # no agent.yaml: ELU
    assert elu.source["activation"] == "elu"
    assert elu.source["activation_from"].startswith("rsl-rl's default")
    assert not torch.allclose(elu.outputs(x)[:, :1], actor(x).detach())
    (run / "params" / "agent.yaml").write_text(
        "seed: 42\npolicy:\n  class_name: ActorCritic\n  actor_hidden_dims: !!python/tuple\n"
        "  - 16\n  activation: tanh\nalgorithm:\n  class_name: PPO\n")
    t = load_teacher(str(run / "model_1.pt"), env="Pendulum-v1")
    assert (t.source["activation"], t.source["activation_from"]) == (
        "tanh", str(run / "params" / "agent.yaml"))
    torch.testing.assert_close(t.outputs(x)[:, :1], actor(x).detach())
    (run / "params" / "agent.yaml").write_text("actor:\n  activation: sinus\n")
    with pytest.raises(UserError, match="names the activation 'sinus', which rsl-rl does not"):
        load_teacher(str(run / "model_1.pt"), env="Pendulum-v1")


def test_a_cleanrl_teacher_distils_with_no_extra_flags(tmp_path, capsys):
    agent = _randomise(CleanRLQNetwork(4, 2))
    path = tmp_path / "dqn.cleanrl_model"
    torch.save(agent.state_dict(), path)
    assert main(["distill", "--teacher", str(path), "--env", "CartPole-v1", "--budget", "300",
                 "--student-hidden", "8", "--eval-episodes", "1", "--min-updates", "50",
                 "--out", str(tmp_path / "r"), "--json"]) == 0  # how well: not asked here
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["teacher"]["kind"] == "q" and 0.0 <= r["agreement"] <= 1.0


def test_framework_files_errors_are_one_line_and_nothing_runs(tmp_path, capsys):
    """A crafted pickle in a .pt is never unpickled without --trust-teacher (weights_only
    refuses it; the torch-file path then asks for the flags); a checkpoint on the wrong env, a
    convolutional agent and an unknown layout are one-line errors, exit 2."""
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"network.0.weight": Evil()}))
    agent = CleanRLQNetwork(4, 2)
    torch.save(agent.state_dict(), tmp_path / "dqn.cleanrl_model")
    conv = {"network.0.weight": torch.zeros(32, 4, 5, 5), "network.0.bias": torch.zeros(32)}
    torch.save(conv, tmp_path / "atari.cleanrl_model")
    torch.save({"encoder.0.weight": torch.zeros(2, 4)}, tmp_path / "other.pt")
    cases = [("evil.pt", "CartPole-v1", "pass --teacher-kind"),
             ("dqn.cleanrl_model", "Pendulum-v1", "pass the env it was trained on"),
             ("dqn.cleanrl_model", "Acrobot-v1", "does not fit env Acrobot-v1"),
             ("atari.cleanrl_model", "CartPole-v1", "not CleanRL's NatureCNN"),
             ("other.pt", "CartPole-v1", "not one rldistill reads")]
    for name, env, msg in cases:
        assert main(["distill", "--teacher", str(tmp_path / name), "--env", env, "--budget",
                     "100", "--out", str(tmp_path / "o")]) == 2, name
        err = capsys.readouterr().err.strip()
        assert msg in err and len(err.splitlines()) == 1, err
    assert not marker.exists()
    with pytest.raises(UserError, match="names no env"):
        load_teacher(str(tmp_path / "dqn.cleanrl_model"))
