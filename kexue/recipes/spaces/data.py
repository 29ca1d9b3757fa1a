"""Readers of the SPACES data with the fixed splits of ``shared/CONVENTIONS.md``.

- CSL abstract -> title (``csl_ts_dev.tsv``: ``to title<TAB>abstract<TAB>title``): the first
  800 rows (line order) train, the last 200 are the report split (:func:`csl_split`);
- CAIL 2020 (``cail2020_sfzy_20.json``, JSON lines ``{id, summary, text: [{sentence,
  label}]}``): all 20 documents, used by k-fold cross-prediction; SPACES ignores ``label``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CailDocument", "load_csl", "csl_split", "load_cail", "CSL_TRAIN", "CSL_REPORT"]

CSL_TRAIN, CSL_REPORT = 800, 200


def load_csl(path: str | Path) -> list[tuple[str, str]]:
    """``(abstract, title)`` pairs of a CSL ``ts`` file, in line order."""
    pairs = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise ValueError(f"{path}:{n}: expected 3 tab-separated fields "
                             f"(prefix, abstract, title), got {len(fields)}")
        pairs.append((fields[1], fields[2]))
    return pairs


def csl_split(pairs: list[tuple[str, str]]) -> tuple[list, list]:
    """(train, report): the first 800 rows and the last 200 (the dev file has 1,000); a file
    of another size is all report split (e.g. a held-back test file)."""
    if len(pairs) != CSL_TRAIN + CSL_REPORT:
        return [], list(pairs)
    return pairs[:CSL_TRAIN], pairs[CSL_TRAIN:]


@dataclass(frozen=True)
class CailDocument:
    id: str
    text: str
    summary: str


def load_cail(path: str | Path) -> list[CailDocument]:
    """The CAIL 2020 documents; ``text`` joins the given sentences with ``\\n`` (SPACES)."""
    docs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text = "\n".join(s["sentence"] for s in row["text"])
                docs.append(CailDocument(str(row["id"]), text, row["summary"]))
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(f"{path}:{n}: not a CAIL 2020 record ({e})") from None
    return docs
