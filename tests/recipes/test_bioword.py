"""BioWord / FlyVec recipe: BioHash's rule and hashes, the baselines, the evaluation, the CLI."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pytest
import torch

from kexue.recipes.bioword import baselines, evaluate
from kexue.recipes.bioword.biohash import BioHash, top_k_hash
from kexue.recipes.bioword.corpus import build_corpus, windows


def _toy(seed: int = 0, vocab: int = 40, lines: int = 400):
    rng = np.random.default_rng(seed)
    counts = rng.integers(5, 60, vocab)
    chunks = [rng.integers(0, vocab, int(rng.integers(3, 15))) for _ in range(lines)]
    return counts, chunks


def test_top_k_hash_has_exactly_k_ones_even_with_ties():
    act = torch.tensor([[0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 3.0, 3.0, 3.0, 2.0]])
    h = top_k_hash(act, 2)
    assert h.dtype == torch.uint8 and h.sum(1).tolist() == [2, 2]
    assert h[0].tolist() == [1, 1, 0, 0, 0]  # ties: the lower cell index wins
    assert h[1].tolist() == [0, 1, 1, 0, 0]
    big = top_k_hash(torch.randn(100, 400), 50)
    assert (big.sum(1) == 50).all()
    with pytest.raises(ValueError, match="k must be"):
        top_k_hash(act, 6)


def test_winner_rule_drives_winning_norms_to_one_and_lowers_energy():
    counts, chunks = _toy()
    centre, context = windows(chunks, 5)
    bh = BioHash(counts, hidden=6, init_std=0.3, seed=0)
    idx = bh.inputs(centre, context)
    start = bh.norms().clone()
    assert (start > 1.5).all()
    energies = []
    bh.train(centre, context, epochs=12, lr=0.1, batch_size=256,
             callback=lambda e: energies.append(bh.energy(idx)))
    won = torch.bincount(bh.activations(idx).argmax(1), minlength=6) > 0
    assert won.sum() >= 2
    torch.testing.assert_close(bh.norms()[won], torch.ones(int(won.sum())), atol=5e-3, rtol=0)
    assert energies[-1] < energies[0]


def test_single_cell_converges_to_the_normalised_mean_input():
    """Oja's fixed point with one (always winning) cell: W = E[v/p] / ‖E[v/p]‖."""
    counts, chunks = _toy(seed=3, vocab=12, lines=300)
    centre, context = windows(chunks, 3)
    bh = BioHash(counts, hidden=1, init_std=0.5, seed=1)
    bh.weights[:-1] = bh.weights[:-1].abs()  # start in the positive cone
    bh.train(centre, context, epochs=300, lr=0.01, batch_size=len(centre))
    x = torch.zeros(2 * len(counts) + 1, dtype=torch.float64)
    idx = bh.inputs(centre, context)
    x.index_add_(0, idx.reshape(-1), bh.inv_p[idx].reshape(-1).double())
    target = (x / x.norm()).float()
    torch.testing.assert_close(bh.weights[:, 0], target, atol=2e-3, rtol=0)


def test_static_and_context_hashes_have_exactly_k_ones():
    counts, chunks = _toy()
    centre, context = windows(chunks, 5)
    bh = BioHash(counts, hidden=32)
    bh.train(centre, context, epochs=2, lr=0.05, batch_size=128)
    st = bh.static_hash(np.arange(len(counts)), 5)
    ctx = bh.context_hash(centre[:50], context[:50], 5)
    assert st.shape == (len(counts), 32) and (st.sum(1) == 5).all()
    assert ctx.shape == (50, 32) and (ctx.sum(1) == 5).all()
    # the static hash is the top-k of the centre word's own column of W
    w = 7
    expect = torch.topk(bh.weights[len(counts) + w], 5).indices.sort().values
    assert st[w].nonzero().squeeze(1).tolist() == expect.tolist()


def test_windows_stay_in_their_line_and_are_bags():
    centre, ctx = windows([np.array([1, 2, 1, 3]), np.array([4, 5])], 5)
    assert centre.tolist() == [1, 2, 1, 3, 4, 5]
    assert sorted(x for x in ctx[0] if x >= 0) == [1, 2]
    assert sorted(x for x in ctx[1] if x >= 0) == [1, 3]  # the repeated 1 counted once
    assert sorted(x for x in ctx[4] if x >= 0) == [5]  # nothing from the first line
    with pytest.raises(ValueError, match="odd"):
        windows([np.array([1, 2])], 4)


def test_flyhash_and_simhash_at_equal_bits():
    rng = np.random.default_rng(0)
    x = rng.random((30, 200))
    fly = baselines.flyhash(x, 400, 20)
    sim = baselines.simhash(x - x.mean(0), 400)
    assert fly.shape == sim.shape == (30, 400)
    assert (fly.sum(1) == 20).all()  # sparse: exactly k of K
    assert 0.3 < float(sim.float().mean()) < 0.7  # dense: about half the bits
    # SimHash estimates the angle: E[d_H / K] = angle / pi
    a, b = rng.normal(size=(1, 50)), rng.normal(size=(1, 50))
    bits = baselines.simhash(np.vstack([a, b]), 20_000, seed=1)
    angle = math.acos(float(evaluate.cosine(a, b)[0]))
    assert float((bits[0] != bits[1]).float().mean()) == pytest.approx(angle / math.pi, abs=0.01)


def test_ppmi_matches_a_dense_reference():
    centre, ctx = windows([np.array([0, 1, 2, 1, 0, 3, 2])], 3)
    counts = baselines.cooccurrence(centre, ctx, 4).toarray()
    pp = baselines.ppmi(baselines.cooccurrence(centre, ctx, 4), alpha=0.75).toarray()
    total = counts.sum()
    pc = counts.sum(0) ** 0.75
    pc = pc / pc.sum()
    with np.errstate(divide="ignore"):
        ref = np.log(counts / total) - np.log(counts.sum(1, keepdims=True) / total) - np.log(pc)
    np.testing.assert_allclose(pp, np.maximum(np.nan_to_num(ref, neginf=0.0), 0.0), atol=1e-12)


def test_spearman_matches_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 40).astype(float)  # many ties
    y = x + rng.normal(size=40)
    assert evaluate.spearman(x, y) == pytest.approx(scipy_stats.spearmanr(x, y).statistic)
    assert math.isnan(evaluate.spearman([1, 1, 1], [1, 2, 3]))


def test_readers_and_similarity_evaluation(tmp_path):
    tab = tmp_path / "ws.txt"
    tab.write_bytes("猫\t 狗\t8.5\r\n猫\t汽车\t1.0\r\n狗\t汽车\t2.0".encode())
    space = tmp_path / "cos.txt"
    space.write_text("猫 狗 3.2 3 4 \n", encoding="utf-8")
    assert evaluate.read_similarity(tab)[0] == ("猫", "狗", 8.5)
    assert evaluate.read_similarity(space) == [("猫", "狗", 3.2)]
    index = {"猫": 0, "狗": 1, "汽车": 2}
    vec = np.array([[1.0, 0.1], [0.9, 0.2], [-1.0, 1.0]])
    r = evaluate.evaluate_similarity(evaluate.read_similarity(tab), index, vec, evaluate.cosine)
    assert (r.rho, r.used, r.total) == (pytest.approx(1.0), 3, 3)
    bad = tmp_path / "bad.txt"
    bad.write_text("猫\t狗\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1"):
        evaluate.read_similarity(bad)
    an = tmp_path / "an.txt"
    an.write_text(": cat\n男 女 国王 女王\n男 女 国王 火星\n", encoding="utf-8")
    words = {"男": 0, "女": 1, "国王": 2, "女王": 3}
    # b - a + c = (0, 0.2, 1) is closest to c itself: a, b and c must be excluded
    v = np.array([[1, 0, 0], [1, 0.2, 0], [0, 0, 1], [0, 0.6, 1]], dtype=float)
    assert evaluate.analogy_accuracy(evaluate.read_analogy(an), words, v) == (1.0, 1, 2)


def test_binary_similarities():
    a = torch.tensor([[1, 1, 0, 0]], dtype=torch.uint8)
    b = torch.tensor([[1, 0, 1, 0]], dtype=torch.uint8)
    assert evaluate.jaccard(a, b)[0] == pytest.approx(1 / 3)
    assert evaluate.hamming(a, b)[0] == pytest.approx(0.5)


def test_build_corpus_keeps_cjk_words_only():
    c = build_corpus(["我爱北京，我爱 Python 2024。", "北京我爱"], vocab_size=10, min_count=1,
                     segment=lambda s: list(s.replace("北京", "|北京|").replace("我爱", "|我爱|")
                                            .strip("|").split("|")))
    assert set(c.words) <= {"我爱", "北京", "，我爱 Python 2024。"} | {"北京我爱"}
    assert "，" not in c.words
    with pytest.raises(ValueError, match="too small"):
        build_corpus(["abc"], vocab_size=10, min_count=1, segment=str.split)


def test_cli_bad_input(tmp_path, capsys):
    from kexue.cli.bioword import main

    ws = tmp_path / "ws"
    ws.mkdir()
    assert main(["--corpus", str(tmp_path / "none.gz"), "--wordsim-dir", str(ws)]) == 2
    assert "corpus file not found" in capsys.readouterr().err
    corpus = tmp_path / "c.txt.gz"
    with gzip.open(corpus, "wt", encoding="utf-8") as f:
        f.write("\n\n")
    assert main(["--corpus", str(corpus), "--wordsim-dir", str(tmp_path / "x")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["--corpus", str(corpus), "--wordsim-dir", str(ws)]) == 2
    assert "missing evaluation file" in capsys.readouterr().err
    assert main(["--corpus", str(corpus), "--wordsim-dir", str(ws), "--k", "500"]) == 1
    assert "must not exceed" in capsys.readouterr().err
    sets = ["wordsim-240.txt", "wordsim-297.txt", "COS960_all.txt", "CA8/morphological.txt",
            "CA8/semantic.txt"]
    (ws / "CA8").mkdir()
    for name in sets:
        (ws / name).write_text(": x\n猫 狗 国王 女王\n" if "CA8" in name else "猫\t狗\t1\n",
                               encoding="utf-8")
    assert main(["--corpus", str(corpus), "--wordsim-dir", str(ws)]) == 1
    assert "no non-empty line" in capsys.readouterr().err
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9\n".encode("latin-1"))
    assert main(["--corpus", str(bad), "--wordsim-dir", str(ws)]) == 1
    assert "not valid UTF-8" in capsys.readouterr().err
