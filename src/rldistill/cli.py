"""The ``rldistill`` command line: distill, evaluate, export, kickstart, finetune, teacher train,
zoo list, demo, sweep, compress. It parses flags and prints; the work is the library's (api.py, the
drivers, scale/)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from rldistill.core.config import DistillConfig, FinetuneConfig, KickstartConfig
from rldistill.core.options import field_help, load_yaml, option_types
from rldistill.core.errors import Interrupted, UserError

_ALIASES = {"lambda_schedule": ["--lambda"]}
_ARG_TYPES: dict[str, Any] = {"budget": str}  # --budget auto[:CAP]: DistillConfig parses it
_HIDDEN = {"auto_budget", "q_temperature"}  # set through another flag; for saved runs


def _config_from_args(args: argparse.Namespace, cls: type) -> Any:
    """Defaults < YAML file < command-line flags; with --resume, the config of the run in --out
    (its checkpoint's, or its result.json's: a --seeds run's too) < YAML file < flags, so that
    ``--out DIR --resume`` alone continues a run."""
    values: dict[str, Any] = load_yaml(args.config, cls) if args.config else {}
    for name in option_types(cls):
        v = getattr(args, name, None)
        if v is not None:
            values[name] = v
    if getattr(args, "resume", False):
        from rldistill.api import resume_config

        return resume_config(values.pop("out", None) or cls().out, values, cls)
    return cls(**values).validate()


def _progress(enabled: bool, total: int, label: str) -> AbstractContextManager[Any]:
    """A rich progress bar with ETA (a no-op context when off)."""
    import contextlib

    if not enabled:
        return nullcontext(None)
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeRemainingColumn)

    @contextlib.contextmanager
    def bar() -> Any:
        with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), transient=True) as prog:
            task = prog.add_task(label, total=total)
            yield lambda n: prog.advance(task, n)

    return bar()


def _emit(args: argparse.Namespace, doc: Any, show: Any) -> int:
    """``doc`` as one JSON line with --json, else through ``show``."""
    if args.json:
        print(json.dumps(doc))
    else:
        show(doc)
    return 0


def _distill(args: argparse.Namespace) -> int:
    from rldistill.api import run
    from rldistill.console import print_result

    cfg = _config_from_args(args, DistillConfig)
    show = not args.json and sys.stdout.isatty()
    envs = ", ".join(env for _, env in cfg.tasks)
    if args.seeds is not None:
        from rldistill.console import print_seeds
        from rldistill.drivers.seeds import run_seeds

        def one(c: DistillConfig, resume: bool, overwrite: bool) -> dict[str, Any]:
            with _progress(show, c.budget, f"distilling {envs}, seed {c.seed}") as advance:
                return run(c, progress=advance, resume=resume, overwrite=overwrite)

        seeds = run_seeds(one, cfg, args.seeds, args.resume, args.overwrite)
        return _emit(args, seeds, print_seeds)
    with _progress(show, cfg.budget, f"distilling {envs}") as advance:
        result = run(cfg, progress=advance, resume=args.resume, overwrite=args.overwrite)
    return _emit(args, result, print_result)


def _rl(args: argparse.Namespace) -> int:
    """kickstart and finetune: one run, or --seeds N of them; the command kept in result.json."""
    from rldistill import console
    from rldistill.core.files import write_text
    from rldistill.drivers import finetune, kickstart

    kick = args.cmd == "kickstart"
    run = kickstart.run if kick else finetune.run
    cfg = _config_from_args(args, KickstartConfig if kick else FinetuneConfig)
    if args.seeds is not None:
        from rldistill.drivers.seeds import run_seeds

        seeds = run_seeds(lambda c, resume, overwrite: run(c, resume=resume,
                                                            overwrite=overwrite),
                          cfg, args.seeds, args.resume, args.overwrite)
        return _emit(args, seeds, console.print_seeds)
    result = run(cfg, resume=args.resume, overwrite=args.overwrite)
    result["command"] = "rldistill " + shlex.join(sys.argv[1:])
    write_text(Path(cfg.out) / "result.json", json.dumps(result, indent=1) + "\n")
    show = console.print_kickstart if kick else console.print_finetune
    return _emit(args, result, lambda r: show(r, cfg.out))


def _evaluate(args: argparse.Namespace) -> int:
    from rldistill.api import evaluate_run
    from rldistill.console import print_robustness

    result = evaluate_run(args.student, args.env, args.teacher, args.episodes, args.seed,
                          tuple(args.variant or ()), args.trust_teacher, args.video)
    if "variants" in result:
        return _emit(args, result, lambda r: print_robustness(r["env"], args.episodes,
                                                              r["variants"]))
    return _emit(args, result, lambda r: print(json.dumps(r, indent=1)))


def _export(args: argparse.Namespace) -> int:
    from rldistill.console import print_export, print_export_sb3

    if args.format == "sb3":
        if args.int8:
            raise UserError("--int8 applies to --format onnx: drop it, or export twice")
        from rldistill.deploy.sb3 import export_sb3

        return _emit(args, export_sb3(args.student, args.out, args.task, args.algo),
                     print_export_sb3)
    if args.algo:
        raise UserError("--algo applies to --format sb3 (the SB3 model to write)")
    from rldistill.deploy.onnx import export_onnx

    return _emit(args, export_onnx(args.student, args.out, args.task, int8=args.int8),
                 print_export)


def _bench_latency(args: argparse.Namespace) -> int:
    from rldistill.console import print_latency
    from rldistill.deploy.latency import bench_latency

    try:
        batches = tuple(int(b) for b in args.batch.split(","))
    except ValueError:
        raise UserError(f"--batch {args.batch}: give batch sizes as integers, e.g. 1,1024"
                        ) from None
    return _emit(args, bench_latency(args.run, args.teacher, args.task, batches, args.threads,
                                     trust=args.trust_teacher), print_latency)


def _teacher_train(args: argparse.Namespace) -> int:
    from rldistill.drivers.teacher_train import train_and_record

    record = train_and_record(args.algo, args.env, args.steps, args.seed, Path(args.out),
                              args.eval_episodes, "rldistill " + shlex.join(sys.argv[1:]),
                              args.device, args.max_seconds, args.resume)
    print(json.dumps(record))
    return 0


def _teacher_info(args: argparse.Namespace) -> int:
    from rldistill.console import print_teacher_info
    from rldistill.sources.info import teacher_info

    return _emit(args, teacher_info(args.spec, args.trust_teacher, args.teacher_kind, args.env,
                                    args.teacher_normalize), print_teacher_info)


def _report(args: argparse.Namespace) -> int:
    from rldistill.report.html import build

    return _emit(args, build(args.runs, args.out, args.notes),
                 lambda r: print(f"wrote {r['html']} and {r['markdown']} ({len(r['runs'])} runs)"))


def _sweep(args: argparse.Namespace) -> int:
    from rldistill.scale.sweep import print_sweep, run_sweep

    return _emit(args, run_sweep(args.file, args.out, args.address, args.max_concurrent,
                                 args.overwrite), print_sweep)


def _compress(args: argparse.Namespace) -> int:
    from rldistill.scale.compress import compress, print_frontier

    cfg = _config_from_args(args, DistillConfig)
    cfg = cfg.replace(out="runs/compress") if cfg.out == DistillConfig.out else cfg
    return _emit(args, compress(cfg, args.seeds, args.depth, args.address, args.max_concurrent,
                                args.overwrite), print_frontier)


def _zoo_list(args: argparse.Namespace) -> int:
    from rldistill.console import print_zoo
    from rldistill.zoo import zoo_entries

    return _emit(args, zoo_entries(), print_zoo)


def _demo(args: argparse.Namespace) -> int:
    from rldistill.demo import run_demo

    run_demo(Path(args.out), json_out=args.json)
    return 0


def add_config_flags(p: argparse.ArgumentParser, cls: type) -> None:
    """One flag per field of a config dataclass, typed from its annotations, helped from its
    docstrings; every default is None so that YAML and a resumed run's config show through."""
    helps = field_help(cls)
    defaults = cls()
    for name, (scalar, _, repeat) in option_types(cls).items():
        if name in _HIDDEN:
            continue
        flags = ["--" + name.replace("_", "-"), *_ALIASES.get(name, [])]
        default = getattr(defaults, name)
        text = helps[name] + (f" (default {default})" if default not in (None, "", False) else "")
        if scalar is bool:
            p.add_argument(*flags, dest=name, action="store_true", default=None, help=text)
        elif repeat:
            p.add_argument(*flags, dest=name, action="append", default=None, help=text)
        else:
            p.add_argument(*flags, dest=name, type=_ARG_TYPES.get(name, scalar), default=None,
                           help=text)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks for errors")
    p = argparse.ArgumentParser(prog="rldistill", description=__doc__, parents=[common])
    sub = p.add_subparsers(dest="cmd", required=True)

    def cmd(parent: Any, name: str, help_text: str, **kw: Any) -> argparse.ArgumentParser:
        return parent.add_parser(name, help=help_text, parents=[common], **kw)

    teacher = cmd(sub, "teacher", "train teachers").add_subparsers(dest="tcmd", required=True)
    tt = cmd(teacher, "train", "train a teacher with SB3 (RL-Zoo hyperparameters)")
    from rldistill.evaluation import seeds
    from rldistill.zoo.hyperparams import ALGOS

    tt.add_argument("--algo", required=True, choices=list(ALGOS))
    tt.add_argument("--env", required=True)
    tt.add_argument("--steps", type=int, required=True)
    tt.add_argument("--seed", type=int, default=0)
    tt.add_argument("--out", required=True, help="output .zip (a .json record is written beside)")
    tt.add_argument("--env-module", action="append",
                    help="import PKG first, to register its env ids (repeatable)")
    tt.add_argument("--eval-episodes", type=int, default=100)
    tt.add_argument("--device", default="cpu", help="where SB3 learns: cpu (default), cuda, "
                    "cuda:N")
    tt.add_argument("--max-seconds", type=float, default=None,
                    help="stop after this much wall time (the record gives the steps trained)")
    tt.add_argument("--resume", action="store_true", help="go on from a stopped run's checkpoint")
    tt.set_defaults(func=_teacher_train)

    ti = cmd(teacher, "info", "what rldistill reads from a teacher source, and from where")
    ti.add_argument("spec", metavar="SPEC", help="zoo:NAME, an SB3 .zip, an RL Zoo folder, "
                                                  "hf:ORG/REPO, or a torch file")
    ti.add_argument("--env", help="the env of a torch file's teacher")
    ti.add_argument("--teacher-kind", help="what a torch file's teacher outputs")
    ti.add_argument("--teacher-normalize", help="its vecnormalize.pkl, or none")
    ti.add_argument("--env-module", action="append", help="import PKG first (repeatable)")
    ti.add_argument("--trust-teacher", action="store_true")
    ti.add_argument("--json", action="store_true", help="print the report as one JSON line")
    ti.set_defaults(func=_teacher_info)

    zoo = cmd(sub, "zoo", "the shipped teachers").add_subparsers(dest="zcmd", required=True)
    zl = cmd(zoo, "list", "list the zoo's teachers with their measured returns")
    zl.add_argument("--json", action="store_true")
    zl.set_defaults(func=_zoo_list)

    for name, cls, func, help_text in [
            ("distill", DistillConfig, _distill, "distil a teacher into a smaller student"),
            ("kickstart", KickstartConfig, _rl,
             "train a student by RL (SB3 PPO/DQN) + annealed distillation"),
            ("finetune", FinetuneConfig, _rl,
             "go on training a distilled student by RL (SB3 PPO/SAC/DQN) without forgetting")]:
        d = cmd(sub, name, help_text)
        add_config_flags(d, cls)
        d.add_argument("--config", help="YAML file of options (flags override it)")
        d.add_argument("--json", action="store_true", help="print the result as one JSON line")
        d.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
        d.set_defaults(func=func)
        d.add_argument("--seeds", type=int, metavar="N",
                       help="N runs with seeds --seed .. --seed+N-1 in OUT/seedK/, and their "
                            "mean, IQM and 95%% CIs over seeds (rliable) in OUT/result.json")
        d.add_argument("--resume", action="store_true",
                       help="continue the run in --out (its options come from it; a larger "
                            "--budget extends a distill run): from its last checkpoint, or read "
                            "back when it finished; with nothing there yet, start it"
                            + (" (a kickstart run keeps no checkpoint: an unfinished one starts "
                               "again)" if cls is KickstartConfig else ""))

    e = cmd(sub, "evaluate", "evaluate a saved student (and its teacher)")
    e.add_argument("--student", required=True, help="a distill --out directory")
    e.add_argument("--env", help="env id (default: the one the student was trained on)")
    e.add_argument("--teacher", help="teacher SPEC (default: the one it was distilled from)")
    e.add_argument("--episodes", type=int, default=100)
    e.add_argument("--seed", type=int, default=seeds.FINAL,
                   help="the first episode's seed (default: a run's final evaluation's, for "
                        "--seed 0)")
    e.add_argument("--trust-teacher", action="store_true")
    e.add_argument("--video", type=int, default=0, metavar="N",
                   help="record N episodes of teacher and student side by side (GIFs in "
                        "STUDENT/videos/; the report embeds them)")
    e.add_argument("--variant", action="append", metavar="NAME=V1,V2",
                   help="score teacher and student on physical variants (repeatable), e.g. "
                        "length=0.25,0.5,1.0 for CartPole; prints a robustness table")
    e.add_argument("--env-module", action="append",
                    help="import PKG first, to register its env ids (repeatable)")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=_evaluate)

    x = cmd(sub, "export", "export a saved student to ONNX (checked with onnxruntime) or to "
                           "an SB3 zip (checked with SB3)")
    x.add_argument("--student", required=True, help="a distill --out directory")
    x.add_argument("--out", required=True, help="output file: .onnx, or .zip for --format sb3")
    x.add_argument("--format", choices=("onnx", "sb3"), default="onnx",
                   help="onnx (default), or sb3: a zip that SB3's load opens and keeps training")
    x.add_argument("--algo", choices=("dqn", "ppo", "a2c", "sac", "tqc", "td3", "ddpg"),
                   help="the SB3 model for --format sb3 (default: dqn for a Q-value teacher's "
                        "discrete student, ppo for other discrete and Gaussian ones, sac for "
                        "squashed, td3 for deterministic)")
    x.add_argument("--task", type=int, default=0,
                   help="which task of a multi-task student (default 0)")
    x.add_argument("--int8", nargs="?", const="dynamic", choices=("dynamic", "static"),
                   help="also write OUT.int8.onnx (onnxruntime's quantization: dynamic, the "
                        "default, or static, calibrated on the run's own states) and report "
                        "its agreement with the float graph")
    x.add_argument("--env-module", action="append",
                    help="import PKG first, to register its env ids (repeatable)")
    x.add_argument("--json", action="store_true", help="print the report as one JSON line")
    x.set_defaults(func=_export)

    b = cmd(sub, "bench-latency", "time teacher and student (torch, ONNX float and int8) per "
                                  "action at batch 1 and 1024")
    b.add_argument("run", metavar="DIR", help="a distill --out directory")
    b.add_argument("--teacher", help="teacher SPEC (default: the one it was distilled from)")
    b.add_argument("--task", type=int, default=0, help="which task of a multi-task student")
    b.add_argument("--batch", default="1,1024", help="batch sizes (default 1,1024)")
    b.add_argument("--threads", type=int, default=1,
                   help="threads for torch and onnxruntime alike (default 1)")
    b.add_argument("--trust-teacher", action="store_true")
    b.add_argument("--env-module", action="append",
                    help="import PKG first, to register its env ids (repeatable)")
    b.add_argument("--json", action="store_true", help="print the report as one JSON line")
    b.set_defaults(func=_bench_latency)

    rp = cmd(sub, "report", "one HTML page (and Markdown) of results, curves and frontier")
    rp.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories")
    rp.add_argument("--out", default="report.html", help="the HTML file (default report.html)")
    rp.add_argument("--notes", metavar="FILE.md",
                    help="Markdown shown first (e.g. a benchmark's verdicts table)")
    rp.add_argument("--json", action="store_true")
    rp.set_defaults(func=_report)

    from rldistill.scale.commands import add_compress, add_sweep

    add_sweep(cmd(sub, "sweep", "many distill runs on Ray Tune (grid / random over any option, "
                                "seeds included) and their results table"), _sweep)
    add_compress(cmd(sub, "compress", "the smallest student that reaches --target with 95%% "
                                      "confidence (bracket, then bisect its width, on Ray)"),
                 _compress, add_config_flags)

    dm = cmd(sub, "demo", "distil the zoo's LunarLander Q-value teacher at 25/7/4 %%")
    dm.add_argument("--out", default="runs/demo")
    dm.add_argument("--json", action="store_true")
    dm.set_defaults(func=_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import torch

    torch.set_num_threads(1)  # small nets: threads cost more than they give (see benchmarks/)
    try:
        from rldistill.envs.make import import_env_module

        modules = getattr(args, "env_module", None) or ()
        for module in (modules,) if isinstance(modules, str) else modules:
            import_env_module(module)  # packages that register env ids, on every subcommand
        return int(args.func(args))
    except UserError as e:
        if getattr(args, "debug", False):
            raise
        print(f"rldistill: error: {e}", file=sys.stderr)
        return 2
    except (Interrupted, KeyboardInterrupt) as e:
        print(f"rldistill: {e or 'interrupted'}", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
