"""SentencePieceTokenizer against the sentencepiece package, on a tiny model trained here."""

from __future__ import annotations

import io

import pytest

spm = pytest.importorskip("sentencepiece")

from kexue.text.sentencepiece import SentencePieceTokenizer  # noqa: E402

TEXTS = [f"the quick brown fox jumps over the lazy dog {i}" for i in range(150)] + [
    f"科学空间是苏剑林的博客，文章{i}篇" for i in range(150)
]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(TEXTS), model_writer=buf, vocab_size=200, pad_id=0, eos_id=1,
        unk_id=2, bos_id=-1, character_coverage=1.0, minloglevel=2, model_type="bpe",
    )
    path = tmp_path_factory.mktemp("sp") / "spiece.model"
    path.write_bytes(buf.getvalue())
    return path


def test_encode_is_the_package_ids_plus_end_token(model_path):
    tok = SentencePieceTokenizer(model_path)
    ref = spm.SentencePieceProcessor(model_file=str(model_path))
    for text in ("the lazy dog jumps", "科学空间的文章", "fox 科学 42"):
        ids, segs = tok.encode(text)
        assert ids == ref.encode(text) + [1] and segs == [0] * len(ids)
        assert tok.tokenize(text) == ref.encode(text, out_type=str)
        assert tok.decode(ids) == ref.decode(ref.encode(text))
    assert tok.pad_id == 0 and tok.eos_id == 1 and tok.vocab_size == 200
    assert len(ref.encode("the quick brown fox")) < len("the quick brown fox")  # real pieces


def test_pairs_maxlen_and_bad_input(model_path):
    tok = SentencePieceTokenizer(model_path, token_end=None)
    a, b = "the quick brown fox", "科学空间"
    ids, segs = tok.encode(a, b)
    assert segs.count(1) == len(tok.tokenize(b)) and 1 not in ids
    ids, _ = SentencePieceTokenizer(model_path).encode(a * 3, maxlen=8)
    assert len(ids) == 8 and ids[-1] == 1
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode([0, 500])
    with pytest.raises(ValueError, match="not a piece"):
        SentencePieceTokenizer(model_path, token_start="[CLS]")
    with pytest.raises(ValueError, match="not found"):
        SentencePieceTokenizer(model_path.parent / "missing.model")
