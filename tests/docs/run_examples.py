"""Run every ``python`` and ``bash`` block of the documentation.

    python tests/docs/run_examples.py [PAGE.md ...]

Pages: ``README.md``, ``docs/*.md`` and the article pages ``docs/articles/**.md`` (all of
them when none are given). A block preceded by the line ``<!-- not-run: REASON -->`` only
shows the shape of some code (or needs a release checkpoint, a GPU, minutes of CPU) and is
skipped, with its reason printed.

- Article pages: each python block runs in a fresh namespace from the repository root.
- README.md and docs/*.md: the blocks of one page share a namespace (like a doctest) and run
  in a scratch folder holding the files they name (``tests/docs/example_fixtures.py``: tiny
  random checkpoints ``bert_dir``/``gpt2_dir``/``t5_dir``, ``vocab.txt``, small text files).
  ``bash`` blocks run with ``bash -e -o pipefail`` in the same folder, with ``kexue`` and
  ``python`` meaning this interpreter and this checkout.

Prints one line per block (``ok``/``skip``/``FAIL``) and exits 1 if any block failed. The docs
tests call it in a subprocess.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import os
import re
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
FENCE = re.compile(r"^```(python|bash)[^\n]*\n(.*?)^```", re.S | re.M)
NOT_RUN = re.compile(r"<!--\s*not-run:\s*(.+?)\s*-->\s*$")


def blocks(page: Path) -> list[tuple[str, str, str | None]]:
    """``(language, code, skip reason or None)`` for each fenced block of ``page``."""
    text = page.read_text(encoding="utf-8")
    found = []
    for m in FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        reason = NOT_RUN.search(before)
        found.append((m.group(1), m.group(2), reason.group(1) if reason else None))
    return found


def default_pages() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
            *sorted((REPO / "docs" / "articles").rglob("*.md"))]


def _shims(folder: Path) -> dict[str, str]:
    bin_dir = folder / ".bin"
    bin_dir.mkdir(exist_ok=True)
    for name, args in (("kexue", "-m kexue "), ("python", "")):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" {args}"$@"\n', encoding="utf-8")
        shim.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = f"{REPO}{os.pathsep}{env.get('PYTHONPATH', '')}".rstrip(os.pathsep)
    return env


def _doctest(code: str, name: str, ns: dict) -> None:
    test = doctest.DocTestParser().get_doctest(code, ns, name, name, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    report = io.StringIO()
    result = runner.run(test, out=report.write, clear_globs=False)
    if result.failed:
        raise AssertionError(report.getvalue())


def run_page(page: Path, scratch: Path | None) -> int:
    shown = page.resolve()
    shown = shown.relative_to(REPO) if shown.is_relative_to(REPO) else shown
    article = scratch is None
    namespace: dict = {"__name__": "__docs_example__"}
    failed = 0
    for i, (lang, code, reason) in enumerate(blocks(page), 1):
        name = f"{shown} block {i} ({lang})"
        if reason is not None:
            print(f"skip {name}: {reason}")
            continue
        if article and lang != "python":
            continue
        cwd = REPO if article else scratch
        old = Path.cwd()
        os.chdir(cwd)
        out = io.StringIO()
        try:
            if lang == "python":
                ns = {"__name__": "__docs_example__"} if article else namespace
                with contextlib.redirect_stdout(out):
                    if code.lstrip().startswith(">>>"):  # a doctest: outputs are checked
                        _doctest(code, name, ns)
                    else:
                        exec(compile(code, name, "exec"), ns)
            else:
                proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code], cwd=cwd,
                                      env=_shims(scratch), capture_output=True, text=True,
                                      timeout=300)
                if proc.returncode != 0:
                    raise RuntimeError(f"exit status {proc.returncode}\n{proc.stdout[-2000:]}"
                                       f"{proc.stderr[-3000:]}")
        except BaseException:  # noqa: BLE001 - report every failure, keep going
            failed += 1
            print(f"FAIL {name}\n{traceback.format_exc()}")
        else:
            print(f"ok   {name}")
        finally:
            os.chdir(old)
    return failed


def main(argv: list[str]) -> int:
    pages = [Path(p).resolve() for p in argv] or default_pages()
    articles = REPO / "docs" / "articles"
    failed = 0
    with tempfile.TemporaryDirectory(prefix="kexue-docs-") as tmp:
        scratch = None
        for page in pages:
            if page.is_relative_to(articles):
                failed += run_page(page, None)
                continue
            if scratch is None:
                from tests.docs.example_fixtures import write_fixtures

                scratch = write_fixtures(Path(tmp))
            failed += run_page(page, scratch)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
