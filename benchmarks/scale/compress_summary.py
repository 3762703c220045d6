"""A compress run's frontier as Markdown, and what its trials would have cost run one after
another (each trial's own training + evaluation time, as measured inside it).

    python benchmarks/scale/compress_summary.py FRONTIER.json
"""

import json
import sys


def main(path: str) -> None:
    doc = json.loads(open(path).read())
    print(f"### {doc['teacher']['name']} ({doc['teacher']['params']} params) on {doc['env']}\n")
    print(f"target {doc['target']}: {doc['rule']}; {doc['seeds']} seeds per size, depth "
          f"{doc['depth']}; widths probed in order: {doc['probed']}\n")
    print("| width | params | share of teacher | normalized score, mean [95% CI] | seeds | "
          "passes |")
    print("|---|---|---|---|---|---|")
    seq = 0.0
    for f in doc["frontier"]:
        m = f["normalized_score"]["mean"]
        seeds = ", ".join(f"{s:.3f}" for s in f["seed_scores"])
        print(f"| {f['width']} | {f['params']} | {f['param_ratio']:.4f} | {m['value']:.3f} "
              f"[{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}] | {seeds} | "
              f"{'yes' if f['passes'] else 'no'} |")
        for d in range(doc["seeds"]):
            r = json.loads(open(f"{f['dir']}/seed{doc['config']['seed'] + d}/result.json").read())
            seq += r["wall_s"] + r["eval_s"]
    w = doc["winner"]
    print()
    print(f"winner: {'width %d, %d params (%.4f of the teacher)' % (w['width'], w['params'], w['param_ratio']) if w else 'none'}; "  # noqa: E501
          f"{doc['trials']} runs in {doc['wall_s']} s wall on Ray; the same runs' own training + "
          f"evaluation time added up: {seq:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1])
