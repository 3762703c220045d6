"""Issue 15 (a)/(b): every trial of a finished sweep against the same config run alone, in
sequence in this process (api.run, one torch thread, as the CLI); the fields that are
deterministic must be equal and the student weights identical.

    python benchmarks/scale/sweep_vs_alone.py SWEEP_OUT ALONE_OUT RESULT.json

ALONE_OUT is reused when it already holds the runs (their wall time is then the recorded one).
"""

import hashlib
import json
import sys
import time
from pathlib import Path

import torch

from rldistill.api import run
from rldistill.core.config import DistillConfig

FIELDS = ("normalized_score", "agreement", "kl_to_teacher", "updates", "labelled_steps",
          "final_loss", "student", "teacher", "random", "param_ratio")


def weights_hash(d: Path) -> str:
    from rldistill.students.network import load_student

    student, _ = load_student(d)
    h = hashlib.sha256()
    for k, v in student.state_dict().items():
        h.update(k.encode())
        h.update(v.numpy().tobytes())
    return h.hexdigest()[:16]


def main(sweep_out: str, alone_out: str, result_path: str) -> None:
    torch.set_num_threads(1)
    summary = json.loads((Path(sweep_out) / "sweep.json").read_text())
    rows, alone_wall = [], 0.0
    for t in summary["trials"]:
        swept = json.loads((Path(t["dir"]) / "result.json").read_text())
        out = Path(alone_out) / t["name"]
        cfg = DistillConfig(**{**swept["config"], "out": str(out)})
        if (out / "result.json").exists():
            alone = json.loads((out / "result.json").read_text())
            took = alone["_bench_total_s"]
        else:
            start = time.perf_counter()
            alone = run(cfg, overwrite=True)
            took = time.perf_counter() - start
            alone["_bench_total_s"] = round(took, 2)
            (out / "result.json").write_text(json.dumps(alone, indent=1) + "\n")
        alone_wall += took
        diff = [k for k in FIELDS if swept.get(k) != alone.get(k)]
        same_w = weights_hash(Path(t["dir"])) == weights_hash(out)
        starts = [json.loads(x) for x in (Path(t["dir"]) / "starts.jsonl").read_text()
                  .splitlines()] if (Path(t["dir"]) / "starts.jsonl").exists() else []
        rows.append({"name": t["name"], "normalized_score": swept["normalized_score"],
                     "agreement": swept["agreement"], "params": swept["student"]["params"],
                     "identical": not diff and same_w, "differs": diff,
                     "weights_identical": same_w, "starts": starts,
                     "alone_total_s": round(took, 2)})
    doc = {"sweep_out": sweep_out, "trials": len(rows),
           "all_identical": all(r["identical"] for r in rows),
           "sweep_wall_s": summary["wall_s"], "sequential_wall_s": round(alone_wall, 1),
           "restarted": [r["name"] for r in rows if len(r["starts"]) > 1],
           "rows": rows, "table": summary["table"]}
    Path(result_path).write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps({k: doc[k] for k in ("trials", "all_identical", "sweep_wall_s",
                                           "sequential_wall_s", "restarted")}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
