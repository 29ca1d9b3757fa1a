"""A tiny random BERT with MLM and NSP heads, its vocabulary, and the same weights in
transformers (``BertForMaskedLM``, ``BertForNextSentencePrediction``, ``BertModel``).

Built once per session from ``BertForPreTraining`` with a seed; the kexue model is loaded
from the saved directory with ``build_transformer_model``; both sides run in float64 so the
comparisons are exact up to rounding.
"""

from __future__ import annotations

import pytest
import torch

CHARS = "很不满意。好这个东西质量差体育新闻是的，？我们喜欢买坏"
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *CHARS]


def tiny_pretraining(seed: int = 0):
    from transformers import BertConfig, BertForPreTraining

    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=24, initializer_range=0.3,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    return BertForPreTraining(cfg).eval().to(torch.float64)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny_bert")
    tiny_pretraining().save_pretrained(path)
    (path / "vocab.txt").write_text("".join(t + "\n" for t in VOCAB), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny(tiny_dir):
    """(kexue model with MLM + NSP heads, Tokenizer), float64, eval."""
    from kexue.models import build_transformer_model
    from kexue.text import Tokenizer

    model = build_transformer_model(checkpoint_path=tiny_dir, with_mlm=True, with_nsp=True)
    return model.to(torch.float64).eval(), Tokenizer(tiny_dir / "vocab.txt")


@pytest.fixture(scope="session")
def hf_mlm(tiny_dir):
    from transformers import BertForMaskedLM

    return BertForMaskedLM.from_pretrained(tiny_dir).to(torch.float64).eval()


@pytest.fixture(scope="session")
def hf_nsp(tiny_dir):
    from transformers import BertForNextSentencePrediction

    return BertForNextSentencePrediction.from_pretrained(tiny_dir).to(torch.float64).eval()


@pytest.fixture(scope="session")
def hf_encoder(tiny_dir):
    from transformers import BertModel

    return BertModel.from_pretrained(tiny_dir, add_pooling_layer=False).to(torch.float64).eval()


def ids(*tokens: str) -> list[int]:
    """Vocabulary ids of tokens written by hand."""
    return [VOCAB.index(t) for t in tokens]
