"""Every article page's example runs (``tests/docs/run_examples.py``, one subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).resolve().parent / "run_examples.py"


def test_every_article_example_runs():
    pages = sorted((REPO / "docs" / "articles").rglob("*.md"))
    assert len(pages) >= 25
    proc = subprocess.run([sys.executable, str(RUNNER)], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    ran = [line for line in proc.stdout.splitlines() if line.startswith("ok ")]
    with_code = [p for p in pages if "```python" in p.read_text(encoding="utf-8")]
    assert len(ran) >= len(with_code)


def test_a_failing_example_is_reported(tmp_path):
    page = tmp_path / "bad.md"
    page.write_text("# x\n\n```python\nraise ValueError('boom')\n```\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, str(RUNNER), str(page)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "FAIL" in proc.stdout and "boom" in proc.stdout
