"""UniLM seq2seq fine-tuning: labels, examples and the loss against bert4keras's formulation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from kexue.data import PadCollate
from kexue.train.seq2seq import IGNORE_INDEX, UniLMSeq2Seq, seq2seq_example, unilm_labels


@pytest.fixture(scope="module")
def unilm_model(tmp_path_factory):
    from transformers import BertConfig, BertForMaskedLM

    from kexue.models import build_transformer_model

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=29, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=40,
                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    path = tmp_path_factory.mktemp("bert")
    BertForMaskedLM(cfg).save_pretrained(path)
    return build_transformer_model(checkpoint_path=path, application="unilm").double().eval()


def test_labels_are_the_next_target_token_in_every_container():
    ids = [2, 7, 8, 3, 11, 12, 3]
    seg = [0, 0, 0, 0, 1, 1, 1]
    want = [-100, -100, -100, 11, 12, 3, -100]
    assert unilm_labels(ids, seg) == want
    assert unilm_labels(np.array([ids, ids]), np.array([seg, seg])).tolist() == [want, want]
    assert unilm_labels(torch.tensor(ids), torch.tensor(seg)).tolist() == want
    with pytest.raises(ValueError, match="differ in shape"):
        unilm_labels(ids, seg[:-1])


def test_example_from_a_tokenizer_and_its_errors():
    class Tok:  # the Tokenizer.encode contract: [CLS] a [SEP] b [SEP], segments 0 / 1
        def encode(self, first, second, maxlen=None):
            a, b = [ord(c) for c in first], [ord(c) for c in second]
            while maxlen is not None and len(a) + len(b) + 3 > maxlen:
                (a if len(a) >= len(b) else b).pop()
            return [1, *a, 2, *b, 2], [0] * (len(a) + 2) + [1] * (len(b) + 1)

    ex = seq2seq_example(Tok(), "ab", "c")
    assert ex["token_ids"] == [1, 97, 98, 2, 99, 2]
    assert ex["labels"] == [-100, -100, -100, 99, 2, -100]
    with pytest.raises(ValueError, match="empty"):
        seq2seq_example(Tok(), "ab", "")


def test_loss_equals_bert4keras_shifted_masked_cross_entropy(unilm_model):
    g = torch.Generator().manual_seed(1)
    examples = []
    for src_len, tgt_len in [(5, 3), (2, 6), (7, 1)]:
        src = torch.randint(4, 29, (src_len,), generator=g).tolist()
        tgt = torch.randint(4, 29, (tgt_len,), generator=g).tolist()
        ids = [2, *src, 3, *tgt, 3]
        seg = [0] * (src_len + 2) + [1] * (tgt_len + 1)
        examples.append({"token_ids": ids, "segment_ids": seg, "labels": unilm_labels(ids, seg)})
    batch = PadCollate({"labels": IGNORE_INDEX})(examples)
    loss = UniLMSeq2Seq(unilm_model)(**batch)

    # bert4keras: y_true = ids[:, 1:], y_mask = segment_ids[:, 1:] (padding has segment 0),
    # y_pred = logits[:, :-1]; the mean over the masked positions
    logits = unilm_model(batch["token_ids"], batch["segment_ids"],
                         attention_mask=batch["attention_mask"]).logits
    y_true, y_mask = batch["token_ids"][:, 1:], batch["segment_ids"][:, 1:].double()
    ce = F.cross_entropy(logits[:, :-1].transpose(1, 2), y_true, reduction="none")
    torch.testing.assert_close(loss, (ce * y_mask).sum() / y_mask.sum())


def test_source_tokens_are_never_labels_and_a_wrong_model_is_refused(unilm_model):
    from kexue.models import build_transformer_model

    ids = torch.tensor([[2, 5, 6, 3, 7, 3]])
    seg = torch.tensor([[0, 0, 0, 0, 1, 1]])
    labels = unilm_labels(ids, seg)
    assert labels.tolist() == [[-100, -100, -100, 7, 3, -100]]
    with pytest.raises(ValueError, match="no target positions"):
        UniLMSeq2Seq(unilm_model)(ids, torch.zeros_like(seg), torch.full_like(ids, -100))
    encoder = build_transformer_model({"vocab_size": 29, "hidden_size": 8,
                                              "num_hidden_layers": 1, "num_attention_heads": 2,
                                              "intermediate_size": 16}, model="bert")
    with pytest.raises(ValueError, match="application='unilm'"):
        UniLMSeq2Seq(encoder)
