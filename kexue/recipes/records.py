"""Result records of the recipes (``../shared/CONVENTIONS.md`` §2), written atomically.

A recipe's CLI with ``--record FILE`` appends one JSON object a line to ``FILE`` (normally
``results/recipes_classic_b.jsonl``). Rerunning the same command replaces the records that
command wrote before (same ``command`` string), so a record file never holds two answers of
one command. ``commit`` is the checkout's ``HEAD``; a checkout with uncommitted changes to
tracked files gets ``-dirty`` appended, so a record never claims code it did not run.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from kexue.io.atomic import write_text

__all__ = ["MACHINE", "git_commit", "write_records"]

MACHINE = "2-core CPU"
REQUIRED = ("claim", "value", "unit", "data")


def git_commit(repo: str | os.PathLike | None = None) -> str:
    """``HEAD`` of the checkout holding ``repo`` (default: this package), ``-dirty`` if
    tracked files changed; ``"unknown"`` outside a git checkout."""
    cwd = Path(repo) if repo is not None else Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=cwd, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("-dirty" if dirty.strip() else "")


def write_records(path: str | os.PathLike, records: Sequence[Mapping], command: str,
                  commit: str) -> None:
    """Append ``records`` (each with ``claim``, ``value``, ``unit``, ``data``) to the JSON-lines
    file ``path``, adding ``command``, ``commit`` (take it with :func:`git_commit` before the
    run writes anything), ``date`` and ``machine``; earlier records of the same ``command`` are
    dropped. The file is replaced atomically."""
    path = Path(path)
    for r in records:
        missing = [k for k in REQUIRED if k not in r]
        if missing:
            raise ValueError(f"result record {r.get('claim')!r} lacks {missing}")
    kept: list[str] = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and json.loads(line).get("command") != command:
                kept.append(line)
    stamp = {"command": command, "commit": commit, "date": datetime.date.today().isoformat(),
             "machine": MACHINE}
    new = [json.dumps({**r, **stamp}, ensure_ascii=False) for r in records]
    write_text(path, "".join(line + "\n" for line in kept + new))
