"""The command line's one convention: exit codes, a closed pipe, misspelt names, file checks.

Every ``kexue`` command returns

- ``OK`` (0) on success,
- ``RUNTIME_ERROR`` (1) when the work failed (a write failed, the disk is full, bad data found
  while working, a sanity check failed),
- ``USAGE_ERROR`` (2) when the command line was wrong (an unknown option or command, a missing
  file, a directory given where a file is expected) — argparse's own status,
- ``BROKEN_PIPE`` (141 = 128 + SIGPIPE, what a shell reports for ``yes | head``) when the
  reader of stdout went away; nothing is printed then,
- ``INTERRUPTED`` (130 = 128 + SIGINT) on Ctrl-C.

The dispatcher (``kexue/cli/__init__.py``) applies the closed-pipe and Ctrl-C rules around
every command, so a command only returns its own status.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Iterable
from pathlib import Path

OK = 0
RUNTIME_ERROR = 1
USAGE_ERROR = 2
INTERRUPTED = 130
BROKEN_PIPE = 141

__all__ = ["OK", "RUNTIME_ERROR", "USAGE_ERROR", "INTERRUPTED", "BROKEN_PIPE", "quiet_stdout",
           "did_you_mean", "misspelt", "check_input_file"]


def quiet_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null so the interpreter's final flush does
    not print a second ``BrokenPipeError``."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a real file (tests capture it)
        pass


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'evaluate'?)"`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def misspelt(word: str, choices: Iterable[str]) -> bool:
    """``word`` is not a path but is close to one of ``choices``: a misspelt subcommand, not
    a file name (``kexue words evalute``)."""
    return not os.path.lexists(word) and bool(did_you_mean(word, choices))


def check_input_file(path: str | Path, what: str = "input file") -> Path:
    """``path`` as a ``Path``; ``ValueError`` naming the problem when it does not exist or is
    a directory (``-`` for stdin passes)."""
    p = Path(path)
    if str(path) == "-":
        return p
    if not p.exists():
        raise ValueError(f"{what} not found: {path}")
    if p.is_dir():
        raise ValueError(f"{what} {path} is a directory, not a file")
    return p
