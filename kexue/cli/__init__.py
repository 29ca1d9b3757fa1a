"""The ``kexue`` command line.

Each subcommand is one module in this package (``kexue/cli/<name>.py``) exposing
``main(argv: list[str] | None = None) -> int`` and a one-line module docstring. The dispatcher
finds them by listing the package, so adding a command never touches this file. A module name
with underscores is a command with hyphens (``fill_mask.py`` is ``kexue fill-mask``; the
underscore spelling is accepted too).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

from kexue.cli._exitcodes import (
    BROKEN_PIPE,
    INTERRUPTED,
    USAGE_ERROR,
    did_you_mean,
    quiet_stdout,
)

__all__ = ["main", "commands", "module_name"]


def commands() -> dict[str, str]:
    """Map each subcommand name to the first line of its module docstring (imports lazily)."""
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        found[info.name.replace("_", "-")] = ""
    for name in list(found):
        spec = importlib.util.find_spec(f"{__name__}.{module_name(name)}")
        doc = ""
        if spec is not None and spec.origin:
            doc = _first_docstring_line(spec.origin)
        found[name] = doc
    return dict(sorted(found.items()))


def module_name(command: str) -> str:
    """The module of a command: ``fill-mask`` -> ``fill_mask``."""
    return command.replace("-", "_")


def _first_docstring_line(path: str) -> str:
    import ast

    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    doc = ast.get_docstring(tree) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _usage(out) -> None:
    print("usage: kexue COMMAND [ARGS...]\n\ncommands:", file=out)
    for name, doc in commands().items():
        print(f"  {name:<10} {doc}", file=out)
    print("\nRun `kexue COMMAND --help` for a command's options.", file=out)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        _usage(sys.stdout)
        return 0
    if argv[0] in {"-V", "--version"}:
        from kexue import __version__

        print(f"kexue {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if not name.startswith("_"):
        name = name.replace("_", "-")
    if name.startswith("_") or name not in commands():
        hint = did_you_mean(name, commands())
        print(f"kexue: unknown command {name!r}{hint}\n", file=sys.stderr)
        _usage(sys.stderr)
        return USAGE_ERROR
    module = importlib.import_module(f"{__name__}.{module_name(name)}")
    try:
        status = int(module.main(rest) or 0)
        sys.stdout.flush()  # a closed pipe shows here when the output fitted in the buffer
        return status
    except BrokenPipeError:  # `kexue demo | head`: the reader went away; stop quietly
        quiet_stdout()
        return BROKEN_PIPE
    except KeyboardInterrupt:
        print("kexue: interrupted", file=sys.stderr)
        return INTERRUPTED
