"""Server-side KaTeX for the documentation site: formulas become HTML + MathML at build time.

One Node.js process (``katex_render.js``, KaTeX installed from the npm registry by
``make docs`` into ``docs/_gen/node_modules``) serves a whole build over a line protocol, so the
built site needs no script and no CDN to show a formula: only KaTeX's stylesheet and fonts,
copied into ``site/assets/katex/``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
KATEX_DIST = HERE / "node_modules" / "katex" / "dist"


class KatexError(RuntimeError):
    """KaTeX is missing, or a formula does not parse (the message quotes it)."""


def missing_reason() -> str | None:
    """Why server-side KaTeX cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "Node.js ('node') is not installed"
    if not (KATEX_DIST / "katex.min.css").is_file():
        return ("KaTeX is not installed: run `npm ci --prefix docs/_gen` "
                "(`make docs` does it)")
    return None


class Renderer:
    """A running KaTeX process. ``render(tex, display)`` returns HTML; ``close()`` ends it."""

    def __init__(self) -> None:
        reason = missing_reason()
        if reason:
            raise KatexError(reason)
        self._proc = subprocess.Popen(
            ["node", str(HERE / "katex_render.js")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
            bufsize=1,
        )
        self._cache: dict[tuple[str, bool], str] = {}

    def render(self, tex: str, display: bool) -> str:
        key = (tex, display)
        if key in self._cache:
            return self._cache[key]
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps({"tex": tex, "display": display}) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise KatexError("the KaTeX process ended unexpectedly")
        reply = json.loads(line)
        if "error" in reply:
            raise KatexError(f"{reply['error']} in formula: {tex!r}")
        self._cache[key] = reply["html"]
        return reply["html"]

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


def asset_files() -> list[tuple[str, Path]]:
    """(site path, source file) of the stylesheet and fonts the rendered formulas need."""
    files = [("assets/katex/katex.min.css", KATEX_DIST / "katex.min.css")]
    for font in sorted((KATEX_DIST / "fonts").iterdir()):
        files.append((f"assets/katex/fonts/{font.name}", font))
    return files
