"""The README and the docs (issue 30): every code block runs as written, page by page in a
scratch directory (bash blocks through the installed CLI, Python blocks in-process, YAML blocks
parsed), except those marked ``<!-- not run: ... -->``, each of which names the benchmark (or the
CI step) that runs it instead; ``text`` blocks are output or synopses. The site builds with
``mkdocs build --strict`` (broken links, missing pages, API docs that do not resolve)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"(?:<!-- not run: (?P<why>[^\n]*?) -->\n)?^```(?P<lang>\w*)\n(?P<body>.*?)^```",
                   re.S | re.M)
LANGS = {"bash", "python", "yaml", "text"}


def blocks(page: Path) -> list[tuple[str, str, str | None]]:
    return [(m["lang"], m["body"], m["why"]) for m in BLOCK.finditer(page.read_text())]


def _name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def test_every_block_has_a_language_and_every_skip_names_its_benchmark():
    skipped = []
    for page in PAGES:
        for lang, _, why in blocks(page):
            assert lang in LANGS, f"{_name(page)}: a ```{lang} block (use one of {LANGS})"
            if why is not None:
                named = re.findall(r"(?:benchmarks|\.ci)/[\w./-]+", why)
                assert named and all((ROOT / n.rstrip(".")).exists() for n in named), \
                    f"{_name(page)}: 'not run: {why}' names no benchmark that exists"
                skipped.append(why)
    assert skipped  # the set-up commands at least
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150


RUNNABLE = [p for p in PAGES if any(lang in ("bash", "python", "yaml") and why is None
                                    for lang, _, why in blocks(p))]


@pytest.mark.slow
@pytest.mark.parametrize("page", RUNNABLE, ids=_name)
def test_page_blocks_run(page, tmp_path, monkeypatch):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    monkeypatch.chdir(tmp_path)
    (tmp_path / "benchmarks").symlink_to(ROOT / "benchmarks")  # files the examples name
    for lang, body, why in blocks(page):
        if why is not None or lang == "text":
            continue
        if lang == "yaml":
            assert isinstance(yaml.safe_load(body), dict)
        elif lang == "python":
            exec(compile(body, _name(page), "exec"), {"__name__": "__docs__"})
        else:
            p = subprocess.run(["bash", "-euo", "pipefail", "-c", body], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=600)
            assert p.returncode == 0, f"{_name(page)}:\n{body}\n{p.stderr[-2000:]}"


def test_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="the docs extra (scripts/setup.sh installs it)")
    p = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d",
                        str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert p.returncode == 0, p.stderr[-3000:]
    pages = list((tmp_path / "site").rglob("index.html"))
    assert len(pages) >= 30 and (tmp_path / "site" / "search" / "search_index.json").exists()
    cli = (tmp_path / "site" / "cli" / "index.html").read_text()
    assert "rldistill distill" in cli and "--param-ratio" in cli  # made from the parser
