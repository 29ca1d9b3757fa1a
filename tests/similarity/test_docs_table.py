"""docs/similarity.md's tables are the output of experiments/similarity_table.py on
results/similarity.jsonl (generated from the records, never typed)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_docs_tables_match_the_records():
    page = (REPO / "docs" / "similarity.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- similarity-tables:begin -->\n(.*?)<!-- similarity-tables:end -->",
                      page, re.S)
    assert block, "docs/similarity.md lost its similarity-tables markers"
    out = subprocess.run([sys.executable, str(REPO / "experiments" / "similarity_table.py")],
                         capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert block.group(1).strip() == out.strip(), (
        "regenerate the block with: python experiments/similarity_table.py")
