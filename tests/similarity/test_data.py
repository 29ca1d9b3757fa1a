"""The senteval_cn readers and the issue's fixed splits (real files when present)."""

from __future__ import annotations

import json

import pytest

from kexue.similarity.data import read_pairs, read_sohu, task_split
from tests.conftest import shared_data_path


def test_read_pairs_errors_name_the_line(tmp_path):
    f = tmp_path / "p.tsv"
    f.write_text("a\tb\t1\nc\td\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"p.tsv:2: expected 3"):
        read_pairs(f)
    f.write_text("a\t\t1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r":1: empty sentence"):
        read_pairs(f)
    f.write_text("a\tb\tyes\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a number"):
        read_pairs(f)
    s = tmp_path / "s.txt"
    s.write_text(json.dumps({"source": "a", "target": "b", "labelA": "2"}) + "\n")
    with pytest.raises(ValueError, match="labelA"):
        read_sohu(s)


def test_fixed_splits_on_the_real_files():
    root = shared_data_path("similarity")
    if not (root / "BQ.valid.data").exists():
        pytest.skip(f"shared data absent: {root}")
    train, dev = task_split("BQ", "train"), task_split("BQ", "dev")
    allp = read_pairs(root / "BQ.valid.data")
    assert (len(train), len(dev)) == (8000, 2000) and train + dev == allp
    assert len(task_split("STS-B", "train")) == 5231
    assert len(task_split("STS-B", "dev")) == 1458
    assert len(read_sohu(shared_data_path("sohu2021", "samples.txt"))) == 973
