"""SentenceEncoder: batched, length-bucketed encoding equals one text at a time."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kexue.similarity.encoder import SentenceEncoder
from kexue.similarity.pooling import masked_mean
from kexue.similarity.whitening import Whitening

TEXTS = ["今天天气不错", "今天天气很好", "我喜欢北京", "给我推荐一款红色的车", "科学",
         "科学空间的文章很好", "天气", "黑色的车"]


@pytest.mark.parametrize("pooling", ["P1", "P2", "P3", "P4"])
def test_batched_equals_one_at_a_time(model, tokenizer, pooling):
    enc = SentenceEncoder(model, tokenizer, pooling)
    batched = enc.encode(TEXTS, batch_size=3)
    single = np.concatenate([enc.encode([t], batch_size=1) for t in TEXTS])
    assert batched.dtype == np.float32 and batched.shape == (len(TEXTS), 16)
    np.testing.assert_allclose(batched, single, rtol=1e-5, atol=1e-5)
    # the pooling's own definition on the text alone
    ids = torch.tensor([tokenizer.encode(TEXTS[3])[0]])
    first = []
    h = model.layers[0].register_forward_hook(lambda m, i, o: first.append(o[0]))
    with torch.no_grad():
        out = model(ids)
    h.remove()
    ones = torch.ones_like(ids)
    want = {"P1": out.hidden[:, 0], "P2": out.pooled, "P3": masked_mean(out.hidden, ones),
            "P4": (masked_mean(first[0], ones) + masked_mean(out.hidden, ones)) / 2}[pooling]
    np.testing.assert_allclose(batched[3], want[0].numpy(), rtol=1e-5, atol=1e-5)


def test_whitening_is_applied_and_empty_texts_fail(model, tokenizer):
    enc = SentenceEncoder(model, tokenizer, "P3")
    raw = enc.encode(TEXTS)
    enc.whitening = Whitening.fit(raw, 3)
    np.testing.assert_allclose(enc.encode(TEXTS), enc.whitening.transform(raw), atol=1e-5)
    assert enc.dim == 3 and enc.encode([]).shape == (0, 3)
    with pytest.raises(ValueError, match="text 2 is empty"):
        enc.encode(["今天", "  "])


def test_pooler_needed_for_p2(tokenizer):
    from kexue.models import build_transformer_model
    from tests.similarity.conftest import tiny_config

    bare = build_transformer_model(tiny_config(), model="roformer")
    with pytest.raises(ValueError, match="with_pool"):
        SentenceEncoder(bare, tokenizer, "P2")


def test_from_pretrained_loads_a_saved_directory(model, tokenizer, tmp_path):
    from tests.similarity.conftest import tiny_vocab

    model.save_pretrained(tmp_path / "m")
    (tmp_path / "m" / "vocab.txt").write_text("".join(t + "\n" for t in tiny_vocab()),
                                              encoding="utf-8")
    enc = SentenceEncoder.from_pretrained(tmp_path / "m", "P2")
    ref = SentenceEncoder(model, tokenizer, "P2").encode(TEXTS)
    np.testing.assert_allclose(enc.encode(TEXTS), ref, rtol=1e-5, atol=1e-6)


def test_encode_many_equals_one_pooling_at_a_time(model, tokenizer):
    many = SentenceEncoder(model, tokenizer, "P1").encode_many(TEXTS, batch_size=3)
    for p in ("P1", "P2", "P3", "P4"):
        np.testing.assert_array_equal(many[p], SentenceEncoder(model, tokenizer, p).encode(
            TEXTS, batch_size=3))


def test_save_pretrained_keeps_pooling_and_maxlen(model, tokenizer, tmp_path):
    enc = SentenceEncoder(model, tokenizer, "P4", maxlen=12)
    enc.save_pretrained(tmp_path / "e", recipe="classifier")
    assert sorted(p.name for p in (tmp_path / "e").iterdir()) == [
        "config.json", "model.safetensors", "similarity.json", "vocab.txt"]
    again = SentenceEncoder.from_pretrained(tmp_path / "e")
    assert (again.pooling, again.maxlen) == ("P4", 12)
    np.testing.assert_allclose(again.encode(TEXTS), enc.encode(TEXTS), rtol=1e-5, atol=1e-6)
    assert SentenceEncoder.from_pretrained(tmp_path / "e", "P1", maxlen=20).pooling == "P1"
    with pytest.raises(FileExistsError):  # nothing replaced unless asked
        enc.save_pretrained(tmp_path / "e")
    (tmp_path / "e" / "similarity.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(ValueError, match="similarity.json: not valid JSON"):
        SentenceEncoder.from_pretrained(tmp_path / "e")


def test_save_pretrained_refuses_unserialisable_info_before_writing(model, tokenizer,
                                                                    tmp_path):
    enc = SentenceEncoder(model, tokenizer, "P3")
    with pytest.raises(TypeError):
        enc.save_pretrained(tmp_path / "e", bad=object())
    assert not (tmp_path / "e").exists()
    assert list(tmp_path.iterdir()) == []
