"""Shared bits of the chess experiments: result records (CONVENTIONS §2) and data paths."""

from __future__ import annotations

import datetime
import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "xiangqi"
if not DATA.is_dir():
    DATA = Path("/work/shared/data/xiangqi")
RESULTS = ROOT / "results" / "chess.jsonl"


def _head() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                          capture_output=True).stdout.strip()


_COMMIT = _head()  # read once: the code this process runs, even if HEAD moves meanwhile


def commit() -> str:
    return _COMMIT


def record(claim: str, value, unit: str, data: str, command: str, **extra) -> dict:
    """Append one result record to results/chess.jsonl (through the atomic writer)."""
    from kexue.io.atomic import write_text

    rec = {"claim": claim, "value": value, "unit": unit, "data": data, "command": command,
           "commit": commit(), "date": datetime.date.today().isoformat(),
           "machine": "2-core CPU", **extra}
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    write_text(RESULTS, old + json.dumps(rec, ensure_ascii=False) + "\n")
    print(json.dumps(rec, ensure_ascii=False))
    return rec
