"""The fidelity suite: do the field's findings hold here? Each finding is a set of configs, each
config run with ``--seeds N`` (IQM and 95 % stratified-bootstrap CIs by rliable), a verdict from
the CIs, and one report over all runs.

    .venv/bin/python benchmarks/fidelity/run.py [--seeds 10] [--findings rusu,czarnecki,hinton]

Runs go to runs/fidelity/ (finished seeds are read back on a rerun); results/fidelity.json,
results/VERDICTS.md and results/report.html are written here.

- Rusu et al. 2015: for Q-value teachers, KL with tau = 0.01 beats NLL, which beats MSE, at
  small budgets (two Q teachers of the zoo, budgets 1k-10k, 10 % students).
- Czarnecki et al. 2019: student-driven >= teacher-driven at equal budget.
- Hinton et al. 2015: the temperature sweep for a policy teacher.
- (Schmitt et al. 2018, kick-starting's speed-up, is benchmarks/kickstart/: RL runs of its own.)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RUNS = HERE.parents[1] / "runs" / "fidelity"


Q_TEACHERS = ("LunarLander-v3-dqn", "LunarLander-v3-dqn-seed0")


def findings(budgets: list[int], q_teachers: list[str]
             ) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    rusu = [(f"rusu-{t}-{b}-{loss}",
             {"teacher": f"zoo:{t}", "budget": b, "loss": loss, "param_ratio": 0.1,
              "temperature": 0.01})  # Rusu's tau (the default fits it to the action gaps)
            for t in q_teachers for b in budgets for loss in ("kl", "nll", "mse")]
    czarnecki = [(f"czarnecki-{b}-{d}", {"teacher": "zoo:LunarLander-v3-ppo", "budget": b,
                                         "driver": d, "param_ratio": 0.1})
                 for b in (2000, 5000) for d in ("teacher", "student")]
    hinton = [(f"hinton-T{t}", {"teacher": "zoo:LunarLander-v3-ppo", "budget": 2000,
                                "temperature": t, "loss": "kl", "param_ratio": 0.1})
              for t in (0.5, 1.0, 2.0, 5.0)]
    hinton += [(f"hinton500-T{t}", {"teacher": "zoo:LunarLander-v3-ppo", "budget": 500,
                                    "temperature": t, "loss": "kl", "param_ratio": 0.03})
               for t in (0.5, 1.0, 2.0, 5.0)]  # below the ceiling: 500 steps, a 3 % student
    return {"rusu": rusu, "czarnecki": czarnecki, "hinton": hinton}


def run_config(name: str, opts: dict[str, Any], seeds: int, episodes: int) -> dict[str, Any]:
    from rldistill.api import run
    from rldistill.core.config import DistillConfig
    from rldistill.drivers.seeds import run_seeds

    cfg = DistillConfig(**opts, eval_episodes=episodes, out=str(RUNS / name))
    t0 = time.perf_counter()
    r = run_seeds(lambda c, resume, overwrite: run(c, resume=resume, overwrite=overwrite),
                  cfg, seeds, resume=True, overwrite=not (RUNS / name).exists())
    print(f"{name}: IQM {r['normalized_score'] and r['normalized_score']['iqm']} "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    return r


def _iqm(r: dict[str, Any]) -> tuple[float, float, float]:
    a = r["normalized_score"]["iqm"]
    return a["value"], a["ci95"][0], a["ci95"][1]


def order_verdict(named: list[tuple[str, dict[str, Any]]]) -> str:
    """The configs' IQMs against the order given (first best), pair by pair: ">" where the
    first is above with CIs apart, "<" where below with CIs apart, "~" where the CIs overlap
    (the IQMs' order in brackets); holds only where every pair is ">"."""
    vals = [(n.split("-")[-1], *_iqm(r)) for n, r in named]
    chain, signs = vals[0][0], []
    for a, b in zip(vals, vals[1:]):
        sign = ">" if a[2] > b[3] else "<" if b[2] > a[3] else "~"
        signs.append(sign)
        chain += f" {sign} {b[0]}" + ("" if sign != "~" else
                                      " (IQM higher)" if b[1] > a[1] else " (IQM lower)")
    verdict = ("holds" if all(x == ">" for x in signs) else
               "does not hold" if "<" in signs else "partly: CIs overlap")
    return f"{verdict}: {chain}"


def verdicts(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for t in Q_TEACHERS:
        for b in (1000, 2000, 3000, 10000, 30000):
            names = [f"rusu-{t}-{b}-{loss}" for loss in ("kl", "nll", "mse")]
            if all(n in results for n in names):
                out.append({"finding": "Rusu 2015: KL(tau=0.01) > NLL > MSE",
                            "case": f"{t}, {b} labelled steps",
                            "iqm": {n.split("-")[-1]: _iqm(results[n]) for n in names},
                            "verdict": order_verdict([(n, results[n]) for n in names])})
    for b in (2000, 5000):
        names = [f"czarnecki-{b}-student", f"czarnecki-{b}-teacher"]
        if all(n in results for n in names):
            s, t = (_iqm(results[n]) for n in names)
            verdict = ("holds (student-driven above, CIs apart)" if s[1] > t[2] else
                       "does not hold (teacher-driven above, CIs apart)" if t[1] > s[2] else
                       "holds as >=: equal within CIs" if s[0] >= t[0] else
                       "equal within CIs (teacher-driven's IQM higher)")
            out.append({"finding": "Czarnecki 2019: student-driven >= teacher-driven",
                        "case": f"LunarLander-v3-ppo, {b} labelled steps",
                        "iqm": {"student": s, "teacher": t}, "verdict": verdict})
    for prefix, case in (("hinton-T", "2000 labelled steps, 10 % student"),
                         ("hinton500-T", "500 labelled steps, 3 % student")):
        temps = [n for n in results if n.startswith(prefix)]
        if not temps:
            continue
        iqm = {n[len(prefix):]: _iqm(results[n]) for n in temps}
        best = max(iqm, key=lambda k: iqm[k][0])
        apart = [k for k in iqm if iqm[k][2] < iqm[best][1]]
        out.append({"finding": "Hinton 2015: the temperature sweep (policy teacher)",
                    "case": f"LunarLander-v3-ppo, {case}, KL with T^2",
                    "iqm": iqm, "verdict": f"best T = {best}; below it with CIs apart: "
                                           f"{', '.join('T=' + k for k in apart) or 'none'}"})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--episodes", type=int, default=50)
    ap.add_argument("--budgets", default="1000,3000,10000", help="Rusu: labelled steps")
    ap.add_argument("--q-teachers", default=",".join(Q_TEACHERS), help="Rusu: zoo Q teachers")
    ap.add_argument("--findings", default="rusu,czarnecki,hinton")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)  # small students: threads only fight each other's runs
    budgets = [int(b) for b in a.budgets.split(",")]
    for finding, configs in findings(budgets, a.q_teachers.split(",")).items():
        if finding in a.findings.split(","):
            for name, opts in configs:
                run_config(name, opts, a.seeds, a.episodes)
    # verdicts and report over every finished config (runs of other invocations included)
    results = {d.name: json.loads((d / "result.json").read_text())
               for d in sorted(RUNS.iterdir()) if (d / "result.json").exists()}
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    v = verdicts(results)
    doc = {"seeds": a.seeds, "eval_episodes": a.episodes, "verdicts": v,
           "configs": {n: {"normalized_score": r["normalized_score"], "return": r.get("return"),
                           "agreement": r["agreement"], "per_seed": [
                               p["normalized_score"][0] for p in r["runs"]]}
                       for n, r in results.items()}}
    (out / "fidelity.json").write_text(json.dumps(doc, indent=1) + "\n")
    lines = ["# Fidelity verdicts", "",
             f"{a.seeds} seeds per config, {a.episodes} evaluation episodes per seed; IQM of the "
             "normalized score with 95 % stratified-bootstrap CIs (rliable).", "",
             "| finding | case | IQM [95 % CI] | verdict |", "|---|---|---|---|"]
    for row in v:
        cells = "; ".join(f"{k}: {x[0]:.3f} [{x[1]:.3f}, {x[2]:.3f}]"
                          for k, x in row["iqm"].items())
        lines.append(f"| {row['finding']} | {row['case']} | {cells} | {row['verdict']} |")
    (out / "VERDICTS.md").write_text("\n".join(lines) + "\n")
    from rldistill.report.html import build

    build([str(RUNS / n) for n in results], str(out / "report.html"), str(out / "VERDICTS.md"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
