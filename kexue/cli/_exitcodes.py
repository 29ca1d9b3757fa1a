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

The line between 1 and 2: whatever the command can check from its arguments alone, before
any work (an input that is missing or a directory, an output whose directory does not exist or
that is a directory, a malformed value such as ``--memory lots``), is a usage error (2); a
problem found in the *contents* of the data while working (bad UTF-8 on line 4, an empty
corpus, no word reaching the minimum count) or a failed write is a runtime error (1). Commands
raise :class:`UsageError` from their pre-work checks (:func:`check_input_file`,
:func:`check_output_file`) and map it to 2, every other error to 1.

The dispatcher (``kexue/cli/__init__.py``) applies the closed-pipe and Ctrl-C rules around
every command, so a command only returns its own status.
"""

from __future__ import annotations

import argparse
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
           "positive_int", "positive_float", "did_you_mean", "misspelt", "check_input_file",
           "check_output_file", "UsageError"]


class UsageError(ValueError):
    """The command line names something unusable (checked before any work): exit 2."""


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
    """``path`` as a ``Path``; :class:`UsageError` (a ``ValueError``) naming the problem when
    it does not exist or is a directory (``-`` for stdin passes)."""
    p = Path(path)
    if str(path) == "-":
        return p
    if p.is_dir():
        raise UsageError(f"{what} {path} is a directory, not a file")
    if not p.exists():
        if os.path.lexists(p):
            raise UsageError(f"{what} {path} is a broken symbolic link")
        raise UsageError(f"{what} not found: {path}")
    return p


def check_output_file(path: str | Path, what: str = "output") -> None:
    """Before the work: :class:`UsageError` when ``path`` is a directory or its directory does
    not exist (``-`` for stdout passes). Whether it can really be written is found when it is
    (a read-only or full disk is a runtime error)."""
    if str(path) == "-":
        return
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{what} {path} is a directory, not a file")
    parent = p.resolve().parent
    if not parent.is_dir():
        raise UsageError(f"{what} directory {str(parent)!r} does not exist")


# argparse ``type=`` converters shared by every command (a bad value is a usage error, 2)
def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return v
