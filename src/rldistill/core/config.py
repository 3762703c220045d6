"""Run configurations (distill; kickstart and finetune: rl_config.py): frozen dataclasses, one
docstring per field; the CLI flags and YAML keys are read off their fields and types."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from rldistill.core.errors import UserError
from rldistill.core.options import AUTO_CAP as AUTO_CAP  # re-exported: parse_budget's cap
from rldistill.core.rl_config import FinetuneConfig as FinetuneConfig  # re-exported
from rldistill.core.rl_config import KickstartConfig as KickstartConfig  # re-exported
from rldistill.core.options import (CELL_KINDS, one_of, parse_arch, parse_budget,
                                    require)

DRIVERS = ("teacher", "student", "mix")
ENSEMBLES = ("mean", "confident")
ACTIVATION_CHOICES = ("teacher", "relu", "tanh", "elu")  # core.activations, and "teacher"
DEFAULT_ROUNDS = 10  # with a policy teacher, and for online runs
FEW_ROWS, MANY_ROWS = 256_000, 4_096_000  # rows of training a run gets at least (min_updates)


@dataclass(frozen=True)
class DistillConfig:
    teacher: str | tuple[str, ...] = ""
    """Teacher: zoo:NAME, or a path to an SB3 .zip. Repeat it with --env for multi-task
    distillation (the i-th teacher for the i-th env), or repeat it with one --env for an ensemble
    of teachers of the same task."""
    env: str | tuple[str, ...] = ""
    """Gymnasium env id the student is trained and evaluated on (repeatable: see --teacher)."""
    ensemble: str = "mean"
    """Several teachers of one env: mean (their averaged action distribution) or confident (per
    state, the distribution of the most confident teacher; a Q-value teacher, sharpened at
    tau = 0.01, nearly always wins against a policy teacher)."""
    student_hidden: str | None = None
    """Student hidden widths, e.g. '32,32' (default 64,64 unless --param-ratio is given)."""
    student_activation: str = "teacher"
    """The activation between an MLP student's layers: teacher (its teacher's, where that is
    relu, tanh or elu: SB3's PPO and A2C use tanh; else relu), relu, tanh or elu. Recurrent
    students: relu unless given; CNN students: relu."""
    student_arch: str | None = None
    """A CNN student for image observations, cnn:CHANNELS:DENSE, e.g. cnn:16,32:256 (kernels
    and strides by frame size); or a recurrent one, gru:H or lstm:H (H units; --student-hidden
    adds an MLP before the cell), trained on sequences (--bptt, --burn-in). Default for a CNN
    teacher: its layout, channels and dense width scaled together to --param-ratio (0.25 when
    no size is given)."""
    student_obs: str | None = None
    """The student's view of the env's observation (the teacher sees all of it): drop:I,J
    (indices, or names such as velocities), noise:STD, delay:K, pixels:SIZE, stack:N, joined by
    + (pixels:64+stack:2), or an ObservationWrapper's Python path pkg.module:Class."""
    baseline: str = "auto"
    """A recurrent student on a --student-obs view also gets an MLP baseline on the same view
    (OUT/baseline/, its score in result.json's baseline_mlp): auto (2 layers of about the
    recurrent student's parameters), widths such as 64,64, or none."""
    bptt: int = 64
    """Recurrent students: steps of each training sequence (truncated backpropagation through
    time), after the burn-in. 64: at 16 a GRU trained longer drifted over whole episodes
    (LunarLander without velocities, benchmarks/views/README.md)."""
    burn_in: int = 8
    """Recurrent students: steps run before each training sequence to warm the state up,
    without loss or gradient (R2D2, Kapturowski et al. 2019)."""
    param_ratio: float | None = None
    """Size the student as the largest 2-layer MLP with <= ratio x the teacher's acting params."""
    loss: str | None = None
    """kl | ce | nll | mse (discrete actions: kl by default); kl | mse | nll for Gaussian and
    squashed-Gaussian teachers (kl by default), mse for deterministic ones (TD3, DDPG)."""
    temperature: float | None = None
    """Discrete: softmax temperature of the targets (default for Q-value teachers: fitted to the
    teacher's action gaps, the median gap between its best and second-best Q-value over the
    buffer; Rusu et al.'s is 0.01; 1 for logits). Gaussian teachers: a factor on the teacher's
    std in the KL (default 1)."""
    q_temperature: str = "gap"
    """Where --temperature is not given, a Q-value teacher's: gap (fitted to its action gaps) or
    rusu (0.01: runs saved before the fitted one, which resume as they began; no flag)."""
    centred: bool = False
    """With --loss mse: subtract each row's mean from teacher and student outputs."""
    driver: str | None = None
    """Who acts while collecting: teacher | student | mix (DAgger: teacher acts w.p. beta).
    Default: mix (measured: benchmarks/bank for discrete actions, benchmarks/levers for
    continuous ones)."""
    explore: bool = False
    """The student samples its actions while it drives (student and mix drivers) instead of
    acting greedily."""
    beta: str | None = None
    """Schedule of beta for --driver mix: constant:V, linear:V0:V1, exp:D. Default: the heads'
    (exp:0.5 for discrete actions; exp:0 for continuous ones: the teacher drives the first
    round, the student the others; benchmarks/bank)."""
    budget: int = 10_000
    """Teacher-labelled env steps; or auto (auto:CAP): collect rounds until the student acts
    as the teacher does on the new states it visits and a quick evaluation (10 episodes) gives
    it --target of the teacher's return, at most CAP (default 100 000) labelled steps."""
    auto_budget: bool = False
    """Set by --budget auto."""
    target: float = 0.98
    """With --budget auto: the normalized score the quick evaluation must show (twice in a row)
    before the run may stop."""
    epochs: int | None = None
    """Passes over the aggregated buffer after each collection round (default: 20 for the
    teacher driver, whose data comes in one round; 4 per round for student and mix)."""
    rounds: int | None = None
    """Collection rounds for the student and mix drivers (the teacher driver uses one). Default:
    10; 20 with a Q-value teacher, whose students drift onto new states for longer (measured:
    benchmarks/measured/q_teacher); online runs (--teacher-train) 10. With --driver mix and
    --beta exp:D, beta decays per round, so more rounds give the teacher a smaller share."""
    min_updates: int | None = None
    """Fewest student updates in the whole run, spread evenly over the rounds (small budgets
    need more passes over their data than large ones). Default: 4 096 000 rows / batch size for
    Q-value teachers (online runs included: measured offline only), continuous actions
    (benchmarks/levers) and recurrent students; 256 000 rows / batch size for policy teachers
    of discrete actions."""
    n_envs: int | None = None
    """Parallel environments (stepped in one process). Default: 8 for the teacher driver (its data
    needs many start states); for the student and mix drivers budget per task / 500 within
    1..8, so that each env runs ~500+ steps and small budgets see whole episodes (measured:
    benchmarks/README.md)."""
    batch_size: int | None = None
    """Minibatch size of the student updates. Default: budget per task / 20, within 256..1024
    (chosen from measurement: benchmarks/README.md)."""
    lr: float = 3e-3
    """Adam learning rate."""
    grad_clip: float = 100.0
    """Each update's gradient is clipped to this global norm (0: not clipped): above the norms
    of normal updates (medians 10-40, 99th percentiles under 100 after round 0 on MuJoCo), it
    catches the spikes with which a few states of extreme targets (a falling Hopper's PPO
    teacher: means to 8 at std 0.04; norms to 1e14) undo a student in one round
    (benchmarks/bank/README.md)."""
    perturb: float = 0.0
    """At every update the teacher also labels a noisy copy of each state (SIGMA x spread)."""
    sobolev: float = 0.0
    """Sobolev training (Box actions): WEIGHT x (J_S v - J_T v)^2, derivatives along a random
    direction v at each state, at every update."""
    dart: float = 0.0
    """DART (Laskey et al. 2017): where the teacher acts (teacher, mix drivers) its actions get
    noise (Box: DART x each dimension's half range; discrete: a random action w.p. DART)."""
    eval_episodes: int = 100
    """Episodes for the final evaluation of student, teacher and random policy (and, at most
    10 of them, for online distillation's per-round curves)."""
    seed: int = 0
    """Seed for envs, student init, sampling and evaluation."""
    out: str = "runs/distill"
    """Output directory."""
    train_variant: str | None = None
    """Draw training states from physical variants, NAME=V1,V2,... (env i gets value i mod n)."""
    teacher_train: str | None = None
    """Online distillation: train the teacher from scratch with SB3 (ppo, dqn, qrdqn, a2c, sac,
    td3, ddpg, tqc; zoo hyperparameters) and distil it into the student while it learns
    (instead of --teacher)."""
    teacher_steps: int = 100_000
    """With --teacher-train: the teacher's env steps; the student distils every
    teacher_steps / rounds of them, from the teacher's current outputs."""
    trust_teacher: bool = False
    """Allow unpickling a teacher file (runs code from it): only for files you trust."""
    teacher_normalize: str | None = None
    """The teacher's VecNormalize statistics (vecnormalize.pkl, read without running code from
    it), or none. Default: the vecnormalize.pkl beside the teacher's zip, or in RL Zoo's layout
    (ENV/vecnormalize.pkl beside ENV.zip), if there is one. The student learns from raw
    observations with the same normalisation as its first layer."""
    teacher_kind: str | None = None
    """What a torch teacher (.pt TorchScript, or a pickled module with --trust-teacher) outputs:
    q | logits (discrete), gaussian | squashed | deterministic (continuous)."""
    env_module: str | tuple[str, ...] = ""
    """A package to import before making the env, to register its ids (repeatable; e.g.
    ale_py, minatar, your own). --env PKG:ID does the same for one id."""
    env_wrapper: str | tuple[str, ...] = ""
    """Env wrappers, replacing those the teacher's RL Zoo config.yml names (repeatable; known
    names only, e.g. AtariWrapper, TimeFeatureWrapper, TimeLimit:max_episode_steps=200 with
    NAME:KEY=VALUE,... for keywords), or none for no wrapper."""
    collectors: int = 0
    """Step the envs in N Ray actors (extra rldistill[ray]) instead of this process: for envs
    whose stepping dominates (slow simulators). Each actor plays a round ahead with the round's
    student and the teacher: the same run, bit for bit, for the same N (recurrent students and
    student views step in lock with this process: the same run for every N)."""
    ray_address: str | None = None
    """With --collectors: the Ray cluster to run them on (HOST:PORT); default a local Ray."""
    device: str = "cpu"
    """Where the student and the teachers compute: cpu, cuda or cuda:N (worth it for CNNs on
    Atari-sized frames; the envs, buffer and checkpoints stay on the CPU). A GPU's float
    results differ from the CPU's: a run is reproduced bit for bit on the device it ran on."""
    frame_stack: int | None = None
    """Stack the last N observations (as SB3's VecFrameStack), replacing the teacher's
    config.yml frame_stack; 0 for none."""

    def __post_init__(self) -> None:
        for name in ("teacher", "env", "env_module", "env_wrapper"):  # a str, several a tuple
            value = getattr(self, name)
            if isinstance(value, (list, tuple)):
                value = tuple(str(v) for v in value)
                object.__setattr__(self, name, value[0] if len(value) == 1 else value)
        if isinstance(self.budget, str):  # --budget auto[:CAP] or a number as text
            budget, auto = parse_budget(self.budget)
            object.__setattr__(self, "budget", budget)
            object.__setattr__(self, "auto_budget", self.auto_budget or auto)

    @property
    def env_modules(self) -> tuple[str, ...]:
        return tuple(m for m in _as_tuple(self.env_module) if m)

    @property
    def tasks(self) -> list[tuple[tuple[str, ...], str]]:
        """(teachers, env) per task: one env = one task (several teachers = an ensemble);
        n envs = n tasks with one teacher each."""
        teachers, envs = _as_tuple(self.teacher), _as_tuple(self.env)
        if len(envs) == 1:
            return [(teachers, envs[0])]
        if len(teachers) != len(envs):
            raise UserError(f"{len(teachers)} --teacher for {len(envs)} --env: give one teacher "
                            "per env (multi-task), or several teachers and one env (ensemble)")
        if len(set(envs)) != len(envs):
            raise UserError("the same --env is given twice: for several teachers of one task "
                            "give that --env once")
        return [((t,), e) for t, e in zip(teachers, envs)]

    def loss_temperature(self, head_default: float) -> float | None:
        """--temperature; else None (a Q teacher's is fitted to its action gaps), or the head's
        default for a run saved before that (``q_temperature`` rusu)."""
        return self.temperature or (None if self.q_temperature == "gap" else head_default)

    def validate(self) -> DistillConfig:
        """Check values; raise :class:`UserError` naming the option and the fix. One home per
        rule, by concern; what needs the teacher or the env is checked where they are loaded
        (the loss by the action head, --student-obs by the env's view, a CNN student's frames
        and a --param-ratio too small for any student where the student is built). The rules
        run once per config: each entry point (CLI, ``run``, ``train``, ``Loop``) asks, and a
        config already checked answers at once."""
        if self.__dict__.get("_checked"):
            return self
        n_tasks = self._check_tasks()
        self._check_numbers()
        self._check_student(n_tasks)
        self._check_collection(n_tasks)
        object.__setattr__(self, "_checked", True)  # not a field: replace() makes a new config
        return self

    def _check_tasks(self) -> int:
        """Teachers (given, or trained online), envs and how they pair up; the tasks' number."""
        if self.teacher_train:
            if self.teacher:
                raise UserError("--teacher-train trains its own teacher: drop --teacher")
            if self.teacher_steps <= 0 or isinstance(self.env, tuple):
                raise UserError("--teacher-train needs one --env and --teacher-steps > 0")
            if not self.env:
                raise UserError("no env given: pass --env ID, e.g. --env LunarLander-v3")
        elif not self.teacher:
            raise UserError("no teacher given: pass --teacher zoo:NAME or --teacher path.zip "
                            "(or --teacher-train ppo to train one while distilling)")
        n_tasks = len(self.tasks)
        if self.teacher_normalize not in (None, "none") and len(_as_tuple(self.teacher)) > 1:
            raise UserError("--teacher-normalize FILE names one teacher's statistics: give it "
                            "with one --teacher (several teachers each find their own)")
        if n_tasks > 1 and self.train_variant:
            raise UserError("--train-variant applies to one env: drop it for multi-task runs")
        one_of("--ensemble", self.ensemble, ENSEMBLES)
        return n_tasks

    def _check_numbers(self) -> None:
        """Counts and rates: positive, or >= 0 where 0 means none."""
        require(self, ("budget", "epochs", "rounds", "min_updates", "n_envs", "batch_size",
                       "eval_episodes"), "positive")
        require(self, ("temperature", "lr"), "> 0")
        require(self, ("grad_clip",), ">= 0")
        require(self, ("collectors", "frame_stack", "perturb", "sobolev"), ">= 0")
        require(self, ("dart",), "in [0, 1]")

    def _check_student(self, n_tasks: int) -> None:
        """The student's size (one of --param-ratio, --student-hidden, --student-arch) and
        architecture: CNN and recurrent students and student views learn one task."""
        if self.param_ratio is not None and not 0 < self.param_ratio <= 1:
            raise UserError(f"--param-ratio {self.param_ratio} is outside (0, 1]: give the "
                            "student's size as a fraction of the teacher's, e.g. 0.1")
        recurrent = self.recurrent
        if sum(x is not None for x in (self.param_ratio, self.student_hidden,
                                       self.student_arch)) > 1 and not (
                recurrent and self.param_ratio is None):
            raise UserError("give one of --student-hidden, --student-arch or --param-ratio "
                            "(a recurrent --student-arch may take --student-hidden)")
        if (recurrent or self.student_obs) and n_tasks > 1:
            raise UserError("--student-obs and recurrent students are for one task: drop them "
                            "for multi-task runs")
        if self.student_arch:  # a CNN one, where there are several tasks
            if n_tasks > 1:
                raise UserError("CNN students learn one task: drop --student-arch for "
                                "multi-task")
            parse_arch(self.student_arch)
        one_of("--student-activation", self.student_activation, ACTIVATION_CHOICES)
        one_of("q_temperature", self.q_temperature, ("gap", "rusu"))
        if self.bptt < 1 or self.burn_in < 0:
            raise UserError(f"--bptt must be >= 1 and --burn-in >= 0, got {self.bptt} and "
                            f"{self.burn_in}")

    def _check_collection(self, n_tasks: int) -> None:
        """Who acts while collecting, the labelled-step budget (a number, or auto with its
        --target)."""
        if self.driver is not None:
            one_of("--driver", self.driver, DRIVERS)
        if self.budget < n_tasks:
            raise UserError(f"--budget {self.budget} gives some of the {n_tasks} tasks no "
                            "labelled step: raise --budget")
        if self.auto_budget and self.teacher_train:
            raise UserError("--budget auto stops when the student has caught up with a fixed "
                            "teacher; with --teacher-train give a number")
        if self.auto_budget and self.driver == "teacher":
            raise UserError("--budget auto decides between rounds, and --driver teacher collects "
                            "one: use --driver student or mix (the default), or give a number")
        if not 0 < self.target <= 1.5:
            raise UserError(f"--target {self.target} is outside (0, 1.5]: e.g. 0.98")
        if self.device != "cpu" and (self.collectors or self.teacher_train):
            raise UserError(f"--device {self.device} runs the networks in this process, and "
                            + ("--collectors' actors run theirs on their own CPUs"
                               if self.collectors else "--teacher-train's teacher learns with "
                               "SB3 on the CPU") + ": drop one of them")

    @property
    def envs(self) -> int:
        """The number of parallel envs: ``n_envs``, or the default described at ``n_envs``."""
        if self.n_envs or self.driver == "teacher":
            return self.n_envs or 8
        return min(8, max(1, self.budget // len(self.tasks) // 500))

    @property
    def batch(self) -> int:
        """The minibatch size: ``batch_size``, or budget per task / 20 within 256..1024."""
        return self.batch_size or min(1024, max(256, self.budget // len(self.tasks) // 20))

    @property
    def recurrent(self) -> bool:
        """A recurrent student (--student-arch gru:H or lstm:H)."""
        return str(self.student_arch or "").partition(":")[0] in CELL_KINDS

    def updates_floor(self, rows: int = FEW_ROWS) -> int:
        """``min_updates``, or enough updates to train on ``rows`` rows in all (what the action
        heads and the student's kind ask for: ``Loop._plan``)."""
        return self.min_updates or math.ceil(rows / self.batch)

    def n_rounds(self, q_teacher: bool = False) -> int:
        """Collection rounds, at most one per labelled step of each task: online runs
        ``rounds`` (default 10: the teacher changes, so every driver needs rounds); offline,
        one for the teacher driver, else ``rounds`` (default 10, 20 with a Q-value teacher)."""
        if self.teacher_train:
            rounds = self.rounds or DEFAULT_ROUNDS
        elif self.driver == "teacher":
            return 1
        else:
            rounds = self.rounds or (20 if q_teacher else DEFAULT_ROUNDS)
        return min(rounds, self.budget // len(self.tasks))

    @property
    def epochs_per_round(self) -> int:
        return self.epochs or (20 if self.driver == "teacher" else 4)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}

    def replace(self, **changes: Any) -> DistillConfig:
        return dataclasses.replace(self, **changes)


# options that do not change what a run computes: where it writes, whether a teacher file may
# be unpickled, the Ray cluster its collectors run on (--collectors itself does: actors play
# ahead with their own random streams, rldistill.engine.ahead)
NOT_THE_RUN = ("out", "trust_teacher", "ray_address")
# what a checkpointed run may change when it is resumed: a larger budget extends it, and what
# comes after training (the final evaluation, the MLP baseline) is done again
RESUMABLE = ("budget", "eval_episodes", "baseline")
# the values options had in runs saved before they existed, where today's default computes
# something else (no gradient clip; ReLU students; Rusu's temperature for Q-value teachers)
BEFORE = {"grad_clip": 0.0, "student_activation": "relu", "q_temperature": "rusu"}


def changed_options(saved: dict[str, Any], cfg: Any,
                    may_differ: tuple[str, ...] = ()) -> list[str]:
    """The one "same run?" rule (``--resume``, ``--seeds`` read-back, sweep and compress
    trials, the MLP baseline): the options of ``cfg`` whose values differ from those of the run
    whose config is ``saved`` (a result.json's or a checkpoint's), :data:`NOT_THE_RUN` and
    ``may_differ`` aside. Options newer than the saved run count with their defaults (or
    their :data:`BEFORE` values, where the default computes something else); an empty
    ``env`` is the one the teacher's source names (the saved run filled it in); the sequence
    options only where the student is recurrent (their defaults change without changing MLP or
    CNN runs)."""
    want, default = cfg.to_dict(), type(cfg)().to_dict()
    skip = {*NOT_THE_RUN, *may_differ} | ({"env"} if "env" in want and not want["env"] else set())
    skip |= set() if getattr(cfg, "recurrent", True) else {"bptt", "burn_in"}
    return sorted(k for k, v in want.items() if k not in skip
                  and saved.get(k, BEFORE.get(k, default[k])) != v)


def _as_tuple(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)

