"""Unit tests of the small parts: schedules, buffer, student sizing, config, CI."""

import pytest
import torch

from rldistill.core.spaces import ActionSpec
from rldistill.heads import head_for

from rldistill.engine.buffer import Buffer
from rldistill.core.config import DistillConfig
from rldistill.core.options import load_yaml
from rldistill.core.spaces import SpaceSpec
from rldistill.core.errors import UserError
from rldistill.evaluation.rollouts import mean_ci95, normalized_score
from rldistill.core.schedules import parse_schedule
from rldistill.core.options import parse_hidden
from rldistill.students.network import StudentArch, arch_for_ratio, build_student


def test_schedules():
    assert parse_schedule("constant:0.3")(0.9, 5) == 0.3
    lin = parse_schedule("linear:1:0")
    assert lin(0.0, 0) == 1.0 and lin(0.25, 3) == 0.75 and lin(2.0, 9) == 0.0
    assert parse_schedule("exp:0.5")(0.5, 3) == 0.125
    for bad in ("linear:1", "cosine:1", "constant:1.5", "exp:x"):
        with pytest.raises(UserError):
            parse_schedule(bad)


def test_buffer_wraps_and_covers_all_rows():
    buf = Buffer(5, (2,), torch.float32, (3,))
    for i in range(4):  # 8 rows into 5 slots: rows 3..7 remain
        buf.add(torch.full((2, 2), float(2 * i)) + torch.tensor([[0.0], [1.0]]),
                torch.zeros(2, 3))
    assert buf.size == 5 and buf.pos == 3
    seen = torch.cat([x[:, 0] for x, _ in buf.epoch_batches(2, torch.Generator().manual_seed(0))])
    assert sorted(seen.tolist()) == [3.0, 4.0, 5.0, 6.0, 7.0]


def test_student_params_and_ratio_sizing():
    arch = StudentArch(8, (32,), 4)
    assert arch.params == 8 * 32 + 32 + 32 * 4 + 4
    assert build_student(SpaceSpec((8,), 4), (32,)).params == arch.params
    spec = SpaceSpec((8,), 4)
    a = arch_for_ratio(spec, 10_000, 0.1)  # h^2 + 14h + 4 <= 1000 -> h = 25
    assert a.hidden == (25, 25) and a.params <= 1000
    assert StudentArch(8, (26, 26), 4).params > 1000
    with pytest.raises(UserError, match="outside"):  # the range: the config's rule
        DistillConfig(teacher="zoo:x", env="CartPole-v1", param_ratio=1.5).validate()
    with pytest.raises(UserError, match="raise the ratio"):
        arch_for_ratio(spec, 100, 0.01)


def test_parse_hidden():
    assert parse_hidden("32,32") == (32, 32) and parse_hidden("") == ()
    with pytest.raises(UserError):
        parse_hidden("32,x")


def test_ci_and_score():
    lo, hi = mean_ci95([1.0, 2.0, 3.0, 4.0])  # sd 1.291, t(3) = 3.182 -> half-width 2.054
    assert lo == pytest.approx(2.5 - 2.054, abs=1e-3) and hi == pytest.approx(2.5 + 2.054, abs=1e-3)
    assert normalized_score(150, 200, 100) == 0.5 and normalized_score(1, 5, 5) is None
    assert normalized_score(20, 16, 42) is None  # a teacher below random: no score to give


def test_config_validation_and_yaml(tmp_path):
    with pytest.raises(UserError, match="budget"):
        DistillConfig(teacher="zoo:x", env="CartPole-v1", budget=-1).validate()
    with pytest.raises(UserError, match="driver"):
        DistillConfig(teacher="zoo:x", env="CartPole-v1", driver="teachr").validate()
    good = tmp_path / "c.yaml"
    good.write_text("budget: 500\nstudent-hidden: [16, 16]\nlr: 1\n")
    assert load_yaml(good, DistillConfig) == {"budget": 500, "student_hidden": "16,16", "lr": 1.0}
    (tmp_path / "u.yaml").write_text("budgett: 5\n")
    with pytest.raises(UserError, match="unknown key 'budgett'"):
        load_yaml(tmp_path / "u.yaml", DistillConfig)
    (tmp_path / "t.yaml").write_text("budget: lots\n")
    with pytest.raises(UserError, match="--budget 'lots' is not a number, auto or auto:CAP"):
        load_yaml(tmp_path / "t.yaml", DistillConfig)


def test_default_rounds_and_updates_per_teacher_kind():
    # measured defaults (benchmarks/measured/q_teacher, benchmarks/levers): a Q-value teacher
    # gets 20 rounds and 4 096 000 training rows, continuous actions 4 096 000 rows too; a
    # policy teacher of discrete actions 10 rounds and 256 000 rows
    cat, box = head_for(ActionSpec("discrete", 2)), head_for(ActionSpec("box", shape=(1,), low=(
        -1.0,), high=(1.0,)), "gaussian")
    assert (cat.update_rows("logits"), cat.update_rows("q")) == (256_000, 4_096_000)
    assert box.update_rows("gaussian") == 4_096_000
    cfg = DistillConfig(teacher="zoo:x", env="LunarLander-v3", budget=10_000)
    assert cfg.batch == 500
    assert (cfg.n_rounds(False), cfg.updates_floor(cat.update_rows("logits"))) == (10, 512)
    assert (cfg.n_rounds(True), cfg.updates_floor(cat.update_rows("q"))) == (20, 8192)
    assert DistillConfig(teacher="zoo:x", env="CartPole-v1", budget=12).n_rounds(True) == 12
    assert DistillConfig(teacher="zoo:x", env="CartPole-v1", driver="teacher").n_rounds(True) == 1
    set_by_user = DistillConfig(teacher="zoo:x", env="CartPole-v1", rounds=7, min_updates=99)
    assert (set_by_user.n_rounds(True), set_by_user.updates_floor(4_096_000)) == (7, 99)


def test_buffer_keeps_dtype_shape_episode_starts_and_order():
    buf = Buffer(6, (2, 2), torch.uint8, (3,))

    def rows(first, n):
        obs = torch.arange(first, first + n, dtype=torch.uint8).view(n, 1, 1).expand(n, 2, 2)
        return obs, torch.zeros(n, 3), torch.arange(n) % 3 == 0, torch.arange(n, dtype=torch.int32)

    buf.add(*rows(0, 4))
    assert buf.obs.dtype == torch.uint8 and tuple(buf.obs.shape) == (6, 2, 2)
    assert buf.starts[:4].tolist() == [True, False, False, True] and buf.env[3] == 3
    assert buf.rows_since(3)["obs"][:, 0, 0].tolist() == [3]
    buf.add(*rows(4, 4))  # 8 rows into 6 slots: rows 2..7 remain, the ring wrapped
    assert (buf.total, buf.size, buf.pos) == (8, 6, 2)
    assert buf.rows_since(5)["obs"][:, 0, 0].tolist() == [5, 6, 7]
    assert buf.rows_since(0)["obs"][:, 0, 0].tolist() == [2, 3, 4, 5, 6, 7]  # only those kept
    buf.grow(10)  # oldest first, room for 4 more
    assert buf.obs[:6, 0, 0].tolist() == [2, 3, 4, 5, 6, 7] and (buf.pos, buf.size) == (6, 6)
    buf.add(*rows(8, 2))
    assert buf.obs[:8, 0, 0].tolist() == [2, 3, 4, 5, 6, 7, 8, 9]


def test_loop_records_which_env_and_episode_start_each_row(tmp_path):
    from rldistill.api import train

    loop = train(DistillConfig(teacher="zoo:CartPole-v1-ppo", env="CartPole-v1", budget=600,
                               driver="student", n_envs=3, rounds=1, min_updates=1,
                               out=str(tmp_path))).loop  # an untrained student drives
    buf = loop.tasks[0].buf
    assert buf.env[:6].tolist() == [0, 1, 2, 0, 1, 2]  # rows come step by step, env by env
    assert buf.starts[:3].all() and not buf.starts[3:6].any()  # the first obs of each env
    episodes = int(buf.starts[: buf.size].sum())
    assert 600 // 200 < episodes < 600 // 8  # an untrained CartPole policy: 8 to ~60 steps


def test_kickstart_yaml_and_cli_types_come_from_the_dataclass(tmp_path):
    from rldistill.core.config import KickstartConfig
    from rldistill.core.options import option_types

    types = option_types(KickstartConfig)
    assert types["steps"] == (int, False, False) and types["temperature"] == (float, True, False)
    assert option_types(DistillConfig)["teacher"] == (str, False, True)
    p = tmp_path / "k.yaml"
    p.write_text("teacher: zoo:CartPole-v1-ppo\nenv: CartPole-v1\nalgo: ppo\nsteps: 2048\n"
                 "lambda-schedule: linear:1:1000\ntemperature: 2\n")
    cfg = KickstartConfig(**load_yaml(p, KickstartConfig)).validate()
    assert cfg.temperature == 2.0 and cfg.lambda_schedule == "linear:1:1000"
    p.write_text("steps: many\n")
    with pytest.raises(UserError, match="steps should be int"):
        load_yaml(p, KickstartConfig)
    with pytest.raises(UserError, match="unknown --algo 'td3'"):
        KickstartConfig(teacher="t", env="e", algo="td3", steps=1, lambda_schedule="1").validate()


def test_a_plain_mlp_student_takes_its_teachers_activation(tmp_path):
    """SB3's PPO / A2C teachers use tanh, DQN / SAC ReLU: --student-activation teacher (the
    default) gives a plain MLP student its teacher's; recurrent and CNN students keep ReLU."""
    from rldistill.sources import load_teacher
    from rldistill.students.build import make_student
    from rldistill.students.network import load_student, save_student

    ppo, dqn = load_teacher("zoo:CartPole-v1-ppo"), load_teacher("zoo:LunarLander-v3-dqn")

    def built(teacher, **options):
        cfg = DistillConfig(teacher="t", env="e", param_ratio=0.1, **options)
        return make_student(cfg, [teacher])

    student = built(ppo)
    assert student.arch.activation == "tanh"
    assert [type(m).__name__ for m in student.net] == ["Linear", "Tanh", "Linear", "Tanh",
                                                       "Linear"]
    assert built(dqn).arch.activation == "relu"
    assert built(ppo, student_activation="relu").arch.activation == "relu"
    assert built(dqn, student_activation="elu").arch.activation == "elu"
    recurrent = make_student(DistillConfig(teacher="t", env="e", student_arch="gru:8"), [ppo])
    assert recurrent.arch.activation == "relu"
    # saved and loaded with it; a student saved before the option (no key) is ReLU
    save_student(student, tmp_path, {})
    loaded, meta = load_student(tmp_path)
    x = torch.randn(16, 4)
    assert loaded.arch.activation == "tanh" and torch.equal(loaded.outputs(x), student.outputs(x))
    del meta["arch"]["activation"]
    (tmp_path / "student.json").write_text(__import__("json").dumps(meta))
    assert load_student(tmp_path)[0].arch.activation == "relu"
    meta["arch"]["activation"] = "gelu"
    (tmp_path / "student.json").write_text(__import__("json").dumps(meta))
    with pytest.raises(UserError, match="activation 'gelu'"):
        load_student(tmp_path)
    # the first activation on the teacher's path decides; one that is not ours gives None
    # (ReLU), not the tanh a TD3 actor ends in
    from torch import nn

    from rldistill.students.layers import hidden_activation
    assert hidden_activation(nn.Sequential(nn.Linear(2, 2), nn.LeakyReLU(), nn.Linear(2, 2),
                                           nn.Tanh())) is None
    assert hidden_activation(nn.Sequential(nn.Linear(2, 2), nn.ELU(), nn.Linear(2, 2),
                                           nn.Tanh())) == "elu"
    with pytest.raises(UserError, match="--student-activation"):
        DistillConfig(teacher="zoo:x", env="CartPole-v1", student_activation="gelu").validate()
    from rldistill.core.activations import ACTIVATIONS
    from rldistill.core.config import ACTIVATION_CHOICES  # kept torch-free: the same names
    assert ACTIVATION_CHOICES == ("teacher", *ACTIVATIONS)


def test_an_option_newer_than_a_saved_run_counts_with_its_value_before_it(tmp_path):
    """A run saved before --grad-clip and --student-activation existed computed with no clip
    and a ReLU student: today's defaults are another run, not the same one resumed."""
    from rldistill.core.config import changed_options

    cfg = DistillConfig(teacher="zoo:x", env="CartPole-v1")
    old = {k: v for k, v in cfg.to_dict().items() if k not in ("grad_clip", "student_activation")}
    assert changed_options(old, cfg) == ["grad_clip", "student_activation"]
    assert changed_options(old, cfg.replace(grad_clip=0.0, student_activation="relu")) == []
    assert changed_options(cfg.to_dict(), cfg) == []
    from rldistill.engine.rundir import other_options

    with pytest.raises(UserError, match="--grad-clip 0.0 there, 100.0 here; "
                                        "--student-activation relu there, teacher here"):
        other_options(tmp_path, changed_options(old, cfg), old, cfg)


def test_grad_norms_of_a_round():
    """rounds.jsonl's grad_norm_max and clipped: a non-finite norm is inf and counts as
    clipped; unclipped runs measure nothing."""
    import math

    from rldistill.engine.state import grad_norms
    from rldistill.report.runlog import round_row
    from rldistill.engine.state import RoundMetrics

    t = torch.tensor
    assert grad_norms([t(1.0), t(150.0), t(99.0)], 100.0) == (150.0, 1)
    assert grad_norms([t(1.0), t(float("nan")), t(200.0)], 100.0) == (math.inf, 2)
    top, clipped = grad_norms([], 0.0)
    assert math.isnan(top) and clipped == 0
    row = round_row(RoundMetrics(1, 10, 5, 0.5, [0.5], 1.0, grad_norm_max=math.inf, clipped=2))
    assert row["grad_norm_max"] == "inf" and row["clipped"] == 2
    assert round_row(RoundMetrics(1, 10, 5, 0.5, [0.5], 1.0))["grad_norm_max"] is None
