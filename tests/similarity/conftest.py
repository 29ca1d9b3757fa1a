"""Tiny random models and a character tokenizer shared by the similarity tests."""

from __future__ import annotations

import pytest
import torch

CHARS = "今天天气不错很好我喜欢北京给推荐一款红色的车黑科学空间文章"


def tiny_vocab() -> dict[str, int]:
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    for ch in CHARS:
        if ch not in tokens:
            tokens.append(ch)
    return {t: i for i, t in enumerate(tokens)}


def tiny_config(**extra) -> dict:
    vocab = tiny_vocab()
    cfg = dict(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2,
               num_attention_heads=2, intermediate_size=32, max_position_embeddings=64,
               hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, type_vocab_size=2)
    cfg.update(extra)
    return cfg


def tiny_model(seed: int = 0, application: str = "encoder", **extra):
    from kexue.models import build_transformer_model

    torch.manual_seed(seed)
    return build_transformer_model(tiny_config(**extra), model="roformer",
                                   application=application, with_pool=True).eval()


@pytest.fixture
def tokenizer():
    from kexue.text import Tokenizer

    return Tokenizer(tiny_vocab(), backend="python")


@pytest.fixture
def model():
    return tiny_model()
