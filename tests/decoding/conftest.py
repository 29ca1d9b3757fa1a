"""Test models for kexue.decoding: tiny random HF checkpoints and the kexue models built from them.

Every checkpoint is a freshly initialised transformers model saved to a temporary directory;
``build_transformer_model`` loads the same weights into the kexue family, so the kexue model +
kexue decoder can be compared with the transformers model + ``generate()``. Both sides run in
float64 so that the batch composition (prefill of ``batch`` vs ``batch * num_beams`` rows)
cannot flip near-tied beams; the decoder scores in float32, as ``generate()`` does.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from kexue.models import build_transformer_model


def tiny_gpt2(seed: int = 0):
    """A tiny random ``GPT2LMHeadModel`` (vocab 23, 2 layers, 48 positions), float64."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    cfg = GPT2Config(
        vocab_size=23, n_positions=48, n_embd=32, n_layer=2, n_head=4, n_inner=64,
        bos_token_id=2, eos_token_id=2, pad_token_id=1, initializer_range=0.3,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
    )  # fmt: skip
    return GPT2LMHeadModel(cfg).eval().to(torch.float64)


def tiny_t5(seed: int = 0):
    """A tiny random ``T5ForConditionalGeneration`` (original T5 layout: relu FFN, tied, scaled)."""
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(seed)
    cfg = T5Config(
        vocab_size=23, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2,
        num_heads=4, relative_attention_num_buckets=8, relative_attention_max_distance=20,
        dropout_rate=0.0, initializer_factor=2.0, pad_token_id=0, eos_token_id=1,
        decoder_start_token_id=0, feed_forward_proj="relu",
    )  # fmt: skip
    return T5ForConditionalGeneration(cfg).eval().to(torch.float64)


def tiny_bert(seed: int = 0):
    """A tiny random ``BertForMaskedLM`` (vocab 29, 2 layers, 40 positions), float64."""
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=29, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=40, initializer_range=0.3,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    return BertForMaskedLM(cfg).eval().to(torch.float64)


def to_kexue(hf, path, **kwargs):
    """Save ``hf`` to ``path`` and load it with ``build_transformer_model`` (float64, eval)."""
    hf.save_pretrained(path)
    return build_transformer_model(checkpoint_path=path, **kwargs).to(torch.float64).eval()


class CallLog(torch.nn.Module):
    """Wraps a contract model and records the ``new_len`` of every forward/decode call."""

    def __init__(self, model) -> None:
        super().__init__()
        self.inner = model
        self.calls: list[int] = []
        self.application = getattr(model, "application", None)
        self.config = model.config
        if hasattr(model, "encode"):
            self.encode = model.encode

    def new_cache(self):
        return self.inner.new_cache()

    def forward(self, token_ids, *args, **kwargs):
        self.calls.append(token_ids.shape[1])
        return self.inner(token_ids, *args, **kwargs)

    def decode(self, decoder_ids, *args, **kwargs):
        self.calls.append(decoder_ids.shape[1])
        return self.inner.decode(decoder_ids, *args, **kwargs)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models gain nothing from intra-op threads; on a shared CPU the spinning OpenMP
    workers made this suite ~7x slower. Restored after each test."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def gpt2_pair(tmp_path_factory):
    """(transformers GPT-2, kexue GPT-2 with the same weights)."""
    hf = tiny_gpt2()
    return hf, to_kexue(hf, tmp_path_factory.mktemp("gpt2"), model="gpt2", application="lm")


@pytest.fixture(scope="session")
def t5_pair(tmp_path_factory):
    """(transformers T5, kexue T5 with the same weights)."""
    hf = tiny_t5()
    return hf, to_kexue(hf, tmp_path_factory.mktemp("t5"), model="t5")


@pytest.fixture(scope="session")
def bert_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("bert")
    tiny_bert().save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def kit():
    """The helpers of this module (conftest modules are not importable by name)."""
    return SimpleNamespace(
        tiny_gpt2=tiny_gpt2, tiny_t5=tiny_t5, tiny_bert=tiny_bert, to_kexue=to_kexue,
        CallLog=CallLog,
    )  # fmt: skip
