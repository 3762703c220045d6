"""The docs site in a headless browser (issue 30): build it, serve it, and check with Debian's
``chromium`` that every page renders (its article and title in the DOM after scripts ran), that
the search finds pages, and that no internal link or image is broken; a screenshot of the home
page is kept.

    apt-get install chromium    # once (Debian's package)
    .venv/bin/python benchmarks/docs/browser_check.py

Writes ``benchmarks/docs/results/check.json`` and ``results/home.png``. The search is checked
over chromium's DevTools protocol (the ``websockets`` package, which Ray installs).
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return name
    sys.exit("no chromium: apt-get install chromium")


def browse(url: str, *args: str) -> str:
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--virtual-time-budget=8000", *args, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout


def search_hits(url: str, query: str) -> int:
    """Open ``url?q=query`` in chromium (over the DevTools protocol: the search runs in a web
    worker, after the page has loaded) and count the search results it lists."""
    import socket
    import time
    import urllib.request

    from websockets.sync.client import connect

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                             f"--remote-debugging-port={port}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
                break
            except OSError:
                time.sleep(0.1)
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        with connect(ws_url, max_size=None) as ws:
            def call(i: int, method: str, **params: object) -> dict:
                ws.send(json.dumps({"id": i, "method": method, "params": params}))
                while True:
                    msg = json.loads(ws.recv())
                    if msg.get("id") == i:
                        return msg
            call(1, "Page.navigate", url=f"{url}?q={query}")
            for i in range(2, 62):  # up to 15 s for the index and the worker
                time.sleep(0.25)
                got = call(i, "Runtime.evaluate", expression=(
                    "document.querySelectorAll('.md-search-result__item').length"))
                hits = int(got["result"]["result"].get("value") or 0)
                if hits:
                    return hits
            return 0
    finally:
        proc.kill()


def links(site: Path) -> list[str]:
    """Internal links and images of every page that point at nothing in the built site."""
    broken = []
    for page in site.rglob("*.html"):
        rel = page.relative_to(site).as_posix()
        for ref in re.findall(r'(?:href|src)="([^"#?]+)', page.read_text()):
            if urlparse(ref).scheme or ref.startswith(("//", "mailto:", "data:")):
                continue
            target = urlparse(urljoin(f"http://x/{rel}", ref)).path
            path = site / unquote(target).lstrip("/")
            if not (path.is_file() or (path / "index.html").is_file()):
                broken.append(f"{rel} -> {ref}")
    return broken


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d",
                        str(site)], cwd=ROOT, check=True)
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

        handler = functools.partial(Quiet, directory=str(site))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        pages = sorted(p.relative_to(site).parent.as_posix() for p in site.rglob("index.html")
                       if "assets" not in p.parts and p.parent.name != "search")
        rendered, failed = 0, []
        for page in pages:
            dom = browse(base + ("" if page == "." else page + "/"), "--dump-dom")
            ok = "md-content__inner" in dom and re.search(r"<h1[^>]*>", dom)
            rendered += bool(ok)
            if not ok:
                failed.append(page)
        hits = search_hits(base, "kickstart")
        shot = HERE / "results" / "home.png"
        subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", "--window-size=1280,900",
                        f"--screenshot={shot}", base], capture_output=True, timeout=120)
        broken = links(site)
        server.shutdown()
    report = {"pages": len(pages), "rendered": rendered, "not_rendered": failed,
              "search_query": "kickstart", "search_results": hits, "broken_links": broken,
              "screenshot": str(shot.relative_to(ROOT)), "chromium": subprocess.run(
                  [chromium(), "--version"], capture_output=True, text=True).stdout.strip()}
    (HERE / "results" / "check.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    if failed or broken or not hits:
        sys.exit(1)


if __name__ == "__main__":
    main()
