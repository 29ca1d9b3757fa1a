"""SPACES generator: word-level input (jieba words initialised from their characters)."""

from __future__ import annotations

import json

import pytest
import torch

import kexue.assets
from kexue.models import build_transformer_model
from kexue.models.saving import save_pretrained
from kexue.recipes.spaces.generator import SETTINGS_FILE, Summarizer, word_vocab


def _tiny_config(vocab_size: int) -> dict:
    cfg = json.loads((kexue.assets.path("kexue-mini-zh") / "config.json").read_text())
    cfg.update(hidden_size=16, embedding_size=16, num_hidden_layers=1, num_attention_heads=2,
               intermediate_size=32, head_size=8, vocab_size=vocab_size)
    return cfg


@pytest.fixture(scope="module")
def char_dir(tmp_path_factory):
    torch.manual_seed(0)
    asset = kexue.assets.path("kexue-mini-zh")
    model = build_transformer_model(_tiny_config(13585), model="roformer", application="unilm")
    d = tmp_path_factory.mktemp("chars") / "model"
    save_pretrained(model, d, vocab=asset / "vocab.txt")
    return d


def test_added_words_start_at_the_mean_of_their_characters(char_dir, tmp_path):
    wv = word_vocab(char_dir / "vocab.txt", 200)
    assert len(wv) == 13585 + 200 and wv.keep_tokens == list(range(13585))
    chars = build_transformer_model(checkpoint_path=char_dir, model="roformer",
                                    application="unilm", strict=False)
    words = build_transformer_model(checkpoint_path=char_dir, model="roformer",
                                    application="unilm", strict=False,
                                    keep_tokens=wv.keep_tokens,
                                    compound_tokens=wv.compound_tokens)
    old = chars.embeddings.token.weight
    new = words.embeddings.token.weight
    assert new.shape[0] == len(wv)
    torch.testing.assert_close(new[:13585], old)
    for j, w in enumerate(wv.words[:50]):
        row = new[13585 + j]
        torch.testing.assert_close(row, old[wv.compound_tokens[j]].mean(0))
        assert len(w) >= 2  # a word, not a character the vocabulary already had

    # a summarizer directory records the word-level input and reloads the same tokenizer
    d = tmp_path / "words"
    save_pretrained(words, d, vocab=wv.token_dict)
    (d / SETTINGS_FILE).write_text(json.dumps(
        {"family": "roformer", "maxlen": 24, "sparse_k": 0, "copy": False, "words": 200}))
    s = Summarizer.load(d)
    text = "我们的研究表明，这个方法可以提高中国经济的发展。"
    pieces = s.tokenizer.tokenize(text)
    assert any(len(p) > 1 and p in wv.words for p in pieces), pieces
    assert s.tokenizer.decode(s.encode(text)[1:-1]) == text
    (out,) = s.summarize([text], max_new_tokens=4, batch_size=1)
    assert isinstance(out, str) and out


def test_word_vocab_rejects_a_bad_size(char_dir):
    for bad in (0, -3, True, 2.5):
        with pytest.raises(ValueError, match="positive int"):
            word_vocab(char_dir / "vocab.txt", bad)
