"""Write result records (``results/<area>.jsonl``) for the recipe experiments.

``replace_records`` drops the earlier records of the same command and claim and appends the
new ones, rewriting the file through ``kexue.io.atomic`` (a crash leaves the old file).
"""

from __future__ import annotations

import datetime
import json
import subprocess
from pathlib import Path

from kexue.io.atomic import write_text

REPO = Path(__file__).resolve().parent.parent


def _head() -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                          text=True, check=True).stdout.strip()


_COMMIT = _head()  # the code that runs: read when the experiment starts, not when it ends


def commit() -> str:
    return _COMMIT


def record(claim: str, value, unit: str, data: str, command: str, **extra) -> dict:
    return {"claim": claim, **({"article": extra.pop("article")} if "article" in extra else {}),
            **({"article_value": extra.pop("article_value")}
               if "article_value" in extra else {}),
            "value": value, "unit": unit, "data": data, **extra, "command": command,
            "commit": commit(), "date": datetime.date.today().isoformat(),
            "machine": "2-core CPU"}


def replace_records(area: str, records: list[dict]) -> Path:
    path = REPO / "results" / f"{area}.jsonl"
    new_keys = {(r["command"], r["claim"]) for r in records}
    kept = []
    if path.exists():
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                old = json.loads(line)
                if (old.get("command"), old.get("claim")) not in new_keys:
                    kept.append(line)
    lines = kept + [json.dumps(r, ensure_ascii=False) for r in records]
    write_text(path, "".join(line + "\n" for line in lines))
    return path
