"""``rldistill demo``: the zoo's Q-value LunarLander teacher distilled at 25 %, 7 % and 4 % of its
size (the ratios of Rusu et al. 2015), each student scored against teacher and random policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rldistill.core.config import DistillConfig

DEMO_TEACHER = "zoo:LunarLander-v3-dqn"
DEMO_ENV = "LunarLander-v3"
DEMO_RATIOS = (0.25, 0.07, 0.04)
DEMO_DRIVER = "mix"  # DAgger: a Q-value teacher's students drift less than student-driven ones
DEMO_BUDGET = 50_000


def run_demo(out: Path, json_out: bool = False, budget: int = DEMO_BUDGET,
             driver: str = DEMO_DRIVER, episodes: int = 100) -> list[dict[str, Any]]:
    from rich.table import Table

    from rldistill.api import run
    from rldistill.console import console as make_console
    from rldistill.console import fmt_ret

    console = make_console(quiet=json_out)
    cache: dict[tuple[Any, ...], Any] = {}
    results = []
    for ratio in DEMO_RATIOS:
        cfg = DistillConfig(teacher=DEMO_TEACHER, env=DEMO_ENV, param_ratio=ratio, loss="kl",
                            driver=driver, budget=budget, eval_episodes=episodes,
                            out=str(out / f"ratio-{ratio:g}"))
        with console.status(f"distilling into a student of {ratio:.0%} of the teacher's size"):
            results.append(run(cfg, cache=cache, overwrite=True))
    teacher = results[0]["teacher"]
    table = Table(title=f"{DEMO_ENV}: {DEMO_TEACHER} ({teacher['params']} acting params, return "
                        f"{fmt_ret(teacher)}), KL(tau=0.01), driver {driver}, {budget} "
                        "labelled steps")
    for col in ("student", "params", "% of teacher", "return ± 95% CI", "normalized score",
                "agreement", "wall s"):
        table.add_column(col, justify="right")
    for r in results:
        s = r["student"]
        table.add_row(f"{s['hidden']}", str(s["params"]), f"{100 * r['param_ratio']:.1f}",
                      fmt_ret(s), f"{r['normalized_score']:.3f}", f"{r['agreement']:.3f}",
                      f"{r['wall_s']:.1f}")
    table.add_row("random", "-", "-", fmt_ret(results[0]["random"]), "0", "-", "-")
    console.print(table)
    (out / "demo.json").write_text(json.dumps(results, indent=1) + "\n")
    if json_out:
        print(json.dumps({"demo": [{k: r[k] for k in ("student", "normalized_score", "agreement",
                                                      "param_ratio", "wall_s")}
                                   for r in results], "teacher": teacher}))
    return results

