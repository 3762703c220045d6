"""Issue 14's measurements on teachers trained outside rldistill (benchmarks/sources/train.sh):

1. RL Zoo folders distilled with only ``--teacher FOLDER --out DIR``; the teacher's return as
   rldistill measures it (100 episodes) beside RL Zoo's own ``enjoy`` (deterministic, same
   folder, its own episode seeds): they should agree within their 95 % CIs.
2. The sb3-contrib table: each algorithm's model distilled (10 % student) -> its score, or the
   one-line error a user sees.

    .venv/bin/python benchmarks/sources/run.py   (writes results/zoo.jsonl, contrib.jsonl, table.md)
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PY = str(ROOT / ".venv/bin/python")
RLD = str(ROOT / ".venv/bin/rldistill")


def enjoy(algo: str, env: str, steps: int) -> dict:
    p = subprocess.run([PY, "-m", "rl_zoo3.enjoy", "--algo", algo, "--env", env, "-f", "logs",
                        "--exp-id", "1", "-n", str(steps), "--no-render", "--deterministic",
                        "--num-threads", "1"], cwd=HERE, capture_output=True, text=True,
                       check=True)
    # Atari: the game score of whole games (Monitor below AtariWrapper); others: each episode
    r = [float(x) for x in re.findall(r"(?:Atari Episode Score|Episode Reward): (-?[\d.]+)",
                                      p.stdout)]
    mean = sum(r) / len(r)
    sd = math.sqrt(sum((x - mean) ** 2 for x in r) / (len(r) - 1))
    half = 1.96 * sd / math.sqrt(len(r))
    return {"episodes": len(r), "return_mean": round(mean, 2),
            "return_ci95": [round(mean - half, 2), round(mean + half, 2)]}


def distill(teacher: str, out: str, *extra: str) -> dict:
    p = subprocess.run([RLD, "distill", "--teacher", teacher, "--out", out, "--overwrite",
                        "--json", *extra], cwd=HERE, capture_output=True, text=True)
    if p.returncode != 0:
        return {"error": p.stderr.strip().splitlines()[-1]}
    r = json.loads(p.stdout.strip().splitlines()[-1])
    return {k: r.get(k) for k in ("env", "normalized_score", "agreement", "wall_s")} | {
        "teacher": r["teacher"], "student": r["student"]}


def main() -> None:
    res = HERE / "results"
    res.mkdir(exist_ok=True)
    cached = {json.loads(x)["folder"]: json.loads(x) for x in (res / "zoo.jsonl").open()} \
        if (res / "zoo.jsonl").exists() else {}
    rows = []
    for algo, env, steps in [("ppo", "Acrobot-v1", 20_000), ("sac", "Pendulum-v1", 20_000),
                             ("ppo", "BreakoutNoFrameskip-v4", 20_000)]:
        folder = f"logs/{algo}/{env}_1"
        if folder in cached:
            rows.append(cached[folder])
            continue
        row = {"folder": folder, "command": f"rldistill distill --teacher {folder} --out DIR",
               "rldistill": distill(folder, str(ROOT / f"runs/sources-{algo}-{env}")),
               "rl_zoo3_enjoy": enjoy(algo, env, steps)}
        t, z = row["rldistill"]["teacher"], row["rl_zoo3_enjoy"]
        # Atari: rldistill's episodes are AtariWrapper's (one life, clipped rewards, what the
        # teacher was trained on), enjoy's are whole games: not the same measure
        lo, hi = t["return_ci95"]
        row["within_ci"] = None if "NoFrameskip" in env else (
            lo <= z["return_ci95"][1] and z["return_ci95"][0] <= hi)
        rows.append(row)
        print(json.dumps(row), flush=True)
        (res / "zoo.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (res / "zoo.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    table = []
    for name, spec in [("QR-DQN", "logs/qrdqn/CartPole-v1_1"), ("TQC", "logs/tqc/Pendulum-v1_1"),
                       ("TRPO", "logs/trpo/CartPole-v1_1"), ("ARS", "logs/ars/CartPole-v1_1"),
                       ("CrossQ", "logs/crossq/Pendulum-v1_1"),
                       ("MaskablePPO (no masks)", "logs/maskableppo-CartPole-v1.zip"),
                       ("RecurrentPPO", "logs/recurrentppo-CartPole-v1.zip")]:
        extra = ["--env", "CartPole-v1"] if spec.endswith(".zip") else []
        r = distill(spec, str(ROOT / f"runs/sources-contrib-{name.split()[0]}"),
                    "--param-ratio", "0.1", *extra)
        table.append({"algorithm": name, "teacher": spec, **r})
        print(json.dumps(table[-1]), flush=True)
    (res / "contrib.jsonl").write_text("".join(json.dumps(r) + "\n" for r in table))
    md = ["| folder (rl_zoo3 train) | rldistill: teacher return [CI] | rl_zoo3 enjoy [CI] | "
          "agree | student normalized |", "|---|---|---|---|---|"]
    for r in rows:
        t, z = r["rldistill"]["teacher"], r["rl_zoo3_enjoy"]
        md.append(f"| {r['folder']} | {t['return_mean']:.1f} {t['return_ci95']} | "
                  f"{z['return_mean']:.1f} {z['return_ci95']} ({z['episodes']} ep) | "
                  f"{ {True: 'yes', False: 'NO', None: 'other measure'}[r['within_ci']]} | "
                  f"{r['rldistill']['normalized_score']} |")
    md += ["", "| sb3-contrib algorithm | works? | teacher return | student (10 %) normalized |",
           "|---|---|---|---|"]
    for r in table:
        if "error" in r:
            md.append(f"| {r['algorithm']} | no: `{r['error']}` | | |")
        else:
            md.append(f"| {r['algorithm']} | yes ({r['env']}) | "
                      f"{r['teacher']['return_mean']:.1f} | {r['normalized_score']} |")
    (res / "table.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    sys.exit(main())
