"""What the recipe commands (``kexue bioword``, ``kexue simsiam``, ``kexue vae``) share:
argument types, up-front output checks and the mapping of errors to exit codes."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from kexue.cli._exitcodes import RUNTIME_ERROR, USAGE_ERROR, positive_float, positive_int

__all__ = ["positive_int", "positive_float", "check_outputs", "run_recipe", "command_line"]


def check_outputs(img_dir: str | None, files: list[str | None]) -> None:
    """Fail before any work when the figure folder or an output file cannot be written."""
    from kexue.io.atomic import check_writable

    if img_dir is not None:
        p = Path(img_dir)
        if not p.is_dir():
            raise FileNotFoundError(f"figure folder not found (or not a folder): {img_dir}")
        check_writable(p / "probe.png")
    for f in files:
        if f is not None:
            check_writable(f)


def command_line(prog: str, argv: list[str]) -> str:
    """The command that reproduces this run, as a result record names it."""
    return shlex.join(["python", "-m", "kexue", prog, *argv])


def run_recipe(prog: str, body: Callable[[], int]) -> int:
    """Run ``body``; print a one-line ``kexue PROG: error: ...`` for a known failure and return
    its exit code (missing inputs 2; bad data, a missing optional package, a failed write 1)."""
    try:
        return body()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as err:
        print(f"kexue {prog}: error: {_message(err)}", file=sys.stderr)
        return USAGE_ERROR
    except (ValueError, ImportError, OSError) as err:
        print(f"kexue {prog}: error: {_message(err)}", file=sys.stderr)
        return RUNTIME_ERROR


def _message(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror and err.filename:
        return f"{err.filename}: {err.strerror}"
    return str(err) or type(err).__name__
