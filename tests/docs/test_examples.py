"""Every example of the docs runs (``tests/docs/run_examples.py``, one subprocess): the
article pages, README.md and docs/*.md, python and bash blocks, except blocks marked
``<!-- not-run: REASON -->``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).resolve().parent / "run_examples.py"
sys.path.insert(0, str(RUNNER.parent))
from run_examples import blocks, default_pages  # noqa: E402


def _run(*pages: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RUNNER), *map(str, pages)], cwd=REPO,
                          capture_output=True, text=True, timeout=900)


def test_every_example_runs():
    pages = default_pages()
    assert REPO / "README.md" in pages and REPO / "docs" / "models.md" in pages
    assert len([p for p in pages if "articles" in p.parts]) >= 25
    proc = _run()
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    ran = [line for line in proc.stdout.splitlines() if line.startswith("ok ")]
    runnable = [b for p in pages for b in blocks(p) if b[2] is None
                and (b[0] == "python" or "articles" not in p.parts)]
    assert len(ran) == len(runnable)
    # the first day's blocks: the README's models, decoder, optimizer and objectives examples
    for name in ("README.md block 3 ", "README.md block 6 ", "docs/objectives.md block 9 "):
        assert any(line.startswith(f"ok   {name}") for line in ran), name


def test_a_failing_example_is_reported(tmp_path):
    page = tmp_path / "bad.md"
    page.write_text("# x\n\n```python\nraise ValueError('boom')\n```\n", encoding="utf-8")
    proc = _run(page)
    assert proc.returncode == 1 and "FAIL" in proc.stdout and "boom" in proc.stdout


def test_bash_blocks_run_and_markers_skip(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nx = 1\n```\n\n```python\nassert x == 1  # one namespace a page\n```\n\n"
        "<!-- not-run: shape only -->\n```python\nundefined_name\n```\n\n"
        "```bash\nkexue words --help | grep min-count >/dev/null\ntest -d bert_dir\n```\n\n"
        "```bash\nkexue no-such-command\n```\n\n"
        "```python\n>>> 1 + 1\n3\n```\n",
        encoding="utf-8")
    proc = _run(page)
    out = proc.stdout
    assert proc.returncode == 1
    assert "ok   " in out and "block 2 (python)" in out
    assert "skip " in out and "block 3 (python): shape only" in out
    assert "ok   " + str(page) + " block 4 (bash)" in out
    assert "FAIL " + str(page) + " block 5 (bash)" in out
    assert "FAIL " + str(page) + " block 6 (python)" in out  # a doctest's output is checked
