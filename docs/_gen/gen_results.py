"""Result records (``results/*.jsonl``) for the documentation site: load, check, render.

Every number the site publishes comes from one record (format: ``../shared/CONVENTIONS.md``,
section 2). A record names the command that produced it; the command must exist in the
repository (a script, a ``python -m`` module, a ``kexue`` subcommand or a ``make`` target), so
``check_command`` rejects a record whose command points nowhere. Any file matching
``results/*.jsonl`` is picked up, so records written by other areas appear without a change here.
"""

from __future__ import annotations

import html
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

REQUIRED = ("claim", "value", "unit", "data", "command", "commit", "date", "machine")


class RecordError(ValueError):
    """A result record that the site refuses to publish (the message names file and line)."""


@dataclass(frozen=True)
class Record:
    source: str  # e.g. "results/objectives.jsonl:3"
    area: str  # the file's stem
    fields: dict

    def __getitem__(self, key: str):
        return self.fields[key]

    def get(self, key: str, default=None):
        return self.fields.get(key, default)


def _module_exists(repo: Path, module: str) -> bool:
    parts = module.split(".")
    base = repo.joinpath(*parts)
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _make_targets(repo: Path) -> set[str]:
    makefile = repo / "Makefile"
    if not makefile.is_file():
        return set()
    targets = set()
    for line in makefile.read_text(encoding="utf-8").splitlines():
        if line and not line[0].isspace() and ":" in line and not line.startswith("#"):
            head = line.split(":", 1)[0]
            if "=" not in head:
                targets.update(head.split())
    return targets


def check_command(repo: Path, command: str) -> None:
    """Raise ``RecordError`` unless ``command`` runs something that exists in ``repo``.

    Accepted: ``python[3] SCRIPT ...`` (SCRIPT a file of the repository), ``python -m kexue
    SUB ...`` / ``kexue SUB ...`` (SUB a module of ``kexue/cli``), ``python -m MODULE ...``
    (a module of the repository), ``python -m pytest PATH ...`` (PATH in the repository) and
    ``make TARGET`` (a target of the Makefile). Leading ``NAME=value`` assignments are allowed.
    """
    if not isinstance(command, str) or not command.strip():
        raise RecordError("command is empty")
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise RecordError(f"command cannot be parsed ({exc}): {command!r}") from None
    while argv and "=" in argv[0] and not argv[0].startswith(("-", "/", ".")):
        argv = argv[1:]
    if not argv:
        raise RecordError(f"command has no program: {command!r}")
    prog, rest = argv[0], argv[1:]
    if prog in ("python", "python3"):
        if rest[:1] == ["-m"]:
            if len(rest) < 2:
                raise RecordError(f"'python -m' without a module: {command!r}")
            module, args = rest[1], rest[2:]
            if module == "kexue":
                return _check_kexue(repo, args, command)
            if module == "pytest":
                paths = [a.split("::")[0] for a in args if not a.startswith("-")]
                missing = [p for p in paths if not (repo / p).exists()]
                if not paths or missing:
                    raise RecordError(f"pytest path not in the repository: {command!r}")
                return
            if not _module_exists(repo, module):
                raise RecordError(f"module {module!r} is not in the repository: {command!r}")
            return
        if not rest or not (repo / rest[0]).is_file():
            raise RecordError(f"script not in the repository: {command!r}")
        return
    if prog == "kexue":
        return _check_kexue(repo, rest, command)
    if prog == "make":
        targets = [a for a in rest if not a.startswith("-") and "=" not in a]
        known = _make_targets(repo)
        if not targets or any(t not in known for t in targets):
            raise RecordError(f"make target not in the Makefile: {command!r}")
        return
    raise RecordError(f"command must start with python, kexue or make: {command!r}")


def _check_kexue(repo: Path, args: list[str], command: str) -> None:
    if not args or args[0].startswith("-"):
        raise RecordError(f"kexue command without a subcommand: {command!r}")
    if not (repo / "kexue" / "cli" / f"{args[0]}.py").is_file():
        raise RecordError(f"kexue has no subcommand {args[0]!r}: {command!r}")


def load_records(repo: Path) -> list[Record]:
    """Every record of ``repo/results/*.jsonl``, checked (``RecordError`` on the first bad one)."""
    records: list[Record] = []
    for path in sorted((repo / "results").glob("*.jsonl")):
        rel = path.relative_to(repo).as_posix()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{rel}:{n}"
            try:
                fields = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RecordError(f"{where}: not JSON ({exc.msg})") from None
            if not isinstance(fields, dict):
                raise RecordError(f"{where}: a record must be a JSON object")
            missing = [k for k in REQUIRED if k not in fields]
            if missing:
                raise RecordError(f"{where}: missing {', '.join(missing)}")
            try:
                check_command(repo, fields["command"])
            except RecordError as exc:
                raise RecordError(f"{where}: {exc}") from None
            if "article" in fields:
                fields["article"] = str(fields["article"])
            records.append(Record(where, path.stem, fields))
    return records


def format_value(value) -> str:
    """A record's value as text: a number, a ``{mean, std, n}`` or a ``{point, low, high}``."""
    if isinstance(value, dict):
        if {"mean", "std"} <= value.keys():
            n = f", n = {value['n']}" if "n" in value else ""
            return f"{_num(value['mean'])} ± {_num(value['std'])}{n}"
        if {"point", "low", "high"} <= value.keys():
            return f"{_num(value['point'])} [{_num(value['low'])}, {_num(value['high'])}]"
        return "; ".join(f"{k}: {format_value(v)}" if isinstance(v, dict) else f"{k} = {_num(v)}"
                         for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return _num(value)


def _num(x) -> str:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:.4g}"


def _cell(text) -> str:
    """Markdown-table-safe cell text."""
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def _code(text) -> str:
    return "<code>" + _cell(text) + "</code>"


def table(records: list[Record], archive_link: str | None = None,
          with_article: bool = True) -> str:
    """One Markdown table: claim, the article's number beside kexue's, data and command,
    provenance (record, commit, date, machine)."""
    if not records:
        return "_No result record yet._\n"
    head = ["claim", "article's number", "kexue's number", "data · command",
            "record · commit · date · machine"]
    if with_article:
        head.insert(1, "article")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in records:
        art = r.get("article")
        if art and archive_link is not None:
            art_cell = f"[{art}]({archive_link}#a{art})"
        else:
            art_cell = art or "—"
        unit = _cell(r["unit"])
        art_value = r.get("article_value")
        notes = f"<br><small>{_cell(r['notes'])}</small>" if r.get("notes") else ""
        row = [
            _cell(r["claim"]) + notes,
            f"{_cell(format_value(art_value))} {unit}" if art_value is not None else "—",
            f"**{_cell(format_value(r['value']))}** {unit}",
            f"{_code(r['data'])}" + (f" ({_cell(r['split'])})" if r.get("split") else "")
            + f"<br>{_code(r['command'])}",
            f"<small>{_code(r.source)}<br>{_cell(str(r['commit'])[:10])} · {_cell(r['date'])}"
            f" · {_cell(r['machine'])}</small>",
        ]
        if with_article:
            row.insert(1, art_cell)
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def results_page(records: list[Record]) -> str:
    """The site's results page (Markdown), one table per ``results/<area>.jsonl``."""
    out = [
        "# Results",
        "",
        "Every claim that kexue checks, the article's number beside kexue's, the data and the "
        "command that produced it. This page is generated at build time from the records in "
        "`results/*.jsonl` (format: the project conventions, section 2); nothing here is typed "
        "by hand. The site build refuses a record whose command does not exist in the "
        "repository.",
        "",
        f"{len(records)} record(s).",
        "",
    ]
    areas = sorted({r.area for r in records})
    for area in areas:
        rows = [r for r in records if r.area == area]
        out += [f"## {area}", "", f"From `results/{area}.jsonl`.", "",
                table(rows, archive_link="archive.md"), ""]
    if not areas:
        out += ["_No result record yet._", ""]
    return "\n".join(out)
