"""UniLM batches build the bert4keras mask; the pretrainer's losses; export round trip."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from kexue.models import build_transformer_model, save_pretrained
from kexue.pretrain.examples import PretrainStream, SpecialIds
from kexue.pretrain.model import build_pretrainer
from kexue.pretrain.run import collate

TINY = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
            max_position_embeddings=64, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0)


def _unilm_batch(store, vocab, n=4):
    stream = PretrainStream(store, SpecialIds(vocab[1]), max_length=40,
                            objectives={"unilm": 1.0}, seed=0)
    it = iter(stream)
    return [next(it) for _ in range(n)]


def test_unilm_example_layout(store, vocab):
    sp = SpecialIds(vocab[1])
    for ex in _unilm_batch(store, vocab, 8):
        ids, seg, labels = ex["token_ids"], ex["segment_ids"], ex["labels"]
        s = int((seg == 0).sum())  # [CLS] source [SEP]
        assert ids[0] == sp.cls and ids[s - 1] == sp.sep and ids[-1] == sp.sep
        assert (seg[:s] == 0).all() and (seg[s:] == 1).all() and len(ids) > s
        picked = np.flatnonzero(labels != -100)
        # the logits at i predict token i + 1 for every target token, nothing else
        np.testing.assert_array_equal(picked, np.arange(s - 1, len(ids) - 1))
        np.testing.assert_array_equal(labels[picked], ids[picked + 1])


def test_unilm_batch_gives_bert4keras_mask(store, vocab):
    """Changing token j changes the output at i exactly when the bert4keras UniLM mask
    (idx = cumsum(segment_ids); i sees j iff idx[j] <= idx[i]) lets i see j."""
    torch.manual_seed(0)
    m = build_pretrainer("roformer", {**TINY, "vocab_size": len(vocab[1])}, {"unilm": 1.0})
    m.eval()
    ex = _unilm_batch(store, vocab, 1)[0]
    b = collate([ex])
    ids, seg = b["token_ids"], b["segment_ids"]
    idx = seg.cumsum(1)[0]
    allowed = idx[None, :] <= idx[:, None]  # bert4keras UniLM_Mask
    base = m.model(ids, seg).logits[0]
    n = ids.shape[1]
    for j in range(1, n):
        changed = ids.clone()
        changed[0, j] = (changed[0, j] + 7) % len(vocab[1])
        out = m.model(changed, seg).logits[0]
        differs = (out - base).abs().amax(-1) > 1e-6
        np.testing.assert_array_equal(differs.numpy(), allowed[:, j].numpy(), err_msg=str(j))
    # the loss is the cross-entropy of next target tokens
    loss = m(**b)
    sel = b["labels"][0] != -100
    torch.testing.assert_close(loss, F.cross_entropy(base[sel], b["labels"][0][sel]))


def test_mlm_nsp_loss_matches_full_head_and_export_round_trip(store, vocab, tmp_path):
    torch.manual_seed(0)
    m = build_pretrainer("roformer", {**TINY, "vocab_size": len(vocab[1])}, {"nsp": 1.0})
    m.eval()
    stream = PretrainStream(store, SpecialIds(vocab[1]), max_length=40,
                            objectives={"nsp": 1.0}, seed=0)
    it = iter(stream)
    b = collate([next(it) for _ in range(6)])
    full = m.export()  # the model with its MLM head computing logits everywhere
    out = full(b["token_ids"], b["segment_ids"], attention_mask=b["attention_mask"])
    sel = b["labels"] != -100
    expect = (F.cross_entropy(out.mlm_logits[sel], b["labels"][sel])
              + F.cross_entropy(out.nsp_logits, b["nsp_label"]))
    torch.testing.assert_close(m(**b), expect)
    save_pretrained(full, tmp_path / "m", vocab=vocab[1])
    back = build_transformer_model(checkpoint_path=tmp_path / "m", model="roformer",
                                   with_mlm=True, with_nsp=True)
    again = back(b["token_ids"], b["segment_ids"], attention_mask=b["attention_mask"])
    torch.testing.assert_close(again.mlm_logits, out.mlm_logits)
    torch.testing.assert_close(again.nsp_logits, out.nsp_logits)


def test_causal_lm_loss(store, vocab):
    torch.manual_seed(0)
    m = build_pretrainer("gpt2", {"vocab_size": len(vocab[1]), "n_embd": 16, "n_layer": 1,
                                  "n_head": 2, "n_positions": 64}, {"lm": 1.0})
    m.eval()
    stream = PretrainStream(store, SpecialIds(vocab[1]), max_length=40,
                            objectives={"lm": 1.0}, whole_word=False, seed=0)
    it = iter(stream)
    b = collate([next(it) for _ in range(3)])
    logits = m.model(b["token_ids"]).logits
    ids = b["token_ids"]
    expect = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
    torch.testing.assert_close(m(**b), expect)  # full 40-token sequences: no padding
