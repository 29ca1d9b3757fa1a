"""Headless Chromium for the documentation-site tests: serve ``site/`` on the loopback, load a
page with the network cut off, and return its DOM, the URLs it requested and a screenshot.

Chromium comes from Debian's packages (``apt-get install chromium``; ``ensure_chromium`` does it
when the binary is missing and apt-get works). Every run uses a fresh profile and these flags:
``--headless --no-sandbox --disable-gpu --disable-background-networking
--disable-component-update --disable-sync --no-first-run``; the network is cut off by a proxy
that points at a closed loopback port and a host resolver that resolves nothing, and the
browser's own net log records every request, so a page that tries to fetch from outside the
site is seen even though the fetch fails.

Refresh the committed screenshots of the site (linked from ``docs/contributing.md``) with

    python tests/docs/browser.py SITE_DIR docs/img/site

after ``make docs`` (SITE_DIR is ``site``).
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--hide-scrollbars", "--window-size=1280,1000",
]
# the three pages whose screenshots the contributing page shows
SCREENSHOTS = {
    "article.png": "articles/objectives/7643-flooding.html",
    "archive.png": "archive.html",
    "api.png": "api/kexue/optim/adax.html",
}


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def ensure_chromium() -> tuple[str | None, str]:
    """(path, "") when Chromium is there or could be installed, else (None, why not)."""
    found = chromium_binary()
    if found:
        return found, ""
    if shutil.which("apt-get") is None:
        return None, "chromium is not installed and apt-get is not available"
    log = []
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]):
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                                  env={"DEBIAN_FRONTEND": "noninteractive",
                                       "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"'{' '.join(cmd)}' failed: {exc}"
        log.append(proc.stdout[-500:] + proc.stderr[-500:])
        if proc.returncode != 0:
            return None, f"'{' '.join(cmd)}' exited {proc.returncode}: {log[-1].strip()}"
    found = chromium_binary()
    return (found, "") if found else (None, "apt-get ran but no chromium binary appeared")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request lines on stderr
        pass


class SiteServer:
    """``http.server`` on 127.0.0.1 (a free port) serving a built site, in a thread."""

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_Quiet, directory=str(root))
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> SiteServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)


@dataclass
class PageLoad:
    dom: str
    requests: list[tuple[str, str]]  # (url, initiator) of every request the net log saw


def _requests(netlog: Path) -> list[tuple[str, str]]:
    data = json.loads(netlog.read_text(encoding="utf-8"))
    names = {v: k for k, v in data["constants"]["logEventTypes"].items()}
    seen: list[tuple[str, str]] = []
    for event in data["events"]:
        if names.get(event["type"]) != "URL_REQUEST_START_JOB":
            continue
        params = event.get("params", {})
        if "url" in params:
            seen.append((params["url"], str(params.get("initiator", ""))))
    return seen


def load(chromium: str, url: str, *, screenshot: Path | None = None, wait_ms: int | None = None,
         timeout: float = 60.0) -> PageLoad:
    """Load ``url`` once; return the DOM after scripts ran (or, with ``screenshot``, write a
    PNG there instead: Chromium takes one or the other per run) and the requests made.

    By default the page runs on virtual time (4 s, fast-forwarded); ``wait_ms`` waits that long
    in real time instead, for work that virtual time does not cover (the search worker)."""
    with tempfile.TemporaryDirectory(prefix="kexue-chromium-") as tmp:
        action = f"--screenshot={screenshot}" if screenshot is not None else "--dump-dom"
        proc = subprocess.run(
            [chromium, *FLAGS, f"--user-data-dir={tmp}/profile", f"--log-net-log={tmp}/net.json",
             f"--timeout={wait_ms}" if wait_ms else "--virtual-time-budget=4000", action, url],
            capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0 or (screenshot is not None and not screenshot.is_file()):
            raise RuntimeError(f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}")
        dom = proc.stdout if screenshot is None else ""
        return PageLoad(dom, _requests(Path(tmp) / "net.json"))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    site, out = Path(argv[0]), Path(argv[1])
    chromium, why = ensure_chromium()
    if chromium is None:
        print(f"no chromium: {why}", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    with SiteServer(site) as server:
        for name, page in SCREENSHOTS.items():
            load(chromium, f"{server.origin}/{page}", screenshot=out / name)
            print(f"{out / name}  <- {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
