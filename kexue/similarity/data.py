"""The sentence-pair data: Su's ``senteval_cn`` TSV files and the Sohu 2021 sample pairs, with
the fixed splits of ``../shared/CONVENTIONS.md`` §4 (issue 18).

* ``senteval_cn``: ``sentence1 \\t sentence2 \\t label`` a line (ATEC, BQ, LCQMC, PAWSX: 0/1;
  STS-B: 0–5). Splits: ATEC/BQ/LCQMC/PAWSX train on the first 80 % (line order) of
  ``<TASK>.valid.data`` and report on the last 20 %; STS-B trains on ``STS-B.train.data`` and
  reports on ``STS-B.valid.data``. The test files are held back; :func:`read_pairs` reads any
  file in the same format, so they can be scored at review.
* Sohu 2021: JSON lines ``{"source", "target", "labelA"}``; every pair is a report pair.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

__all__ = ["TASKS", "Pair", "default_root", "read_pairs", "read_sohu", "task_split",
           "task_file"]

#: the five senteval_cn tasks, in the article's column order
TASKS = ("ATEC", "BQ", "LCQMC", "PAWSX", "STS-B")
_TRAIN_SHARE = 0.8


class Pair(NamedTuple):
    a: str
    b: str
    label: float


def default_root() -> Path:
    """``../shared/data`` beside the repository (the shared data folder of this project)."""
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def read_pairs(path: str | os.PathLike) -> list[Pair]:
    """Every ``a \\t b \\t label`` line of ``path``; ``ValueError`` naming the file and line for
    a line without exactly three fields, an empty sentence or a non-numeric label."""
    p = Path(path)
    out: list[Pair] = []
    with open(p, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != 3:
                raise ValueError(f"{p}:{n}: expected 3 tab-separated fields (sentence1, "
                                 f"sentence2, label), got {len(fields)}")
            a, b, label = fields
            if not a.strip() or not b.strip():
                raise ValueError(f"{p}:{n}: empty sentence")
            try:
                y = float(label)
            except ValueError:
                raise ValueError(f"{p}:{n}: label {label!r} is not a number") from None
            out.append(Pair(a, b, y))
    if not out:
        raise ValueError(f"{p} holds no sentence pairs")
    return out


def task_file(task: str, part: str, root: str | os.PathLike | None = None) -> Path:
    """The file a task's ``part`` (``"train"`` or ``"dev"``) comes from."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    if part not in ("train", "dev"):
        raise ValueError(f"part must be 'train' or 'dev', got {part!r}")
    root = Path(root) if root is not None else default_root()
    if task == "STS-B":
        return root / "similarity" / f"STS-B.{'train' if part == 'train' else 'valid'}.data"
    return root / "similarity" / f"{task}.valid.data"


def task_split(task: str, part: str, root: str | os.PathLike | None = None) -> list[Pair]:
    """The issue's fixed split: ``train`` = first 80 % of ``<TASK>.valid.data`` (STS-B: its
    train file), ``dev`` = the last 20 % (STS-B: its valid file)."""
    pairs = read_pairs(task_file(task, part, root))
    if task == "STS-B":
        return pairs
    cut = int(len(pairs) * _TRAIN_SHARE)
    return pairs[:cut] if part == "train" else pairs[cut:]


def read_sohu(path: str | os.PathLike) -> list[Pair]:
    """The Sohu 2021 pairs ``(source, target, labelA)``; ``ValueError`` naming the line for
    bad JSON, missing fields or a label other than "0"/"1"."""
    p = Path(path)
    out: list[Pair] = []
    with open(p, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                a, b, y = row["source"], row["target"], str(row["labelA"])
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise ValueError(f"{p}:{n}: not a Sohu pair with source/target/labelA "
                                 f"({e})") from None
            if y not in ("0", "1"):
                raise ValueError(f"{p}:{n}: labelA {y!r} is not '0' or '1'")
            out.append(Pair(a, b, float(y)))
    if not out:
        raise ValueError(f"{p} holds no pairs")
    return out
