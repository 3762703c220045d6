"""The ``sweep`` and ``compress`` subcommands' flags (``rldistill.cli`` adds the commands and
prints; the work is in :mod:`.sweep` and :mod:`.compress`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def _ray_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--address", metavar="HOST:PORT",
                   help="run the trials on the Ray cluster there (default: a local Ray on this "
                        "machine's CPUs, loopback only)")
    p.add_argument("--max-concurrent", type=int, metavar="N",
                   help="at most N trials at a time (default: one per CPU)")
    p.add_argument("--overwrite", action="store_true",
                   help="start every trial again (default: finished trials in --out are read "
                        "back, killed ones resume from their checkpoints)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON line")


def add_sweep(p: argparse.ArgumentParser, func: Callable[[Any], int]) -> None:
    p.add_argument("file", metavar="SWEEP.yaml",
                   help="base: a distill config (keys as distill --config); grid: / random: "
                        "values of any option, seed included (see docs/scale.md)")
    p.add_argument("--out", default="runs/sweep",
                   help="OUT/trials/NAME/ per trial; OUT/results.md, .csv, .png, sweep.json "
                        "(default runs/sweep)")
    _ray_flags(p)
    p.set_defaults(func=func)


def add_compress(p: argparse.ArgumentParser, func: Callable[[Any], int],
                 add_config_flags: Callable[[argparse.ArgumentParser, type], None]) -> None:
    from rldistill.core.config import DistillConfig

    add_config_flags(p, DistillConfig)  # every distill option passes through to each trial
    for action in p._actions:
        if action.dest == "target":
            action.help = ("the normalized score the student must reach with 95%% confidence "
                           "(the lower end of the CI of its mean over --seeds; default 0.98)")
        if action.dest == "out":
            action.help = "output dir (default runs/compress)"
    p.add_argument("--config", help="YAML file of distill options (flags override it)")
    p.add_argument("--seeds", type=int, default=3,
                   help="runs per student size, seeds --seed .. --seed+N-1 (default 3)")
    p.add_argument("--depth", type=int, default=2, choices=(1, 2, 3),
                   help="hidden layers of the students; the search is over their width "
                        "(default 2)")
    _ray_flags(p)
    p.set_defaults(func=func)
