"""docs/mwp.md's accuracy table is the output of experiments/mwp_table.py on
results/mwp.jsonl (generated from the records, never typed)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_docs_table_matches_the_records():
    page = (REPO / "docs" / "mwp.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- mwp-table:begin -->\n(.*?)<!-- mwp-table:end -->", page, re.S)
    assert block, "docs/mwp.md lost its mwp-table markers"
    out = subprocess.run([sys.executable, str(REPO / "experiments" / "mwp_table.py")],
                         capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert block.group(1).strip() == out.strip(), (
        "regenerate the block with: python experiments/mwp_table.py")
