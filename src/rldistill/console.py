"""What the CLI prints: rich tables of results, the robustness table, the zoo, export reports."""

from __future__ import annotations

import sys
from typing import Any


def console(quiet: bool = False) -> Any:
    """A rich console; 140 columns when not a terminal so that piped tables are not cut."""
    from rich.console import Console

    return Console(quiet=quiet, width=None if sys.stdout.isatty() else 140)


def fmt_ret(block: dict[str, Any]) -> str:
    lo, hi = block["return_ci95"]
    return f"{block['return_mean']:.1f} ± {(hi - lo) / 2:.1f}"


def fmt_score(value: float | None) -> str:
    return "undefined" if value is None else str(value)


def print_result(r: dict[str, Any]) -> None:
    """A distill result: teacher, (ensemble members,) student and random per task."""
    from rich.table import Table

    tasks = r.get("tasks") or [r]
    t = Table(title=f"{r['teacher']['name']} -> student {r['student']['hidden']} "
                    f"({r['student']['params']} params)")
    for col in ("env", "policy", "params", "return (95% CI)", "normalized", "agreement"):
        t.add_column(col)
    for b in tasks:
        t.add_row(b["env"], "teacher", str(b["teacher"]["params"]), fmt_ret(b["teacher"]), "", "")
        for m in b.get("members", []):
            t.add_row("", f"  member {m['name']}", str(m["params"]), fmt_ret(m),
                      f"student {fmt_score(m['student_normalized_score'])}",
                      f"{m['agreement']:.3f}")
        t.add_row("", "student", str(b["student"]["params"]), fmt_ret(b["student"]),
                  fmt_score(b["normalized_score"]), f"{b['agreement']:.3f}")
        if b.get("baseline_mlp"):  # a recurrent student's MLP baseline on the same view
            m = b["baseline_mlp"]
            t.add_row("", "MLP baseline", str(m["student"]["params"]), fmt_ret(m["student"]),
                      fmt_score(m["normalized_score"]), f"{m['agreement']:.3f}")
        t.add_row("", "random", "-", fmt_ret(b["random"]), "", "")
    c = console()
    c.print(t)
    if r.get("config", {}).get("student_obs"):
        c.print(f"the teacher sees the env's observations, the student its view "
                f"{r['config']['student_obs']}")
    c.print(f"normalized score {fmt_score(r['normalized_score'])}, agreement "
            f"{r['agreement']:.3f}, param ratio {r['param_ratio']:.3f}, env steps "
            f"{r.get('env_steps', r['labelled_steps'])} ({r['labelled_steps']} labelled, "
            f"{r.get('teacher_queries', r['labelled_steps'])} teacher queries), wall "
            f"{r['wall_s']:.2f} s (eval {r['eval_s']:.1f} s)")
    if r.get("normalized_score_note"):
        c.print(f"normalized score {r['normalized_score_note']}")
    if r.get("auto_budget"):
        c.print(f"--budget auto: {r['auto_budget']['stopped']}")
    for w in r.get("warnings", []):
        c.print(f"[yellow]warning:[/yellow] {w}")
    if "latency_us" in r:
        lat = r["latency_us"]
        c.print(f"latency per action (batch 1): student {lat['student']:.0f} us, teacher "
                f"{lat['teacher']:.0f} us")


def print_seeds(r: dict[str, Any]) -> None:
    """A --seeds result: per seed, then the aggregate (mean and IQM with 95 % CIs)."""
    from rich.table import Table

    who = (f"{r['teacher']['name']} -> student of {r['student_params']} params"
           if "student_params" in r else f"{r['env']}: fine-tuned")
    t = Table(title=f"{who}, {len(r['seeds'])} seeds")
    for col in ("seed", "normalized", "return", "agreement"):
        t.add_column(col)
    for p in r["runs"]:
        t.add_row(str(p["seed"]), ", ".join(fmt_score(s) for s in p["normalized_score"]),
                  ", ".join(f"{x:.1f}" for x in p["return_mean"]),
                  ", ".join(f"{x:.3f}" for x in p.get("agreement", [])))
    for name in ("mean", "iqm"):
        cells = [f"{a[name]['value']} [{a[name]['ci95'][0]}, {a[name]['ci95'][1]}]"
                 if a else "" for a in (r.get("normalized_score"), r.get("return"),
                                        r.get("agreement"))]
        t.add_row(name.upper() if name == "iqm" else name, *cells)
    console().print(t)
    if r.get("note"):
        console().print(r["note"])


def print_robustness(env_id: str, episodes: int, rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    t = Table(title=f"robustness on {env_id} ({episodes} episodes per cell)")
    for col in ("parameter", "value", "teacher", "student", "random", "normalized", "agreement"):
        t.add_column(col, justify="right")
    for o in rows:
        t.add_row(o["param"], "" if o["value"] is None else f"{o['value']:g}",
                  f"{o['teacher']:.1f}", f"{o['student']:.1f}", f"{o['random']:.1f}",
                  "-" if o["normalized_score"] is None else f"{o['normalized_score']:.3f}",
                  f"{o['agreement']:.3f}")
    console().print(t)


def print_zoo(entries: list[dict[str, Any]]) -> None:
    from rich.table import Table

    t = Table(title="rldistill zoo (use --teacher zoo:NAME)")
    for col in ("name", "algo", "env", "acting params", "return (95% CI)", "train steps"):
        t.add_column(col)
    for e in entries:
        lo, hi = e.get("return_ci95", [0, 0])
        t.add_row(e["name"], e["algo"], e["env"], str(e.get("acting_params", "?")),
                  f"{e.get('return_mean', float('nan')):.1f} ± {(hi - lo) / 2:.1f}",
                  str(e["steps"]))
    console().print(t)


def print_export(report: dict[str, Any]) -> None:
    lat = report["latency_us"]
    console().print(f"wrote {report['onnx']} ({report['bytes']} bytes, {report['params']} params, "
                    f"obs {report['obs_dim']} -> {report['out_dim']} {report['output']}); "
                    f"onnxruntime vs torch on {report['check_rows']} "
                    f"{report['check_states']} states: max |diff| "
                    f"{report['max_abs_diff']:.1e}, action agreement "
                    f"{report['action_agreement']:.4f}; latency per call (batch 1): onnxruntime "
                    f"{lat['onnxruntime']:.0f} us, torch {lat['torch']:.0f} us")
    if "int8" in report:
        q = report["int8"]
        console().print(f"wrote {q['onnx']} ({q['bytes']} bytes, int8 {q['mode']}): action "
                        f"agreement with the float graph {q['action_agreement_vs_float']:.4f}; "
                        f"latency (batch 1) {q['latency_us']['int8']:.0f} us vs float "
                        f"{q['latency_us']['float']:.0f} us")


def print_export_sb3(report: dict[str, Any]) -> None:
    extra = "".join(f", {k} {report[k]}" for k in ("q_scale", "log_std") if k in report)
    console().print(f"wrote {report['sb3']} ({report['bytes']} bytes, SB3 {report['algo']}, "
                    f"hidden {report['hidden']}{extra}); reloaded with SB3, deterministic action "
                    f"agreement with the student on {report['check_rows']} "
                    f"{report['check_states']} states: {report['action_agreement']:.4f}")
    if "vecnormalize" in report:
        console().print(f"wrote {report['vecnormalize']}: load it with VecNormalize.load(path, "
                        "venv) around the env (the student's observation statistics)")


def print_latency(report: dict[str, Any]) -> None:
    from rich.table import Table

    batches = list(report["rows"][0]["batch"])
    t = Table(title=f"{report['run']}: {report['env']} ({report['threads']} thread(s), "
                    f"{report['states']} states)")
    for col in ("who", "runtime", "params", "bytes"):
        t.add_column(col)
    for b in batches:
        t.add_column(f"batch {b}: us/action", justify="right")
        t.add_column("actions/s", justify="right")
        t.add_column("vs teacher", justify="right")
    for r in report["rows"]:
        cells = [r["who"], r["runtime"], str(r["params"]), str(r["bytes"] or "?")]
        for b in batches:
            f = r["batch"][b]
            cells += [f"{f['us_per_action']:.3g}", f"{f['actions_per_s']:,}",
                      f"{f['speedup_vs_teacher']:.2f}x"]
        t.add_row(*cells)
    console().print(t)
    console().print(f"int8 action agreement with the float graph: "
                    f"{report['int8_agreement_vs_float']:.4f}")


def print_teacher_info(info: dict[str, Any]) -> None:
    from rich.table import Table

    t = Table(title=f"teacher {info['spec']}", show_header=False)
    t.add_column("what")
    t.add_column("value")
    t.add_column("from")
    origin = info["origin"]
    act = info["action"]
    action = (f"{act['n']} discrete" if act["kind"] == "discrete"
              else f"box {act['shape']} in [{min(act['low'])}, {max(act['high'])}]"
              if act["kind"] == "box" else f"{act['kind']} {act.get('nvec') or act['n']}")
    # an SB3 zip says its algorithm and spaces; other frameworks' files take them from --env
    spaces = "the zip's data" if info["algorithm"] else "--env, checked against its network"
    activation = info.get("activation")
    rows = [("file", str(info["file"]), info["format"] or ""),
            *([("algorithm", f"{info['algorithm']} ({info['policy']})", "the zip's data")]
              if info["algorithm"] else []),
            ("outputs", f"{info['kind']} -> {info['head']} head", "its policy's weights"),
            *([("activation", activation["name"], activation["from"])] if activation else []),
            ("observation", f"{info['observation']['shape']} {info['observation']['dtype']}",
             spaces),
            ("action", action, spaces),
            ("acting params", str(info["acting_params"]), "its acting path")]
    norm = info["normalize"]
    rows.append(("normalize", "none" if norm is None else f"clip {norm['clip']}",
                 "" if norm is None else str(norm["file"])))
    env = info["env"]
    if env is None:
        given = info.get("env_given")
        rows.append(("env", given, "--env") if given else ("env", "not named: pass --env", ""))
    else:
        rows.append(("env", env["id"], origin.get("env", "")))
        for key, label in (("kwargs", "env_kwargs"), ("wrappers", "env_wrapper"),
                           ("frame_stack", "frame_stack")):
            if env[key]:
                rows.append((label, str(env[key]), origin.get(label, "")))
    if "gym_packages" in origin:
        rows.append(("gym_packages", origin["gym_packages"], "args.yml"))
    for row in rows:
        t.add_row(*row)
    console().print(t)
    for note in info["notes"]:
        console().print(f"note: {note}")


def print_kickstart(result: dict[str, Any], out: str) -> None:
    for name in ("student", "scratch"):
        if name in result:
            r = result[name]
            print(f"{name:8s} steps_to_90={r['steps_to_90']} normalized={r['normalized_score']} "
                  f"return={r['final_return_mean']} (teacher "
                  f"{result['teacher']['final_return_mean']}) wall={r['train_wall_s']} s")
    if "speedup" in result:
        print(f"speedup {result['speedup']} (lower bound {result['speedup_lower_bound']})")
    print(f"wrote {out}/student_sb3.zip, student.safetensors, result.json")


def print_finetune(result: dict[str, Any], out: str) -> None:
    for name, r in (("fine-tuned", result), ("scratch", result.get("scratch"))):
        if r:
            print(f"{name:10s} start={r['start_normalized_score']} lowest="
                  f"{r['lowest_normalized_score']} final={r['normalized_score']} (return "
                  f"{r['final_return_mean']}, teacher {result['teacher']['return_mean']}) "
                  f"wall={r['train_wall_s']} s")
    if "steps_to_final" in result:
        s = result["steps_to_final"]
        print(f"env steps to {s['level']}: fine-tuned {s['student']}, scratch {s['scratch']}")
    for w in result.get("warnings", []):
        print(f"warning: {w}")
    print(f"wrote {out}/student_sb3.zip, student.safetensors, result.json")
