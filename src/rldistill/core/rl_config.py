"""Configurations of the runs that train by RL (kickstart, finetune): frozen dataclasses, one
docstring per field, read as :class:`~rldistill.core.config.DistillConfig`'s are."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from rldistill.core.errors import UserError
from rldistill.core.options import flag, one_of, require

KICKSTART_ALGOS = ("ppo", "a2c", "dqn", "sac")
FINETUNE_ALGOS = ("ppo", "a2c", "sac", "td3", "dqn")
ANCHORS = ("best", "student", "teacher", "none")


def _check_curve(cfg: Any) -> None:
    """The learning curve's options (kickstart, finetune) are positive."""
    if cfg.eval_every <= 0 or cfg.eval_episodes <= 0 or cfg.final_episodes <= 0:
        raise UserError("--eval-every, --eval-episodes and --final-episodes must be positive")


@dataclass(frozen=True)
class KickstartConfig:
    teacher: str = ""
    """Teacher: zoo:NAME, or a path to an SB3 .zip."""
    env: str = ""
    """Gymnasium env id the student learns on."""
    algo: str = ""
    """The student's RL algorithm: ppo or a2c (Schmitt et al. 2018; discrete or Gaussian
    teachers), dqn (QDagger; discrete) or sac (squashed-Gaussian teachers: SAC, TQC)."""
    steps: int = 0
    """Env steps of RL training (--pretrain steps included)."""
    lambda_schedule: str = "return-ratio::0.1"
    """Weight of the distillation term: constant:L, linear:L0:STEPS, exp:L0:HALF_LIFE,
    return-ratio[:CUTOFF_STEPS[:FLOOR]] (the default: QDagger's 1 - G_student / G_teacher, so the
    term comes back when the student slips, never under 0.1; a linear schedule collapses once
    it reaches 0, the plain ratio drifted: benchmarks/kickstart/RESULTS.md)."""
    student_hidden: str | None = None
    """Student widths, e.g. 64,64 (default: the teacher's)."""
    compare_scratch: bool = False
    """Also train from scratch (lambda = 0, same seed and hyperparameters)."""
    pretrain: int = 0
    """First distil the teacher for N labelled env steps with rldistill's loop (QDagger's
    offline phase); they count towards --steps."""
    temperature: float | None = None
    """Teacher temperature (the action head's default: 0.01 for Q-value teachers, 1 for logits;
    for Gaussian teachers a factor on the teacher's std, 0.5)."""
    seed: int = 0
    """Seed for envs, the student and evaluation."""
    eval_every: int = 10_000
    """Env steps between evaluations of the learning curve."""
    eval_episodes: int = 10
    """Episodes per evaluation of the learning curve."""
    final_episodes: int = 30
    """Episodes of the final score (student, teacher, random)."""
    out: str = "runs/kickstart"
    """Output directory."""
    trust_teacher: bool = False
    """Allow unpickling a teacher file (runs code from it): only for files you trust."""

    def validate(self) -> KickstartConfig:
        for name in ("teacher", "env", "algo"):
            if not getattr(self, name):
                raise UserError(f"kickstart needs {flag(name)}")
        one_of("--algo", self.algo, KICKSTART_ALGOS, " for kickstart")
        require(self, ("steps",), "positive")
        if not 0 <= self.pretrain < self.steps:
            raise UserError(f"--pretrain {self.pretrain} must be >= 0 and below --steps "
                            f"{self.steps}")
        _check_curve(self)
        require(self, ("temperature",), "> 0")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class FinetuneConfig:
    student: str = ""
    """A distilled student: the --out dir of a distill run."""
    algo: str = ""
    """SB3 algorithm of the RL fine-tuning: ppo, a2c, sac, td3 or dqn (default: ppo for
    discrete and Gaussian students, a Q-value teacher's too; sac for squashed Gaussian ones;
    td3 for deterministic ones)."""
    steps: int = 0
    """Env steps of RL fine-tuning."""
    warmup_steps: int | None = None
    """Env steps at the start during which the actor stays frozen and only the critic / value
    function learns (PPO / A2C: in whole rollouts, at least one; SAC, TD3; default: a tenth of
    --steps). DQN has none: its Q-values are its policy (benchmarks/finetune/README.md)."""
    anchor: str = "best"
    """What the fine-tuned policy is pulled toward: best (the default: the distilled start,
    then the policy of each evaluation that beats every earlier one, so that what RL finds is
    kept; benchmarks/finetune/README.md), student (the distilled start throughout), teacher
    (the run's teacher) or none."""
    anchor_lambda: str = ""
    """Weight of the anchor term over env steps (the kickstart schedules: constant:L,
    linear:L0:STEPS, exp:L0:HALF_LIFE, return-ratio[:CUTOFF[:FLOOR]]: 1 - G / G_start, from the
    student's recent episodes and its start's return; default: exp:1:STEPS/4, a half-life of a
    quarter of --steps)."""
    margin: float = 0.8
    """DQN: the large-margin anchor's margin (DQfD, Hester et al. 2018)."""
    entropy_floor: float = 0.0
    """PPO / A2C on discrete actions: the student's policy entropy raised at the start to at
    least this share of ln(n actions), e.g. 0.5, its logits divided by one temperature found on
    the states of its distillation run (its greedy actions unchanged); 0 (the default) keeps the
    student as it is. 0.9 takes a near-deterministic student of a weak teacher past it where PPO
    alone stays put (MinAtar Breakout, full-size student: 1.38-1.89 at 1M steps, PPO from
    scratch 0.91-1.10), but costs students of strong teachers (CartPole PPO's fell to 0.34 of
    its start): not the default, for a teacher known to be weak (benchmarks/finetune/README.md)."""
    compare_scratch: bool = False
    """Also train the same algorithm from scratch (same student size, seed and
    hyperparameters) and report its curve beside."""
    seed: int = 0
    """Seed for envs and the RL algorithm."""
    eval_every: int = 5_000
    """Env steps between evaluations of the curve (and checkpoints)."""
    eval_episodes: int = 10
    """Episodes per evaluation of the curve."""
    final_episodes: int = 30
    """Episodes of the final score."""
    out: str = "runs/finetune"
    """Output directory."""
    trust_teacher: bool = False
    """Allow unpickling a teacher file (runs code from it), for --anchor teacher."""

    def validate(self) -> FinetuneConfig:
        if not self.student:
            raise UserError("finetune needs --student (the --out dir of a distill run)")
        if self.algo:
            one_of("--algo", self.algo, FINETUNE_ALGOS, " for finetune")
        one_of("--anchor", self.anchor, ANCHORS, "")
        require(self, ("steps",), "positive")
        if self.warmup_steps is not None and not 0 <= self.warmup_steps < self.steps:
            raise UserError(f"--warmup-steps {self.warmup_steps} must be >= 0 and below --steps "
                            f"{self.steps}")
        if self.algo == "dqn" and self.warmup_steps:
            raise UserError("--algo dqn has no warm-up (its Q-values are its policy): drop "
                            "--warmup-steps")
        _check_curve(self)
        if self.margin < 0:
            raise UserError(f"--margin must be >= 0, got {self.margin}")
        if not 0 <= self.entropy_floor < 1:
            raise UserError(f"--entropy-floor must be in [0, 1) (a share of ln(n actions)), got "
                            f"{self.entropy_floor}")
        return self

    @property
    def warmup(self) -> int:
        """Env steps of the critic warm-up; 0 for DQN, which has none."""
        if self.algo == "dqn":
            return 0
        return self.steps // 10 if self.warmup_steps is None else self.warmup_steps

    @property
    def anchor_schedule(self) -> str:
        return self.anchor_lambda or f"exp:1:{max(self.steps // 4, 1)}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
