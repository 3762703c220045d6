"""Issue 15 (b): wait until a sweep trial is half way (>= N rounds logged, no result yet), then
SIGKILL the Ray worker process that runs it (the pid it wrote to worker.pid); record which.

    python benchmarks/scale/kill_one.py SWEEP_OUT [ROUNDS] > killed.json
"""

import json
import os
import signal
import sys
import time
from pathlib import Path


def main(out: str, rounds: int = 4, timeout: float = 600.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for d in sorted(Path(out, "trials").glob("*")):
            log, pid = d / "rounds.jsonl", d / "worker.pid"
            if (d / "result.json").exists() or not log.exists() or not pid.exists():
                continue
            done = len(log.read_text().splitlines())
            if done >= rounds:
                victim = int(pid.read_text())
                os.kill(victim, signal.SIGKILL)
                print(json.dumps({"trial": d.name, "pid": victim, "rounds_logged": done,
                                  "at": time.strftime("%H:%M:%S")}))
                return
        time.sleep(0.1)
    raise SystemExit("no trial reached the kill point in time")


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:3]))
