"""A Q-value teacher's action gaps (its best Q-value minus its second best) on the states its
own greedy policy visits: what a temperature for ``softmax(Q / tau)`` has to be measured
against (issue 27). 20 greedy episodes with the evaluator every run uses; prints one JSON row
per teacher: the gaps' quantiles and the share under 0.01 and 0.1.

    .venv/bin/python benchmarks/bank/gaps.py TEACHER.zip ENV [TEACHER.zip ENV ...]
"""

from __future__ import annotations

import json
import sys

import numpy as np
import torch

from rldistill.evaluation.rollouts import evaluate_policy
from rldistill.sources import load_teacher


def main() -> None:
    torch.set_num_threads(1)
    args = sys.argv[1:]
    for spec, env in zip(args[::2], args[1::2]):
        teacher, gaps = load_teacher(spec), []

        class Recording:
            head = teacher.head

            def act(self, obs: torch.Tensor) -> torch.Tensor:
                q = teacher.outputs(obs)
                top = q.topk(2, -1).values
                gaps.append((top[:, 0] - top[:, 1]).numpy())
                return q.argmax(-1)

        r = evaluate_policy(Recording(), env, 20, seed=1000)
        g = np.concatenate(gaps)
        print(json.dumps({"teacher": spec, "env": env, "states": len(g),
                          "return_mean": round(r.mean, 2),
                          "gap_quantiles_10_25_50_75": [round(float(x), 4) for x in
                                                        np.quantile(g, [.1, .25, .5, .75])],
                          "share_under_0.01": round(float((g < 0.01).mean()), 3),
                          "share_under_0.1": round(float((g < 0.1).mean()), 3)}), flush=True)


if __name__ == "__main__":
    main()
