"""The ``rldistill`` command line: teacher train, zoo list, distill, evaluate, export, demo,
kickstart."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from dataclasses import fields

from rldistill.config import DistillConfig, field_help, load_yaml
from rldistill.envs import check_match, env_spec
from rldistill.errors import UserError


def console(quiet: bool = False) -> Any:
    """A rich console; 140 columns when not a terminal so that piped tables are not cut."""
    from rich.console import Console

    return Console(quiet=quiet, width=None if sys.stdout.isatty() else 140)


def _teacher_train(args: argparse.Namespace) -> int:
    from rldistill.zoo.train import train_teacher

    out = Path(args.out)
    record = train_teacher(args.algo, args.env, args.steps, args.seed, out)
    record["command"] = "rldistill " + shlex.join(sys.argv[1:])
    record["file"] = out.name
    from rldistill.evaluate import evaluate_policy
    from rldistill.teachers import load_teacher

    teacher = load_teacher(str(out))
    ev = evaluate_policy(teacher, args.env, episodes=args.eval_episodes, seed=10_000)
    record["return_mean"] = round(ev.mean, 2)
    record["return_ci95"] = [round(ev.ci95[0], 2), round(ev.ci95[1], 2)]
    record["eval_episodes"] = args.eval_episodes
    record["acting_params"] = teacher.params
    out.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record))
    return 0


def _config_from_args(args: argparse.Namespace) -> DistillConfig:
    """Defaults < YAML file < command-line flags."""
    values: dict[str, Any] = load_yaml(args.config) if args.config else {}
    for f in fields(DistillConfig):
        v = getattr(args, f.name, None)
        if v is not None and not (f.type == "bool" and v is False):
            values[f.name] = v
    return DistillConfig(**values).validate()


def _check_out_dir(out: Path, overwrite: bool, resume: bool) -> None:
    from rldistill.checkpoint import CKPT_NAME

    if overwrite and resume:
        raise UserError("--overwrite and --resume contradict each other: pass one")
    held = (out / "student.json").exists() or (out / CKPT_NAME).exists()
    if held and not (overwrite or resume):
        raise UserError(f"output dir {out} already holds a run: pass --resume to continue it, "
                        "--overwrite to replace it, or --out to choose another dir")
    if overwrite:
        (out / CKPT_NAME).unlink(missing_ok=True)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise UserError(f"output dir {out} is not writable ({e.strerror}): pass --out with a "
                        "writable dir") from None


def _progress(enabled: bool, total: int, label: str) -> Any:
    """A rich progress bar with ETA (a no-op context when off)."""
    import contextlib

    if not enabled:
        return contextlib.nullcontext(None)
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeRemainingColumn)

    @contextlib.contextmanager
    def bar() -> Any:
        with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), transient=True) as prog:
            task = prog.add_task(label, total=total)
            yield lambda n: prog.advance(task, n)

    return bar()


def _distill(args: argparse.Namespace) -> int:
    from rldistill.distill import Interrupted, run

    cfg = _config_from_args(args)
    _check_out_dir(Path(cfg.out), args.overwrite, args.resume)
    show = not args.json and sys.stdout.isatty()
    try:
        envs = ", ".join(env for _, env in cfg.tasks)
        with _progress(show, cfg.budget, f"distilling {envs}") as advance:
            result = run(cfg, progress=advance, resume=args.resume)
    except Interrupted as e:
        print(f"rldistill: {e}", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(result))
    else:
        _print_result(result)
    return 0


def _fmt_ret(block: dict[str, Any]) -> str:
    lo, hi = block["return_ci95"]
    return f"{block['return_mean']:.1f} ± {(hi - lo) / 2:.1f}"


def _print_result(r: dict[str, Any]) -> None:
    from rich.table import Table

    tasks = r.get("tasks") or [r]
    t = Table(title=f"{r['teacher']['name']} -> student {r['student']['hidden']} "
                    f"({r['student']['params']} params)")
    for col in ("env", "policy", "params", "return (95% CI)", "normalized", "agreement"):
        t.add_column(col)
    for b in tasks:
        t.add_row(b["env"], "teacher", str(b["teacher"]["params"]), _fmt_ret(b["teacher"]), "", "")
        for m in b.get("members", []):
            t.add_row("", f"  member {m['name']}", str(m["params"]), _fmt_ret(m),
                      f"student {m['student_normalized_score']}", f"{m['agreement']:.3f}")
        t.add_row("", "student", str(b["student"]["params"]), _fmt_ret(b["student"]),
                  str(b["normalized_score"]), f"{b['agreement']:.3f}")
        t.add_row("", "random", "-", _fmt_ret(b["random"]), "", "")
    c = console()
    c.print(t)
    c.print(f"normalized score {r['normalized_score']}, agreement {r['agreement']:.3f}, "
            f"param ratio {r['param_ratio']:.3f}, labelled steps {r['labelled_steps']}, "
            f"wall {r['wall_s']:.2f} s (eval {r['eval_s']:.1f} s)")
    if "latency_us" in r:
        lat = r["latency_us"]
        c.print(f"latency per action (batch 1): student {lat['student']:.0f} us, teacher "
                f"{lat['teacher']:.0f} us")


def _evaluate(args: argparse.Namespace) -> int:
    from rldistill.evaluate import RandomActor, _summary, evaluate_policy, score_student
    from rldistill.students import load_student

    student, meta = load_student(args.student)
    if student.arch.tasks and not args.env:
        return _evaluate_tasks(args, student, meta)
    env_id = args.env or meta["env"]
    if isinstance(env_id, list):
        raise UserError(f"--env {env_id}: evaluate one env at a time, or drop --env")
    teacher_spec = args.teacher or meta.get("config", {}).get("teacher")
    run_dir = Path(args.student) if Path(args.student).is_dir() else Path(args.student).parent
    online_zip = run_dir / "teacher_sb3.zip"
    if not teacher_spec and online_zip.exists():  # an online run saved the teacher it trained
        teacher_spec = str(online_zip)
    if student.arch.tasks:
        envs = list(meta["env"])
        if env_id not in envs:
            raise UserError(f"the student was trained on {', '.join(envs)}, not {env_id}: "
                            "pass one of those")
        student = student.for_task(envs.index(env_id))
        teacher_spec = args.teacher or meta["config"]["teacher"][envs.index(env_id)]
    if args.variant:
        if not teacher_spec:
            raise UserError("--variant compares student and teacher: pass --teacher SPEC")
        return _robustness(args, student, _load_spec(teacher_spec, meta, args), env_id)
    if teacher_spec:
        teacher = _load_spec(teacher_spec, meta, args)
        check_match(teacher.spec, env_spec(env_id), teacher.name, env_id)
        result = {"env": env_id, **score_student(student, teacher, env_id, args.episodes,
                                                 args.seed)}
    else:
        s = evaluate_policy(student, env_id, args.episodes, args.seed)
        r = evaluate_policy(RandomActor(student.arch.n_actions, args.seed), env_id,
                            args.episodes, args.seed)
        result = {"env": env_id, "student": {**_summary(s), "params": student.params},
                  "random": _summary(r)}
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))
    return 0


def _export(args: argparse.Namespace) -> int:
    from rldistill.export import export_onnx

    report = export_onnx(args.student, args.out, args.task)
    if args.json:
        print(json.dumps(report))
        return 0
    lat = report["latency_us"]
    console().print(f"wrote {report['onnx']} ({report['bytes']} bytes, {report['params']} params, "
                    f"obs {report['obs_dim']} -> {report['n_actions']} logits); onnxruntime vs "
                    f"torch on {report['check_rows']} random obs: max |diff| "
                    f"{report['max_abs_diff']:.1e}, argmax agreement "
                    f"{report['argmax_agreement']:.4f}; latency per call (batch 1): onnxruntime "
                    f"{lat['onnxruntime']:.0f} us, torch {lat['torch']:.0f} us")
    return 0


def _load_spec(spec: str | list[str], meta: dict[str, Any], args: argparse.Namespace) -> Any:
    from rldistill.teachers import load_teachers

    specs = tuple(spec) if isinstance(spec, list) else (spec,)
    return load_teachers(specs, meta.get("config", {}).get("ensemble", "mean"),
                         trust=args.trust_teacher)


def _evaluate_tasks(args: argparse.Namespace, student: Any, meta: dict[str, Any]) -> int:
    """A multi-task student: every task against its teacher."""
    from rldistill.distill import multitask_result, score_tasks
    from rldistill.teachers import load_teacher

    if args.variant or args.teacher:
        raise UserError("a multi-task student: pass --env to pick one task for --variant or "
                        "--teacher")
    tasks = [(t["env"], load_teacher(spec, trust=args.trust_teacher))
             for t, spec in zip(meta["tasks"], meta["config"]["teacher"])]
    result = multitask_result(score_tasks(student, tasks, args.episodes, args.seed), tasks,
                              student)
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))
    return 0


def _robustness(args: argparse.Namespace, student: Any, teacher: Any, env_id: str) -> int:
    """Score teacher and student on each physical variant; print the robustness table."""
    from rich.table import Table

    from rldistill.envs import parse_variants
    from rldistill.evaluate import score_student

    check_match(teacher.spec, env_spec(env_id), teacher.name, env_id)
    rows = [("default", None, {})]
    for text in args.variant:
        name, values = parse_variants(text)
        rows += [(name, v, {name: v}) for v in values]
    out = []
    for name, value, variant in rows:
        r = score_student(student, teacher, env_id, args.episodes, args.seed, variant=variant)
        out.append({"param": name, "value": value, "teacher": r["teacher"]["return_mean"],
                    "student": r["student"]["return_mean"], "random": r["random"]["return_mean"],
                    "student_ci95": r["student"]["return_ci95"],
                    "teacher_ci95": r["teacher"]["return_ci95"],
                    "normalized_score": r["normalized_score"], "agreement": r["agreement"]})
    if args.json:
        print(json.dumps({"env": env_id, "variants": out}))
        return 0
    t = Table(title=f"robustness on {env_id} ({args.episodes} episodes per cell)")
    for col in ("parameter", "value", "teacher", "student", "random", "normalized", "agreement"):
        t.add_column(col, justify="right")
    for o in out:
        t.add_row(o["param"], "" if o["value"] is None else f"{o['value']:g}",
                  f"{o['teacher']:.1f}", f"{o['student']:.1f}", f"{o['random']:.1f}",
                  "-" if o["normalized_score"] is None else f"{o['normalized_score']:.3f}",
                  f"{o['agreement']:.3f}")
    console().print(t)
    return 0


def _zoo_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from rldistill.zoo import zoo_entries

    entries = zoo_entries()
    if args.json:
        print(json.dumps(entries))
        return 0
    t = Table(title="rldistill zoo (use --teacher zoo:NAME)")
    for col in ("name", "algo", "env", "acting params", "return (95% CI)", "train steps"):
        t.add_column(col)
    for e in entries:
        lo, hi = e.get("return_ci95", [0, 0])
        t.add_row(e["name"], e["algo"], e["env"], str(e.get("acting_params", "?")),
                  f"{e.get('return_mean', float('nan')):.1f} ± {(hi - lo) / 2:.1f}",
                  str(e["steps"]))
    console().print(t)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from rldistill.demo import run_demo

    run_demo(Path(args.out), json_out=args.json)
    return 0


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    helps = field_help()
    for f in fields(DistillConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool":
            p.add_argument(flag, action="store_true", default=None, help=helps[f.name])
        elif f.name in ("teacher", "env"):
            p.add_argument(flag, action="append", default=None, help=helps[f.name])
        else:
            typ = {"int": int, "int | None": int, "float": float, "float | None": float}.get(
                str(f.type), str)
            p.add_argument(flag, type=typ, default=None, help=helps[f.name] +
                           (f" (default {f.default})" if f.default not in (None, "") else ""))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rldistill", description=__doc__)
    p.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = p.add_subparsers(dest="cmd", required=True)

    teacher = sub.add_parser("teacher", help="train teachers").add_subparsers(dest="tcmd",
                                                                               required=True)
    tt = teacher.add_parser("train", help="train a teacher with SB3 (RL-Zoo hyperparameters)")
    tt.add_argument("--algo", required=True, choices=["ppo", "dqn", "a2c", "qrdqn"])
    tt.add_argument("--env", required=True)
    tt.add_argument("--steps", type=int, required=True)
    tt.add_argument("--seed", type=int, default=0)
    tt.add_argument("--out", required=True, help="output .zip (a .json record is written beside)")
    tt.add_argument("--eval-episodes", type=int, default=100)
    tt.set_defaults(func=_teacher_train)

    zoo = sub.add_parser("zoo", help="the shipped teachers").add_subparsers(dest="zcmd",
                                                                             required=True)
    zl = zoo.add_parser("list", help="list the zoo's teachers with their measured returns")
    zl.add_argument("--json", action="store_true")
    zl.set_defaults(func=_zoo_list)

    d = sub.add_parser("distill", help="distil a teacher into a smaller student")
    _add_config_flags(d)
    d.add_argument("--config", help="YAML file of options (flags override it)")
    d.add_argument("--json", action="store_true", help="print the result as one JSON line")
    d.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    d.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint")
    d.set_defaults(func=_distill)

    e = sub.add_parser("evaluate", help="evaluate a saved student (and its teacher)")
    e.add_argument("--student", required=True, help="a distill --out directory")
    e.add_argument("--env", help="env id (default: the one the student was trained on)")
    e.add_argument("--teacher", help="teacher SPEC (default: the one it was distilled from)")
    e.add_argument("--episodes", type=int, default=100)
    e.add_argument("--seed", type=int, default=1_000_000)
    e.add_argument("--trust-teacher", action="store_true")
    e.add_argument("--variant", action="append", metavar="NAME=V1,V2",
                   help="score teacher and student on physical variants (repeatable), e.g. "
                        "length=0.25,0.5,1.0 for CartPole; prints a robustness table")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=_evaluate)

    x = sub.add_parser("export", help="export a saved student to ONNX (checked with onnxruntime)")
    x.add_argument("--student", required=True, help="a distill --out directory")
    x.add_argument("--out", required=True, help="output .onnx file")
    x.add_argument("--task", type=int, default=0,
                   help="which task of a multi-task student (default 0)")
    x.add_argument("--json", action="store_true", help="print the report as one JSON line")
    x.set_defaults(func=_export)

    dm = sub.add_parser("demo", help="distil the zoo's LunarLander Q-value teacher at 25/7/4 %%")
    dm.add_argument("--out", default="runs/demo")
    dm.add_argument("--json", action="store_true")
    dm.set_defaults(func=_demo)

    from rldistill.kickstart import add_parser as add_kickstart

    add_kickstart(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)  # small nets: threads cost more than they give (see benchmarks/)
    try:
        return int(args.func(args))
    except UserError as e:
        if args.debug:
            raise
        print(f"rldistill: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rldistill: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
