"""Every similarity recipe runs end to end on a tiny model and tiny pair files."""

from __future__ import annotations

import math
import random

import pytest

from kexue.recipes.similarity import train as T
from tests.similarity.conftest import CHARS, tiny_model, tiny_vocab

WORDS = ["今天天气", "不错", "很好", "我喜欢北京", "推荐一款红色的车", "黑色的车", "科学空间"]


def _root(tmp_path):
    rng = random.Random(0)
    d = tmp_path / "data" / "similarity"
    d.mkdir(parents=True)

    def lines(n, scores):
        out = []
        for _ in range(n):
            a, b = rng.sample(WORDS, 2)
            out.append(f"{a}{rng.choice(CHARS)}\t{b}\t{rng.choice(scores)}\n")
        return "".join(out)

    for t in ("ATEC", "BQ", "LCQMC", "PAWSX"):
        (d / f"{t}.valid.data").write_text(lines(40, [0, 1]), encoding="utf-8")
    (d / "STS-B.train.data").write_text(lines(32, [0, 2, 3, 5]), encoding="utf-8")
    (d / "STS-B.valid.data").write_text(lines(8, [0, 2, 3, 5]), encoding="utf-8")
    return tmp_path / "data"


@pytest.fixture
def setup(tmp_path):
    m = tmp_path / "m"
    tiny_model(0).save_pretrained(m)
    (m / "vocab.txt").write_text("".join(t + "\n" for t in tiny_vocab()), encoding="utf-8")
    return T.Setup(m, "roformer", per_task=16, dev_limit=8, maxlen=12, batch_size=8,
                   root=_root(tmp_path), log=lambda s: None)


@pytest.mark.parametrize("recipe", ["classifier", "simbert", "cln", "gru"])
def test_recipe_runs(setup, recipe):
    if recipe == "classifier":
        out = T.train_siamese(setup, recipe)
    elif recipe == "simbert":
        out = T.train_simbert(setup)
    elif recipe == "cln":
        out = T.train_matcher(setup, recipe)
    else:
        out = T.train_gru(setup, 0.35, epochs=1, min_count=1)
        assert 0 <= out["top1"] <= out["top5"] <= out["top10"] <= 1
    assert set(T.TASKS) <= set(out)
    assert all(math.isfinite(out[t]) or math.isnan(out[t]) for t in T.TASKS)
