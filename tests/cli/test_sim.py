"""`kexue sim`: encode / eval / search / whiten on a tiny random model directory."""

from __future__ import annotations

import numpy as np
import pytest

from kexue.cli import main as kexue_main
from tests.similarity.conftest import tiny_model, tiny_vocab

LINES = ["今天天气不错", "今天天气很好", "我喜欢北京", "给我推荐一款红色的车", "科学空间的文章"]


def _model_dir(path, seed=0):
    tiny_model(seed).save_pretrained(path)
    (path / "vocab.txt").write_text("".join(t + "\n" for t in tiny_vocab()), encoding="utf-8")
    return path


@pytest.fixture
def env(tmp_path):
    m = _model_dir(tmp_path / "m")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return tmp_path, m, corpus


def test_encode_in_input_order_and_search(env, capsys):
    from kexue.similarity.encoder import SentenceEncoder

    tmp, m, corpus = env
    out = tmp / "v.npy"
    assert kexue_main(["sim", "encode", "--model", str(m), str(corpus), "-o", str(out),
                       "--batch-size", "2"]) == 0
    v = np.load(out)
    assert v.dtype == np.float32 and v.shape == (5, 16)
    want = SentenceEncoder.from_pretrained(m, "P3").encode(LINES)
    np.testing.assert_allclose(v, want, rtol=1e-5, atol=1e-6)
    capsys.readouterr()
    assert kexue_main(["sim", "search", "--model", str(m), "--vectors", str(out), "--corpus",
                       str(corpus), "-k", "2", "今天天气很好"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "# 今天天气很好" and rows[1].split("\t")[3] == "今天天气很好"
    assert rows[1].split("\t")[1] == "1.0000" and len(rows) == 3
    assert kexue_main(["sim", "search", "--model", str(m), "--vectors", str(out), "--corpus",
                       str(corpus), "-k", "2", "--index", "hnsw", "今天天气很好"]) == 0
    assert capsys.readouterr().out.splitlines() == rows  # 5 vectors: HNSW is exact here


def test_search_refuses_other_model_pooling_dimension_and_corrupt_files(env, capsys):
    tmp, m, corpus = env
    out = tmp / "v.npy"
    assert kexue_main(["sim", "encode", "--model", str(m), str(corpus), "-o", str(out)]) == 0
    other = _model_dir(tmp / "other", seed=1)
    base = ["sim", "search", "--vectors", str(out), "--corpus", str(corpus), "天气"]
    assert kexue_main([*base, "--model", str(other)]) == 1
    assert "model_fingerprint" in capsys.readouterr().err
    assert kexue_main([*base, "--model", str(m), "--pooling", "P1"]) == 1
    assert "pooling = 'P3'" in capsys.readouterr().err
    np.save(out, np.zeros((5, 8), dtype=np.float32))  # another dimension, sidecar stale
    assert kexue_main([*base, "--model", str(m)]) == 1
    assert "(5, 8)" in capsys.readouterr().err
    (tmp / "v.npy.json").unlink()
    assert kexue_main([*base, "--model", str(m)]) == 1
    assert "8-dimensional vectors but the model gives 16" in capsys.readouterr().err
    out.write_bytes(b"\x93NUMPY garbage")
    assert kexue_main([*base, "--model", str(m)]) == 1
    assert "not a readable .npy" in capsys.readouterr().err


def test_bad_inputs(env, capsys):
    tmp, m, corpus = env
    bad = tmp / "bad.txt"
    bad.write_text("今天\n\n天气\n", encoding="utf-8")
    assert kexue_main(["sim", "encode", "--model", str(m), str(bad), "-o",
                       str(tmp / "o.npy")]) == 1
    assert "bad.txt:2: empty line" in capsys.readouterr().err
    assert not (tmp / "o.npy").exists()
    assert kexue_main(["sim", "encode", "--model", str(m), str(tmp), "-o",
                       str(tmp / "o.npy")]) == 2
    assert kexue_main(["sim", "encdoe"]) == 2
    assert "did you mean 'encode'" in capsys.readouterr().err
    assert kexue_main(["sim", "eval", "--model", str(m), "--pooling", "max",
                       str(corpus)]) == 2


def test_eval_and_whiten(env, capsys):
    tmp, m, corpus = env
    pairs = tmp / "p.tsv"
    pairs.write_text("今天天气不错\t今天天气很好\t1\n我喜欢北京\t科学空间的文章\t0\n"
                     "给我推荐一款红色的车\t黑色的车\t1\n今天\t北京\t0\n", encoding="utf-8")
    assert kexue_main(["sim", "eval", "--model", str(m), str(pairs)]) == 0
    assert "Spearman x100 =" in capsys.readouterr().out
    w = tmp / "w.npz"
    assert kexue_main(["sim", "whiten", "--model", str(m), str(corpus), "-o", str(w),
                       "--dim", "2"]) == 0
    assert kexue_main(["sim", "encode", "--model", str(m), str(corpus), "-o",
                       str(tmp / "vw.npy"), "--whitening", str(w)]) == 0
    assert np.load(tmp / "vw.npy").shape == (5, 2)


def test_generate_ranks_sampled_paraphrases(tmp_path, capsys):
    m = tmp_path / "u"
    tiny_model(0, application="unilm").save_pretrained(m)
    (m / "vocab.txt").write_text("".join(t + "\n" for t in tiny_vocab()), encoding="utf-8")
    assert kexue_main(["sim", "generate", "--model", str(m), "今天天气不错", "-n", "8", "-k",
                       "3", "--maxlen", "10", "--pooling", "P1"]) == 0
    rows = [r.split("\t") for r in capsys.readouterr().out.splitlines()]
    assert 1 <= len(rows) <= 3
    scores = [float(s) for s, _ in rows]
    assert scores == sorted(scores, reverse=True) and all(t != "今天天气不错" for _, t in rows)


def test_compare_prints_the_first_texts_cosine_with_each_other(env, capsys):
    from kexue.similarity.encoder import SentenceEncoder

    _, m, _ = env
    texts = ["今天天气不错", "今天天气很好", "今天天气不好"]
    assert kexue_main(["sim", "compare", "--model", str(m), *texts]) == 0
    rows = [r.split("\t") for r in capsys.readouterr().out.splitlines()]
    v = SentenceEncoder.from_pretrained(m).encode(texts)
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    assert [r[1:] for r in rows] == [[texts[0], texts[1]], [texts[0], texts[2]]]
    np.testing.assert_allclose([float(r[0]) for r in rows], v[1:] @ v[0], atol=1e-4)
    assert kexue_main(["sim", "compare", "--model", str(m), "今天"]) == 1
    assert "at least two texts" in capsys.readouterr().err
    assert kexue_main(["sim", "compare", "--model", str(m), "今天", " "]) == 1
    assert "text 2 is empty" in capsys.readouterr().err
