"""``Tokenizer.__call__``: a batch of texts or pairs in, padded tensors out (the padding is
``kexue.data.batching.sequence_padding``), checked against ``transformers.BertTokenizer``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import BertTokenizer

from kexue.text import Tokenizer

VOCAB = Path(__file__).parent / "fixtures" / "vocab.txt"
TEXTS = ["今天天气不错", "房间很干净，服务也好", "差", "The hotel was great!"]
SECONDS = ["明天呢", "还会再来", "非常差的一次住宿", "ok"]


@pytest.fixture(scope="module")
def tk():
    return Tokenizer(VOCAB)


@pytest.fixture(scope="module")
def hf():
    return BertTokenizer(str(VOCAB))


@pytest.mark.parametrize("maxlen", [None, 6])
@pytest.mark.parametrize("side", ["post", "pre"])
def test_batch_equals_transformers(tk, hf, maxlen, side):
    hf.truncation_side = "right" if side == "post" else "left"
    ref = hf(TEXTS, padding=True, truncation=maxlen is not None, max_length=maxlen,
             return_tensors="pt")
    out = tk(TEXTS, maxlen=maxlen, truncation=side)
    assert set(out) == {"token_ids", "segment_ids", "attention_mask"}
    for key, theirs in (("token_ids", "input_ids"), ("segment_ids", "token_type_ids"),
                        ("attention_mask", "attention_mask")):
        assert out[key].dtype == torch.long
        torch.testing.assert_close(out[key], ref[theirs])


def test_pairs_both_ways_equal_encode_row_by_row(tk, hf):
    ref = hf(TEXTS, SECONDS, padding=True, return_tensors="pt")
    out = tk(list(zip(TEXTS, SECONDS)))
    torch.testing.assert_close(out["token_ids"], ref["input_ids"])
    torch.testing.assert_close(out["segment_ids"], ref["token_type_ids"])
    torch.testing.assert_close(out["attention_mask"], ref["attention_mask"])
    for maxlen in (5, 9):
        a = tk(TEXTS, SECONDS, maxlen=maxlen)
        b = tk(list(zip(TEXTS, SECONDS)), maxlen=maxlen)
        for i, (x, y) in enumerate(zip(TEXTS, SECONDS)):
            ids, seg = tk.encode(x, y, maxlen=maxlen)
            n = len(ids)
            assert a["token_ids"][i, :n].tolist() == ids == b["token_ids"][i, :n].tolist()
            assert a["segment_ids"][i, :n].tolist() == seg
            assert a["attention_mask"][i].sum() == n and not a["token_ids"][i, n:].any()


def test_pre_truncation_keeps_the_end_of_the_longer_segment(tk):
    out = tk([("今天天气不错", "好")], maxlen=6, truncation="pre")
    tokens = tk.ids_to_tokens(out["token_ids"][0].tolist())
    assert tokens == ["[CLS]", "不", "错", "[SEP]", "好", "[SEP]"]
    post = tk([("今天天气不错", "好")], maxlen=6)
    assert tk.ids_to_tokens(post["token_ids"][0].tolist())[1:3] == ["今", "天"]


def test_left_padding_and_a_single_text(tk):
    out = tk(["今天", "今天天气不错"], padding="pre")
    assert out["attention_mask"][0].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert out["token_ids"][0, :4].tolist() == [tk.token_to_id("[PAD]")] * 4
    one = tk("今天天气")
    assert one["token_ids"].shape == (1, 6)


def test_uses_the_one_padding_implementation(tk, monkeypatch):
    import kexue.data.batching as batching

    calls = []
    real = batching.sequence_padding
    monkeypatch.setattr(batching, "sequence_padding",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    tk(TEXTS)
    assert len(calls) == 3


def test_bad_input_is_named(tk):
    with pytest.raises(ValueError, match="truncation"):
        tk(TEXTS, truncation="left")
    with pytest.raises(ValueError, match="one text per text"):
        tk(TEXTS, SECONDS[:2])
    with pytest.raises(TypeError, match="must be str"):
        tk(["a", 3])
    with pytest.raises(ValueError, match="two texts"):
        tk([("a", "b", "c")])
    with pytest.raises(ValueError, match="non-empty"):
        tk([])
