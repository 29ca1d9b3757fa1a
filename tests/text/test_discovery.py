import math
import re
from collections import Counter

import numpy as np
import pytest

from kexue.text import (
    Segmenter,
    WordDiscovery,
    auto_min_count,
    discover_words,
    load_lexicon,
    save_lexicon,
    score_segmentation,
)


@pytest.fixture(scope="module")
def pd_gold():
    from tests.conftest import shared_data_path

    path = shared_data_path("peoples_daily_199801", "seg_gold.utf8")
    with open(path, encoding="utf-8") as f:
        return [line.split() for _, line in zip(range(2500), f)]


@pytest.fixture(scope="module")
def fitted(pd_gold):
    train = ["".join(g) for g in pd_gold[:2000]]
    wd = WordDiscovery()
    return wd, wd.fit(train)


def test_people_daily_slice_beats_characters(pd_gold, fitted):
    """A seconds-sized slice: discovered words segment far better than single characters."""
    wd, res = fitted
    assert res.min_count == 4 and len(res.lexicon) > 3000
    gold_in, gold_out = pd_gold[:2000], pd_gold[2000:]
    seg = Segmenter(res.lexicon)
    for gold in (gold_in, gold_out):  # transductive, then held out
        raw = ["".join(g) for g in gold]
        f1 = score_segmentation(gold, [seg.cut(r) for r in raw]).f1
        chars = score_segmentation(gold, [list(r) for r in raw]).f1
        assert f1 > 0.65 and f1 > chars + 0.3
    assert {"中国", "经济", "发展", "人民"} <= set(res.lexicon)


def test_cohesion_matches_a_float64_reference(fitted):
    wd, res = fitted
    nc = wd.counter
    total = nc.total
    mc = res.min_count
    for n in (2, 3, 4):
        grams = [(g, c) for g, c in nc.items(n, min_count=mc)][:400]
        for gram, c in grams:
            worst = min(
                math.log(total * c / (nc.count(gram[:k]) * nc.count(gram[k:])))
                for k in range(1, n)
            )
            assert wd.in_cohesive(gram) == (worst >= wd.thresholds[n - 2]), gram
            # closed form: c(parts) >= c(w), so cohesion <= ln(total / c(w))
            if wd.in_cohesive(gram):
                assert math.log(total / c) >= wd.thresholds[n - 2]


def test_backtracking_rule(fitted):
    wd, res = fitted
    for w in res.lexicon:
        if 3 <= len(w) <= 4:
            assert wd.in_cohesive(w)
        elif len(w) > 4:
            assert all(wd.in_cohesive(w[i : i + 4]) for i in range(len(w) - 3))
    assert res.removed_by_backtrack > 0
    counts = list(res.lexicon.values())
    assert counts == sorted(counts, reverse=True) and min(counts) >= res.min_count


def test_synthetic_lexicon_is_recovered():
    """Text sampled from a known lexicon (Zipf–Mandelbrot, no spaces): discovery finds it."""
    rng = np.random.default_rng(0)
    alphabet = [chr(0x4E00 + int(i)) for i in rng.choice(20000, 1500, replace=False)]
    words: set[str] = set()
    while len(words) < 3000:
        words.add("".join(rng.choice(alphabet, int(rng.choice([1, 2, 2, 2, 3, 3, 4])))))
    vocab = sorted(words)
    rng.shuffle(vocab)  # frequency rank independent of the characters
    p = 1 / (np.arange(1, len(vocab) + 1) + 50.0)
    p /= p.sum()
    lengths = rng.integers(4, 15, size=20000)
    idx = rng.choice(len(vocab), size=int(lengths.sum()), p=p).tolist()
    ends = np.cumsum(lengths).tolist()
    sents = [[vocab[i] for i in idx[e - n : e]] for n, e in zip(lengths.tolist(), ends)]
    raw = ["".join(s) for s in sents]
    res = WordDiscovery().fit(raw)
    truth = {w for w, c in Counter(w for s in sents for w in s).items() if c >= res.min_count}
    found = set(res.lexicon)
    assert len(found & truth) / len(found) > 0.97
    assert len(found & truth) / len(truth) > 0.95
    seg = Segmenter(res.lexicon)
    assert score_segmentation(sents, [seg.cut(r) for r in raw]).f1 > 0.9


def test_auto_min_count_scales():
    assert auto_min_count(10_000) == 4
    assert auto_min_count(1_662_337) == 4
    assert auto_min_count(700_000_000) == 75
    assert auto_min_count(3_500_000_000) == 167


def test_files_lexicon_roundtrip_and_jieba(tmp_path, pd_gold):
    corpus = tmp_path / "raw.txt"
    corpus.write_text("\n".join("".join(g) for g in pd_gold[:1500]) + "\n", encoding="utf-8")
    res = discover_words(corpus)
    lex = tmp_path / "lex.txt"
    save_lexicon(lex, res.lexicon)
    first = lex.read_text(encoding="utf-8").splitlines()[0]
    assert first.split() == ["的", str(res.lexicon["的"])]
    assert load_lexicon(lex) == res.lexicon
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jt = jieba.Tokenizer(str(lex))
    jt.tmp_dir = str(tmp_path)
    jt.initialize()
    assert jt.FREQ["中国"] == res.lexicon["中国"]
    # jieba (HMM off) and our segmenter compute the same max-product path on Chinese text
    ours = Segmenter(res.lexicon)
    # (on CJK runs: jieba splits full-width digits and punctuation runs character by character)
    texts = [t for g in pd_gold[1500:1700] for t in re.findall("[\u4e00-\u9fa5]+", "".join(g))]
    assert len(texts) > 500
    assert all(list(jt.cut(t, HMM=False)) == ours.cut(t) for t in texts)


def test_bad_corpus(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("，。！\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty corpus"):
        discover_words(empty)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ValueError, match="not valid UTF-8"):
        discover_words(bad)
    with pytest.raises(FileNotFoundError):
        discover_words(tmp_path / "missing.txt")
    with pytest.raises(TypeError, match="one-shot iterator"):
        WordDiscovery().fit(iter(["科学"]))
    with pytest.raises(ValueError, match="thresholds"):
        WordDiscovery(thresholds=[1, 2])
    with pytest.raises(ValueError, match="min_count"):
        WordDiscovery(min_count=0)
    with pytest.raises(ValueError, match="duplicate word"):
        dup = tmp_path / "dup.txt"
        dup.write_text("a 1\na 2\n", encoding="utf-8")
        load_lexicon(dup)


def test_piece_budget_and_progress_bar(pd_gold, capsys):
    raw = ["".join(g) for g in pd_gold[:800]]
    full = WordDiscovery(min_count=2).fit(raw)
    small = WordDiscovery(min_count=2, max_pieces=2000, progress=True).fit(raw)
    assert small.pieces_prune_level >= 2 and small.min_count >= small.pieces_prune_level
    assert full.pieces_prune_level == 0
    # one block here, so the survivors' counts are exact: the lexicon is the full one cut at the
    # prune level
    level = small.pieces_prune_level
    assert small.lexicon == {w: c for w, c in full.lexicon.items() if c >= level}
    assert "cutting" in capsys.readouterr().err  # tqdm writes its bars to stderr
    with pytest.raises(ValueError, match="max_pieces"):
        WordDiscovery(max_pieces=1)
