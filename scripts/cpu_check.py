"""Run the tests under each CPU kernel set PyTorch can pick, and say what differs between them.

PyTorch chooses float kernels by the CPU (``ATEN_CPU_CAPABILITY``: default, avx2, avx512 on
x86), RL training amplifies the last bit, so a test that asserts how well an RL run trained
passes on one CPU and fails on another. This script runs the ``slow`` tests (``--all``: the
whole suite) once per capability this CPU has, with ``RLDISTILL_FIGURES=1`` so that every
``rldistill.api.run`` and kick-start run records its headline figures (tests/conftest.py), and
prints each test whose outcome or figures differ between capabilities.

    .venv/bin/python scripts/cpu_check.py [--all] [--out DIR] [pytest args...]

Exit status 1 when a test fails under any capability. Not part of CI (it runs the tests three
times); run it before a change that touches training lands.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

CAPABILITIES = ("default", "avx2", "avx512")


def available() -> list[str]:
    """The capabilities this CPU can run (avx512 only where /proc/cpuinfo has avx512f)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ["default"]
    return [c for c in CAPABILITIES if c == "default" or f" {c}" in flags]


def run(cap: str, out: Path, extra: list[str]) -> dict[str, tuple[str, dict[str, str]]]:
    """Test id -> (outcome, figures) under ``cap``."""
    xml = out / f"{cap}.xml"
    env = {**os.environ, "ATEN_CPU_CAPABILITY": cap, "RLDISTILL_FIGURES": "1"}
    cmd = [sys.executable, "-m", "pytest", "-p", "no:warnings", "-q", f"--junitxml={xml}",
           "-o", "junit_family=xunit1", *extra]
    print(f"== ATEN_CPU_CAPABILITY={cap}: {' '.join(cmd[3:])}", flush=True)
    subprocess.run(cmd, env=env, check=False)
    tests = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        outcome = ("failed" if case.find("failure") is not None or case.find("error") is not None
                   else "skipped" if case.find("skipped") is not None else "passed")
        figures = {}
        for i, p in enumerate(case.iter("property")):
            figures[f"{i:02d} {p.get('name')}"] = str(p.get("value"))
        tests[name] = (outcome, figures)
    return tests


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--all", action="store_true", help="the whole suite, not only -m slow")
    ap.add_argument("--out", default="runs/cpu_check", help="where the JUnit files go")
    args, extra = ap.parse_known_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    caps = available()
    results = {cap: run(cap, out, extra if args.all else ["-m", "slow", *extra])
               for cap in caps}
    names = sorted(set().union(*results.values()))
    failed, differ = [], []
    for name in names:
        seen = {cap: results[cap].get(name, ("missing", {})) for cap in caps}
        if any(o != "passed" and o != "skipped" for o, _ in seen.values()):
            failed.append(name)
        keys = sorted(set().union(*(f for _, f in seen.values())))
        rows = [(k, [seen[c][1].get(k, "-") for c in caps]) for k in keys]
        rows = [(k, v) for k, v in rows if len(set(v)) > 1]
        outcomes = [seen[c][0] for c in caps]
        if rows or len(set(outcomes)) > 1:
            differ.append((name, outcomes, rows))
    print(f"\n{len(names)} tests under {', '.join(caps)}; outcome or figures differ in "
          f"{len(differ)}; failed somewhere: {len(failed)}")
    for name, outcomes, rows in differ:
        print(f"- {name}: {' / '.join(outcomes)}")
        for k, v in rows:
            print(f"    {k.split(' ', 1)[1]}: {' / '.join(v)}")
    for name in failed:
        print(f"FAILED under some capability: {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
