"""Paraphrase groups, the char vocabulary and the GRU encoder (kexue.fm/archives/5743)."""

from __future__ import annotations

import torch

from kexue.similarity.gru import CharVocab, GRUEncoder, paraphrase_groups


def test_groups_are_connected_components():
    pairs = [("a", "b"), ("c", "d"), ("b", "e"), ("f", "g"), ("g", "c")]
    assert paraphrase_groups(pairs) == [["a", "b", "e"], ["c", "d", "f", "g"]]
    assert paraphrase_groups([("x", "x")]) == []


def test_vocab_and_encoder_skip_padding():
    vocab = CharVocab(["今天天气", "ＡＢ天"], min_count=2)
    assert vocab.encode("天ａ") == [vocab.index["天"], 1]
    torch.manual_seed(0)
    enc = GRUEncoder(len(vocab), 8, 6).eval()
    ids = torch.tensor([[2, 1, 0, 0], [2, 1, 1, 2]])
    v = enc(ids)
    torch.testing.assert_close(v[0], enc(ids[:1, :2])[0])
    torch.testing.assert_close(v.norm(dim=1), torch.ones(2))
