"""Run every ``python`` block of the article pages (``docs/articles/**.md``) in one process.

    python tests/docs/run_examples.py [PAGE.md ...]

Each block runs in a fresh namespace, from the repository root, with stdout captured; the
script prints one line per block (``ok``/``FAIL``) and exits 1 if any block raised. The docs
tests call it in a subprocess, so a page's example is known to run.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


def main(argv: list[str]) -> int:
    pages = [Path(p) for p in argv] or sorted((REPO / "docs" / "articles").rglob("*.md"))
    failed = 0
    for page in pages:
        for i, code in enumerate(blocks(page), 1):
            shown = page.resolve()
            shown = shown.relative_to(REPO) if shown.is_relative_to(REPO) else shown
            name = f"{shown} block {i}"
            out = io.StringIO()
            try:
                with contextlib.redirect_stdout(out):
                    exec(compile(code, name, "exec"), {"__name__": "__docs_example__"})
            except BaseException:  # noqa: BLE001 - report every failure, keep going
                failed += 1
                print(f"FAIL {name}\n{traceback.format_exc()}")
            else:
                print(f"ok   {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
