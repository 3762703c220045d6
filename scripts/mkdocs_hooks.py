"""mkdocs hooks (``hooks:`` in mkdocs.yml): pages made at build time from what they document.

- ``results/NAME.md``: each benchmark's own README (``benchmarks/NAME/README.md``), so the
  tables on the site are the ones the benchmarks wrote, naming their scripts; its plots are
  copied beside it (``results/img/...``).
- ``{{ cli_reference }}`` in a page: every command's ``--help``, from the parser itself.
- The API pages: the Sphinx roles of the docstrings (``:class:`X```) shown as plain code.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
# page name -> the benchmark write-up it shows
BENCHMARKS = {"compare": "benchmarks/README.md", "bank": "benchmarks/bank/README.md",
              "levers": "benchmarks/levers/README.md",
              "continuous": "benchmarks/continuous/README.md",
              "pixels": "benchmarks/pixels/README.md", "views": "benchmarks/views/README.md",
              "sources": "benchmarks/sources/README.md", "scale": "benchmarks/scale/README.md",
              "kickstart": "benchmarks/kickstart/RESULTS.md",
              "finetune": "benchmarks/finetune/README.md",
              "fidelity": "benchmarks/fidelity/README.md", "stats": "benchmarks/stats/README.md"}
PLOTS = ("benchmarks/kickstart/curves_all.png", "benchmarks/scale/results/a_local/results.png",
         "benchmarks/scale/results/c_ll-dqn.png", "benchmarks/scale/results/c_ll-ppo.png",
         "benchmarks/scale/results/c_pendulum-sac.png",
         "benchmarks/fidelity/results/report_files/frontier.png",
         "benchmarks/fidelity/results/report_files/curves.png",
         "benchmarks/continuous/results/kickstart/pendulum-return-ratio-s0/curves.png")


def _fenced(text: str) -> str:
    """Indented code blocks (the benchmark READMEs' style) as fenced ones: the docs' style."""
    out: list[str] = []
    block: list[str] = []
    prev_blank = True
    for line in text.splitlines():
        if line.startswith("    ") and (block or prev_blank) and not line.lstrip().startswith(
                ("-", "|", "*")):
            block.append(line[4:])
            continue
        if block:
            out += ["```text", *block, "```"]
            block = []
        out.append(line)
        prev_blank = not line.strip()
    if block:
        out += ["```text", *block, "```"]
    return "\n".join(out) + "\n"


def on_files(files: Files, config: Any) -> Files:
    for name, path in BENCHMARKS.items():
        text = (ROOT / path).read_text()
        note = f"\n*This page is `{path}` in the repository: each table names the script that " \
               "made it, run from the repository's root.*\n\n"
        title, _, rest = text.partition("\n")
        files.append(File.generated(config, f"results/{name}.md",
                                    content=title + "\n" + note + _fenced(rest)))
    for plot in PLOTS:
        files.append(File.generated(config, f"results/img/{plot.replace('/', '_')}",
                                    abs_src_path=str(ROOT / plot)))
    return files


def cli_reference() -> str:
    """Every command's help, in the order the parser lists them."""
    from rldistill.cli import build_parser

    parser = build_parser()
    out: list[str] = []

    def walk(p: argparse.ArgumentParser, name: str) -> None:
        out.append(f"## `{name}`\n\n```text\n{p.format_help().rstrip()}\n```\n")
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, child in action.choices.items():
                    walk(child, f"{name} {sub}")

    walk(parser, "rldistill")
    return "\n".join(out)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if "{{ cli_reference }}" in markdown:
        markdown = markdown.replace("{{ cli_reference }}", cli_reference())
    return markdown


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    return re.sub(r":(?:class|func|mod|meth|data|attr|exc):(<code>)", r"\1", html)
