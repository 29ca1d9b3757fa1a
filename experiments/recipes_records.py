"""Result records (``results/<area>.jsonl``) for the DGCNN and Conv1D experiments: a thin
layer over :mod:`kexue.recipes.records`, the package's one record writer.

``record`` builds one claim; ``replace_records`` writes them through
:func:`kexue.recipes.records.write_records`, which stamps the commit (taken when the
experiment starts, ``-dirty`` for uncommitted changes), date and machine, and drops the
earlier records of the same command.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from kexue.recipes.records import git_commit, write_records

REPO = Path(__file__).resolve().parent.parent
_COMMIT = git_commit(REPO)  # the code that runs: read when the experiment starts


def commit() -> str:
    return _COMMIT


def record(claim: str, value, unit: str, data: str, command: str, **extra) -> dict:
    return {"claim": claim, **({"article": extra.pop("article")} if "article" in extra else {}),
            **({"article_value": extra.pop("article_value")}
               if "article_value" in extra else {}),
            "value": value, "unit": unit, "data": data, **extra, "command": command}


def replace_records(area: str, records: list[dict]) -> Path:
    path = REPO / "results" / f"{area}.jsonl"
    by_command: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_command[r["command"]].append({k: v for k, v in r.items() if k != "command"})
    for command, recs in by_command.items():
        write_records(path, recs, command, commit())
    return path
