"""Rusu et al. 2015's compression table on MinAtar: the zoo's CNN teachers (PPO, the MinAtar
network) distilled into CNN students of about 25 %, 7 % and 4 % of their parameters
(``--param-ratio``: channels and dense width scaled together), 5 seeds each.

    .venv/bin/python benchmarks/pixels/rusu_minatar.py [--games Breakout,SpaceInvaders]
        [--budget 50000] [--seeds 5] [--config NAME] [--ratios 0.25,0.07,0.04]
        [--teacher benchmarks/bank/teachers/MinAtar-{game}-v1-ppo-s0.zip]

``--teacher`` names each game's teacher (``{game}`` is replaced; default the zoo's): the bank's
MinAtar teachers (``benchmarks/bank/bank.py train --bank hard``) for the games the zoo has none
of. ``--env`` names its env (default ``MinAtar/{game}-v1``; ``{game}NoFrameskip-v4`` for the
bank's Atari teacher, whose rows name the env id as their game); ``--eval-episodes`` is passed
on where given (Atari: whole games, fewer of them). ``--teacher-label`` names the teachers' kind
in the rows (default ``ppo``, what every row before it had): ``dqn`` for the bank's first
MinAtar DQN teachers (``-dqn-s0``, since lost), ``dqn-s1`` for the ones shipped in git
(``--teacher benchmarks/bank/teachers/MinAtar-{game}-v1-dqn-s1.zip``).

``--config`` names a row set and the extra flags it passes (CONFIGS; "default" = none, the
defaults of the day: rows made before a default changed keep the label they were run under).
A config ``cnn:...`` is a ``--student-arch`` in place of ``--param-ratio`` (its rows keep the
size of ``--ratios`` they stand for, e.g. ``--ratios 0.07 --config cnn:8x3x2:64``).

Reports, per game and size, the student's return as % of the teacher's (Rusu's measure: 108 /
102 / 84 % at 25 / 7 / 4 %) with a 95 % t-interval over seeds, and the normalized score.
Below it, Rusu's own summary: the geometric mean over games of each game's mean %, for every
teacher kind, size, config and budget with rows on two or more MinAtar games (theirs: 10 Atari
games). Writes results/rusu.jsonl (one line per run) and results/rusu.md.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RUSU = {0.25: 108, 0.07: 102, 0.04: 84}
MINATAR = "MinAtar/{game}-v1"
# name -> extra `rldistill distill` flags
CONFIGS = {"default": [], "updates16k": ["--min-updates", "16000"],
           "updates32k": ["--min-updates", "32000"],
           "teacher": ["--driver", "teacher"], "student": ["--driver", "student"],
           "t0.3": ["--temperature", "0.3"], "t0.1": ["--temperature", "0.1"],
           # Rusu's tau, the default for Q-value teachers until it was fitted to the
           # teacher's action gaps ("default" rows of DQN teachers before then); "gap": the
           # defaults since (tau fitted), a label of its own so that they run beside them
           "t0.01": ["--temperature", "0.01"], "gap": []}
T95 = {2: 12.71, 3: 4.30, 4: 3.18, 5: 2.78, 6: 2.57, 7: 2.45, 8: 2.36, 9: 2.31, 10: 2.26}


def ci(values: list[float]) -> tuple[float, float]:
    m = statistics.mean(values)
    if len(values) < 2:
        return m, float("nan")
    return m, T95.get(len(values), 1.96) * statistics.stdev(values) / math.sqrt(len(values))


def size(config: str, ratio: float) -> list[str]:
    """The flags of a config: its student's size and extras."""
    if config.startswith("cnn:"):
        return ["--student-arch", config]
    return ["--param-ratio", str(ratio), *CONFIGS[config]]


def across_games(rows: list[dict], key) -> list[str]:
    """Rusu et al.'s own measure: the geometric mean over games of each game's mean % of its
    teacher, where one teacher kind, size, config and budget has rows on several MinAtar
    games."""
    md = ["| teacher | size | config | env steps | games | geometric mean of % of teacher | "
          "Rusu et al. (10 Atari games) |", "|---|---|---|---|---|---|---|"]
    per_game: dict[tuple, dict[str, float]] = {}
    for group in {key(r) for r in rows if "NoFrameskip" not in r["game"]}:
        pct = statistics.mean(r["pct_of_teacher"] for r in rows if key(r) == group)
        per_game.setdefault(group[1:], {})[group[0]] = pct
    for (teacher, neg_ratio, config, budget), games in sorted(per_game.items()):
        if len(games) < 2:
            continue
        md.append(f"| {teacher} | {-neg_ratio:.0%} | {config} | {budget} | "
                  f"{', '.join(f'{g} {p:.1f}' for g, p in sorted(games.items()))} | "
                  f"**{statistics.geometric_mean(games.values()):.1f}** | "
                  f"{RUSU.get(-neg_ratio, '-')} |")
    return md


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--games", default="Breakout,SpaceInvaders")
    ap.add_argument("--budget", type=int, default=50_000)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--config", default="default")
    ap.add_argument("--ratios", default=",".join(map(str, RUSU)))
    ap.add_argument("--teacher", default="zoo:MinAtar-{game}-v1-ppo")
    ap.add_argument("--env", default=MINATAR)
    ap.add_argument("--eval-episodes", type=int, default=None)
    ap.add_argument("--teacher-label", default="ppo")
    a = ap.parse_args()
    if a.config not in CONFIGS and not a.config.startswith("cnn:"):
        ap.error(f"--config: one of {', '.join(CONFIGS)} or cnn:LAYOUT")
    res = HERE / "results"
    res.mkdir(exist_ok=True)
    out = res / "rusu.jsonl"
    rows = [json.loads(x) for x in out.open()] if out.exists() else []
    done = {(r["game"], r["ratio"], r["seed"], r.get("config", "default"), r["budget"],
             r.get("teacher", "ppo")) for r in rows}
    for name in a.games.split(","):
        env = a.env.format(game=name)
        game = name if a.env == MINATAR else env
        for ratio in map(float, a.ratios.split(",")):
            for seed in range(a.seeds):
                if (game, ratio, seed, a.config, a.budget, a.teacher_label) in done:
                    continue
                tag = "" if a.teacher_label == "ppo" else f"-{a.teacher_label}"
                run = ROOT / f"runs/rusu-{game}{tag}-{ratio}-{seed}-{a.config}-{a.budget}"
                p = subprocess.run([str(ROOT / ".venv/bin/rldistill"), "distill", "--teacher",
                                    a.teacher.format(game=name), *size(a.config, ratio),
                                    "--budget", str(a.budget), "--seed", str(seed), "--out",
                                    str(run), "--overwrite", "--json",
                                    *([] if a.teacher.startswith("zoo:") else ["--env", env]),
                                    *([] if a.eval_episodes is None
                                      else ["--eval-episodes", str(a.eval_episodes)])],
                                   capture_output=True, text=True, check=True)
                r = json.loads(p.stdout.strip().splitlines()[-1])
                row = {"game": game, "ratio": ratio, "seed": seed, "budget": a.budget,
                       "config": a.config, "teacher": a.teacher_label,
                       "param_ratio": r["param_ratio"], "student_params": r["student"]["params"],
                       "teacher_params": r["teacher"]["params"],
                       "student_return": r["student"]["return_mean"],
                       "teacher_return": r["teacher"]["return_mean"],
                       "random_return": r["random"]["return_mean"],
                       "pct_of_teacher": round(100 * r["student"]["return_mean"]
                                               / r["teacher"]["return_mean"], 1),
                       "normalized_score": r["normalized_score"], "agreement": r["agreement"],
                       "wall_s": r["wall_s"],
                       **({"temperature": r["temperature"]} if "temperature" in r else {})}
                with out.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
    rows = [json.loads(x) for x in out.open()]
    md = ["| game | teacher | size (params) | config | env steps | % of teacher (95 % CI, "
          "seeds) | Rusu et al. | normalized | agreement | wall s |",
          "|---|---|---|---|---|---|---|---|---|---|"]

    def key(r: dict) -> tuple:
        return (r["game"], r.get("teacher", "ppo"), -r["ratio"], r.get("config", "default"),
                r["budget"])

    for group in sorted({key(r) for r in rows}):
        game, teacher, neg_ratio, config, budget = group
        rs = [r for r in rows if key(r) == group]
        m, h = ci([r["pct_of_teacher"] for r in rs])
        n, nh = ci([r["normalized_score"] for r in rs])
        md.append(f"| {game} | {teacher} | {-neg_ratio:.0%} ({rs[0]['student_params']} of "
                  f"{rs[0]['teacher_params']}) | {config} | {budget} | {m:.1f} ± {h:.1f} "
                  f"({len(rs)}) | {RUSU.get(-neg_ratio, '-')} | {n:.3f} ± {nh:.3f} | "
                  f"{statistics.mean(r['agreement'] for r in rs):.3f} | "
                  f"{statistics.mean(r['wall_s'] for r in rs):.0f} |")
    md += ["", *across_games(rows, key)]
    (res / "rusu.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
