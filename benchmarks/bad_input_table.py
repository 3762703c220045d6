"""Every bad input of the "never lose a run" issue through the real CLI: the line a user sees and
the exit code. Writes ``benchmarks/measured/bad_input_table.md``.

    .venv/bin/python benchmarks/bad_input_table.py

(The same cases are asserted by tests/test_bad_input.py, tests/test_distill.py and
tests/test_teachers.py; this script only prints them as a table.)
"""

from __future__ import annotations

import base64
import json
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ZOO = HERE.parent / "src" / "rldistill" / "zoo"
BASE = ["--teacher", "zoo:CartPole-v1-ppo", "--env", "CartPole-v1"]


class _Boom:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # unpickling this would create the marker file
        import os

        return (os.system, (f"touch {self.marker}",))


def craft(tmp: Path) -> dict[str, Path]:
    """The bad files: truncated, not a zip, foreign, continuous, NaN weights, malicious pickle."""
    import torch
    from stable_baselines3 import PPO

    ppo = ZOO / "CartPole-v1-ppo.zip"
    f = {"missing": tmp / "missing.zip", "notzip": tmp / "notes.zip",
         "truncated": tmp / "truncated.zip", "foreign": tmp / "keras_model.zip",
         "continuous": tmp / "pendulum_ppo.zip", "nan": tmp / "nan_weights.zip",
         "evil": tmp / "evil.zip", "marker": tmp / "pwned"}
    f["notzip"].write_text("not a zip at all\n")
    f["truncated"].write_bytes(ppo.read_bytes()[:5000])
    with zipfile.ZipFile(f["foreign"], "w") as z:
        z.writestr("model.h5", b"\x89HDF")
    PPO("MlpPolicy", "Pendulum-v1", n_steps=64, verbose=0).save(f["continuous"])
    with zipfile.ZipFile(ppo) as src, zipfile.ZipFile(f["nan"], "w") as dst, \
            zipfile.ZipFile(f["evil"], "w") as evil:
        for item in src.namelist():
            payload = src.read(item)
            bad = payload
            if item == "policy.pth":
                import io

                state = torch.load(io.BytesIO(payload), weights_only=True)
                state = {k: v * float("nan") if k.startswith("action_net") else v
                         for k, v in state.items()}
                buf = io.BytesIO()
                torch.save(state, buf)
                payload = buf.getvalue()
                bad = pickle.dumps(_Boom(f["marker"]))
            if item == "data":
                data = json.loads(bad)
                data["policy_class"][":serialized:"] = base64.b64encode(
                    pickle.dumps(_Boom(f["marker"]))).decode()
                bad = json.dumps(data).encode()
            dst.writestr(item, payload)
            evil.writestr(item, bad)
    return f


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="rldistill-bad-"))
    f = craft(tmp)
    yaml_unknown = tmp / "unknown.yaml"
    yaml_unknown.write_text("teacher: zoo:CartPole-v1-ppo\nenv: CartPole-v1\nbudgit: 10\n")
    yaml_type = tmp / "type.yaml"
    yaml_type.write_text("teacher: zoo:CartPole-v1-ppo\nenv: CartPole-v1\nbudget: lots\n")
    blocker = tmp / "a_file"
    blocker.write_text("x")
    held = tmp / "held"
    subprocess.run([sys.executable, "-m", "rldistill.cli", "distill", *BASE, "--budget", "80",
                    "--eval-episodes", "1", "--out", str(held)], capture_output=True)
    cases = [
        ("teacher file missing", ["--teacher", str(f["missing"]), "--env", "CartPole-v1"]),
        ("teacher file not a zip", ["--teacher", str(f["notzip"]), "--env", "CartPole-v1"]),
        ("teacher zip truncated", ["--teacher", str(f["truncated"]), "--env", "CartPole-v1"]),
        ("zip of another framework", ["--teacher", str(f["foreign"]), "--env", "CartPole-v1"]),
        ("teacher for another env (obs shape, action count)",
         ["--teacher", "zoo:LunarLander-v3-ppo", "--env", "CartPole-v1"]),
        ("continuous-action teacher", ["--teacher", str(f["continuous"]), "--env",
                                       "CartPole-v1"]),
        ("unknown env id", ["--teacher", "zoo:CartPole-v1-ppo", "--env", "CartPoel-v1"]),
        ("negative budget", [*BASE, "--budget", "-5"]),
        ("temperature <= 0", [*BASE, "--temperature", "0"]),
        ("ratio outside (0, 1]", [*BASE, "--param-ratio", "1.5"]),
        ("unknown loss", [*BASE, "--loss", "hinge"]),
        ("unknown driver", [*BASE, "--driver", "robot"]),
        ("YAML with an unknown key", ["--config", str(yaml_unknown)]),
        ("YAML with a wrong type", ["--config", str(yaml_type)]),
        ("output dir not writable", [*BASE, "--out", str(blocker / "sub")]),
        ("output dir holds another run", [*BASE, "--out", str(held)]),
        ("NaN in the teacher's outputs", ["--teacher", str(f["nan"]), "--env", "CartPole-v1",
                                          "--budget", "2000"]),
        ("crafted pickle in the zip (no --trust-teacher)",
         ["--teacher", str(f["evil"]), "--env", "CartPole-v1"]),
    ]
    rows = []
    for name, args in cases:
        if "--out" not in args:
            args = [*args, "--out", str(tmp / "out" / name.replace(" ", "_"))]
        p = subprocess.run([sys.executable, "-m", "rldistill.cli", "distill", *args],
                           capture_output=True, text=True)
        lines = p.stderr.strip().splitlines()
        rows.append((name, p.returncode, len(lines), lines[-1] if lines else ""))
        print(f"{p.returncode}  {name}: {lines[-1] if lines else ''}", flush=True)
    ran = f["marker"].exists()
    out = ["# Bad input: what a user sees (`rldistill distill ...`)", "",
           "Made by `benchmarks/bad_input_table.py`. Disk full while checkpointing is covered by "
           "`tests/test_bad_input.py::test_disk_full_keeps_previous_checkpoint` (ENOSPC "
           "injected; the previous checkpoint stays valid).", "",
           "| case | exit code | stderr lines | message |", "|---|---|---|---|"]
    out += [f"| {n} | {rc} | {k} | `{m}` |" for n, rc, k, m in rows]
    out += ["", f"Code from the crafted pickle ran: {'YES' if ran else 'no'} (its marker file "
            f"{'exists' if ran else 'was never created'})."]
    dest = HERE / "measured" / "bad_input_table.md"
    dest.parent.mkdir(exist_ok=True)
    dest.write_text("\n".join(out) + "\n")
    print(f"wrote {dest}")


if __name__ == "__main__":
    main()
