"""Side by side: rldistill (teacher / student / mix drivers), a hand-written loop, imitation BC
and DAgger; same teachers, [32] ReLU students, budgets, seeds and evaluator.

    .venv/bin/python benchmarks/compare.py            # full: 5 seeds, 100 eval episodes
    .venv/bin/python benchmarks/compare.py --quick    # smoke: 1 seed, 10 episodes, 2 budgets

(``benchmarks/run.sh`` does the set-up and runs this and throughput.py.) imitation runs in its own
venv (``benchmarks/.venv-imitation``, made by setup_imitation.sh) through imitation_runner.py;
its students come back as weights and are scored here. Every student is scored by
``rldistill.evaluation.rollouts.score_student`` against the same teacher and random policy, on episode
seeds ``seed + 1_000_000 + e`` (what ``rldistill distill`` uses).

``wall_s`` is end to end inside the training process, without evaluation: loading the teacher,
making the envs, collecting and training (rldistill: the whole ``distill.train`` call, so its
per-round checkpoints are included; imitation: also its DAgger demo files on disk). Process
start-up and imports are not included.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

ENVS = {  # env: (teacher, budgets)
    "LunarLander-v3": ("zoo:LunarLander-v3-ppo", [1000, 2000, 3000, 5000, 10000]),
    "Acrobot-v1": ("zoo:Acrobot-v1-ppo", [1000, 2000]),
    "CartPole-v1": ("zoo:CartPole-v1-ppo", [1000, 2000]),
}
QUICK_ENVS = {"LunarLander-v3": ("zoo:LunarLander-v3-ppo", [2000]),
              "CartPole-v1": ("zoo:CartPole-v1-ppo", [1000])}
METHODS = ["rldistill-teacher", "rldistill-student", "rldistill-mix", "rldistill-teacher-bs256",
           "handwritten",
           "imitation-bc", "imitation-dagger"]
TARGET = 0.98


def load_avg() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def run_rldistill(method: str, env: str, teacher: str, budget: int, seed: int, tmp: Path):
    """rldistill-DRIVER with its defaults; rldistill-teacher-bs256 with the hand-written loop's
    update rule (batch 256, max(1000, 20 epochs) updates): the implementation alone compared."""
    import rldistill
    from rldistill.core.config import DistillConfig

    driver = method.split("-")[1]
    same = dict(batch_size=256, min_updates=1000) if method.endswith("-bs256") else {}
    # a [32] ReLU student, as the hand-written loop's and imitation's (--student-activation's
    # default would give this PPO teacher's student tanh)
    cfg = DistillConfig(teacher=teacher, env=env, student_hidden="32", driver=driver,
                        student_activation="relu", budget=budget, seed=seed,
                        out=str(tmp / method), **same)
    t0 = time.perf_counter()
    res = rldistill.train(cfg)
    wall = time.perf_counter() - t0
    loop = getattr(res, "loop", res)  # the engine's Outcome (or, run against an older
    labelled = getattr(loop, "labelled", getattr(loop, "labelled_steps", None))  # checkout,
    return res.student.for_task(0), {"labelled_steps": labelled, "wall_s": wall,  # its result)
                                     "loop_wall_s": loop.wall_s, "updates": loop.updates}


def run_handwritten(env: str, teacher: str, budget: int, seed: int):
    import handwritten

    student, labelled, wall = handwritten.train(teacher, env, budget, seed)
    return student, {"labelled_steps": labelled, "wall_s": wall}


def run_imitation(jobs: list[dict], tmp: Path) -> dict[tuple, tuple]:
    """All imitation jobs in one process of the imitation venv; students rebuilt from weights."""
    from rldistill.core.spaces import SpaceSpec
    from rldistill.students.network import build_student

    py = HERE / ".venv-imitation" / "bin" / "python"
    if not py.exists():
        subprocess.run(["bash", str(HERE / "setup_imitation.sh")], check=True)
    (tmp / "jobs.json").write_text(json.dumps(jobs))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    subprocess.run([str(py), str(HERE / "imitation_runner.py"), "--jobs", str(tmp / "jobs.json"),
                    "--out", str(tmp / "imitation")], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    out = {}
    for row in json.loads((tmp / "imitation" / "timings.json").read_text()):
        w = dict(np.load(tmp / "imitation" / row["file"]))
        spec = SpaceSpec((w["net.0.weight"].shape[1],), int(w["net.2.weight"].shape[0]))
        s = build_student(spec, (w["net.0.weight"].shape[0],))
        s.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()})
        info = {k: row[k] for k in ("labelled_steps", "wall_s", "expert_queries", "env_trained")}
        out[(f"imitation-{row['method']}", row["env"], row["budget"], row["seed"])] = (
            s.eval().for_task(0), info)
    return out


def score(student, teacher, env: str, episodes: int, seed: int, cache: dict) -> dict:
    from rldistill.evaluation.rollouts import score_student

    r = score_student(student, teacher, env, episodes, seed=seed + 1_000_000, cache=cache)
    return {"return_mean": r["student"]["return_mean"], "return_ci95": r["student"]["return_ci95"],
            "teacher_return": r["teacher"]["return_mean"],
            "random_return": r["random"]["return_mean"],
            "normalized_score": r["normalized_score"], "agreement": r["agreement"],
            "kl_to_teacher": r["kl_to_teacher"], "student_params": r["student"]["params"]}


def med_range(xs: list[float], fmt: str = "{:.2f}") -> str:
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    m = statistics.median(xs)
    if len(xs) == 1:
        return fmt.format(m)
    return f"{fmt.format(m)} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"


def summarize(runs: list[dict], envs: dict) -> tuple[list[dict], list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["env"], r["budget"], r["method"]), []).append(r)
    summary = []
    for (env, budget, method), rs in groups.items():
        def col(k):
            return [r[k] for r in rs]
        summary.append({
            "env": env, "budget": budget, "method": method, "seeds": len(rs),
            **{f"{k}_median": statistics.median(col(k)) for k in
               ("normalized_score", "return_mean", "wall_s", "labelled_steps", "agreement")},
            **{f"{k}_min": min(col(k)) for k in ("normalized_score", "wall_s")},
            **{f"{k}_max": max(col(k)) for k in ("normalized_score", "wall_s")}})
    to_target = []
    for env in envs:
        for method in METHODS:
            rows = sorted((s for s in summary if s["env"] == env and s["method"] == method),
                          key=lambda s: s["budget"])
            hit = next((s for s in rows if s["normalized_score_median"] >= TARGET), None)
            seeds_ok = {s["budget"]: sum(r["normalized_score"] >= TARGET for r in groups[
                (env, s["budget"], method)]) for s in rows}
            to_target.append({
                "env": env, "method": method, "budget": hit["budget"] if hit else None,
                "labelled_steps": hit["labelled_steps_median"] if hit else None,
                "wall_s": hit["wall_s_median"] if hit else None,
                "seeds_reaching_by_budget": seeds_ok})
    return summary, to_target


def markdown(runs: list[dict], summary: list[dict], to_target: list[dict], meta: dict) -> str:
    lines = [f"# Benchmark results ({'quick smoke run' if meta['quick'] else 'full run'})", "",
             f"- date: {meta['date']}; machine: {meta['machine']}",
             f"- load before: `{meta['load_before']}`", f"- load after: `{meta['load_after']}`",
             f"- seeds: {meta['seeds']}; evaluation episodes per student: {meta['episodes']} "
             "(seeds `seed + 1e6 + e`, same for every method, teacher and random policy)",
             "- cells: median over seeds (min–max); wall = collection + training in-process, "
             "no evaluation", "", "## Per budget", "",
             "| env | budget | method | labelled steps | wall s | return (mean ± 95% CI, "
             "median seed) | normalized score | agreement |", "|---|---|---|---|---|---|---|---|"]
    by = {}
    for r in runs:
        by.setdefault((r["env"], r["budget"], r["method"]), []).append(r)
    order = {m: i for i, m in enumerate(METHODS)}
    for s in sorted(summary, key=lambda s: (list(ENVS).index(s["env"]), s["budget"],
                                            order[s["method"]])):
        rs = by[(s["env"], s["budget"], s["method"])]
        mid = sorted(rs, key=lambda r: r["normalized_score"])[len(rs) // 2]
        lo, hi = mid["return_ci95"]
        ret = f"{mid['return_mean']:.1f} ± {(hi - lo) / 2:.1f}"
        lines.append(
            f"| {s['env']} | {s['budget']} | {s['method']} | "
            f"{med_range([r['labelled_steps'] for r in rs], '{:.0f}')} | "
            f"{med_range([r['wall_s'] for r in rs])} | {ret} | "
            f"{med_range([r['normalized_score'] for r in rs], '{:.3f}')} | "
            f"{med_range([r['agreement'] for r in rs], '{:.3f}')} |")
    teach = {}
    for r in runs:
        teach.setdefault(r["env"], []).append((r["teacher_return"], r["random_return"]))
    lines += ["", "Teacher / random return (mean over the evaluation seeds, median over seeds): " +
              "; ".join(f"{e}: {statistics.median(t for t, _ in v):.1f} / "
                        f"{statistics.median(x for _, x in v):.1f}" for e, v in teach.items()),
              "", f"## Labelled steps and wall time to normalized score ≥ {TARGET}", "",
              "Smallest budget whose median score over seeds reaches the target; the last column "
              "counts the seeds that reach it at each budget.", "",
              "| env | method | budget | labelled steps | wall s | seeds ≥ target by budget |",
              "|---|---|---|---|---|---|"]
    for t in to_target:
        if not t["seeds_reaching_by_budget"]:
            continue
        reach = ", ".join(f"{b}: {n}/{meta['seeds']}" for b, n in
                          t["seeds_reaching_by_budget"].items())
        if t["budget"] is None:
            lines.append(f"| {t['env']} | {t['method']} | not reached | - | - | {reach} |")
        else:
            lines.append(f"| {t['env']} | {t['method']} | {t['budget']} | "
                         f"{t['labelled_steps']:.0f} | {t['wall_s']:.2f} | {reach} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 seed, 10 episodes, 2 budgets")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--envs", default=None, help="comma-separated subset of the envs")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--budgets", default=None,
                    help="comma-separated subset of the budgets (e.g. 10000 for the wall table)")
    ap.add_argument("--out", default=str(HERE / "results"))
    a = ap.parse_args()
    envs = QUICK_ENVS if a.quick else ENVS
    if a.envs:
        envs = {e: ENVS[e] for e in a.envs.split(",")}
    if a.budgets:
        keep = [int(b) for b in a.budgets.split(",")]
        envs = {e: (t, [b for b in bs if b in keep]) for e, (t, bs) in envs.items()}
    seeds = list(range(1 if a.quick else a.seeds))
    episodes = 10 if a.quick else a.episodes
    methods = a.methods.split(",")
    out = Path(a.out) / ("quick" if a.quick else "")
    out.mkdir(parents=True, exist_ok=True)

    from rldistill.sources import load_teacher

    meta = {"quick": a.quick, "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            "machine": f"{os.cpu_count()} CPU cores, no GPU, torch {torch.__version__}, "
                       "torch.set_num_threads(1)", "load_before": load_avg(),
            "seeds": len(seeds), "episodes": episodes}
    print(f"load before: {meta['load_before']}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="rldistill-bench-"))
    trained: dict[tuple, tuple] = {}
    jobs = [{"method": m[len("imitation-"):], "env": env, "teacher": t, "budget": b, "seed": s}
            for env, (t, budgets) in envs.items() for s in seeds for b in budgets
            for m in methods if m.startswith("imitation-")]
    if jobs:
        t0 = time.perf_counter()
        trained.update(run_imitation(jobs, tmp))
        print(f"imitation: {len(jobs)} runs in {time.perf_counter() - t0:.0f} s", flush=True)
    runs = []
    for env, (teacher_spec, budgets) in envs.items():
        teacher = load_teacher(teacher_spec)
        cache: dict = {}
        for s in seeds:
            for b in budgets:
                for m in methods:
                    if m.startswith("rldistill-"):
                        student, info = run_rldistill(m, env, teacher_spec, b, s, tmp)
                    elif m == "handwritten":
                        student, info = run_handwritten(env, teacher_spec, b, s)
                    else:
                        student, info = trained[(m, env, b, s)]
                    row = {"env": env, "method": m, "budget": b, "seed": s, **info,
                           **score(student, teacher, env, episodes, s, cache)}
                    runs.append(row)
                    print(f"{env} {b:>6} seed {s} {m:<18} wall {row['wall_s']:6.2f}s "
                          f"labelled {row['labelled_steps']:>6} score "
                          f"{row['normalized_score']:.3f} agree {row['agreement']:.3f}",
                          flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    meta["load_after"] = load_avg()
    print(f"load after: {meta['load_after']}", flush=True)
    summary, to_target = summarize(runs, envs)
    (out / "runs.json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=1) + "\n")
    (out / "summary.json").write_text(json.dumps(
        {"meta": meta, "summary": summary, "to_target": to_target}, indent=1) + "\n")
    (out / "RESULTS.md").write_text(markdown(runs, summary, to_target, meta))
    print(f"wrote {out}/runs.json, summary.json, RESULTS.md")


if __name__ == "__main__":
    main()
