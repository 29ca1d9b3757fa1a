"""kexue.text.vocab_carry: each new token's row is its old row or the mean of its pieces' rows,
in the embedding, the tied MLM / LM output and the MLM bias; the heads come over unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kexue.models import build_transformer_model, save_pretrained
from kexue.text import Tokenizer
from kexue.text.vocab_carry import carry_over, token_pieces

OLD = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "天", "气", "不", "错", "go", "##ing",
       "##o", "l", "##l", "##a", "##ng"]
NEW = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "天", "气", "天气", "不", "雨", "going",
       "##lang", "[unused1]", "错"]
PIECES = [[0], [1], [2], [3], [4], [5], [6], [5, 6], [7], [1], [9, 10], [13, 14, 15], [1], [8]]

BERT = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
            max_position_embeddings=32, vocab_size=len(OLD))
TF_FIXTURES = Path(__file__).resolve().parents[1] / "models" / "tf_fixtures"
GPT = dict(n_embd=16, n_layer=1, n_head=2, n_positions=32, vocab_size=len(OLD))


def test_carry_over_pieces():
    c = carry_over(OLD, NEW)
    assert c.pieces == PIECES
    assert c.keep_tokens == list(range(7))  # the leading run the checkpoint knows
    assert c.compound_tokens == PIECES[7:]  # later tokens, known ones as a single piece
    assert c.known == 9
    assert c.built == ["天气", "雨", "going", "##lang", "[unused1]"]
    assert c.unk_tokens == ["雨", "[unused1]"]
    assert carry_over(OLD, OLD).pieces == [[i] for i in range(len(OLD))]


def test_token_pieces_of_a_continuation():
    tok = Tokenizer({t: i for i, t in enumerate(OLD)})
    assert token_pieces(tok, "lang") == [12, 14, 15]  # l ##a ##ng
    assert token_pieces(tok, "##lang") == [13, 14, 15]  # ##l ##a ##ng
    assert token_pieces(tok, "\x00") == []


def test_carry_over_errors(tmp_path):
    with pytest.raises(ValueError, match=r"first token '\[BOS\]'"):
        carry_over(OLD, ["[BOS]", *OLD])
    with pytest.raises(ValueError, match="twice"):
        carry_over(OLD, ["[PAD]", "[PAD]"])
    with pytest.raises(ValueError, match="no vocab|not in the vocab"):
        carry_over(["天"], NEW)  # the old vocabulary has no [UNK]


def _checkpoint(tmp_path, family: str, dtype: torch.dtype):
    config = BERT if family == "roformer" else GPT
    opts = dict(with_mlm=True, with_nsp=True) if family == "roformer" else dict(application="lm")
    old = build_transformer_model(config, model=family, **opts)
    if family == "roformer":
        with torch.no_grad():
            old.mlm.bias.normal_()  # a trained bias, not the zero init
    save_pretrained(old.to(dtype), tmp_path / "old", vocab=OLD)
    return old.to(dtype).float(), opts


def _token_rows(model) -> torch.Tensor:
    emb = getattr(model, "embeddings", None)
    return emb.token.weight if emb is not None else model.token.weight


@pytest.mark.parametrize("family,dtype", [("roformer", torch.float32),
                                          ("roformer", torch.float16), ("gpt2", torch.float32)])
def test_rows_are_old_rows_or_piece_means(tmp_path, family, dtype):
    old, opts = _checkpoint(tmp_path, family, dtype)
    c = carry_over(OLD, NEW)
    new = build_transformer_model(checkpoint_path=tmp_path / "old", model=family, **opts,
                                  **c.model_kwargs())
    assert _token_rows(new).shape[0] == len(NEW)
    tensors = [(_token_rows(old), _token_rows(new))]
    if family == "roformer":
        tensors.append((old.mlm.bias, new.mlm.bias))
    for before, after in tensors:
        for i, ids in enumerate(PIECES):
            expect = before.detach().to(dtype)[ids].double().mean(0).to(dtype).float()
            assert torch.equal(after[i], expect), (NEW[i], ids)
            if len(ids) == 1:
                assert torch.equal(after[i], before[ids[0]])
    # every other weight (encoder, MLM transform, NSP head) comes over unchanged
    old_state, new_state = old.state_dict(), new.state_dict()
    for k, v in new_state.items():
        if v.shape == old_state[k].shape:
            assert torch.equal(v, old_state[k]), k
    # tied output: on the shared leading tokens the hidden states agree, and each new logit is
    # the mean of its pieces' old logits (the output is linear in the rows and the bias)
    ids = torch.tensor([[2, 5, 6, 4, 3]])
    if family == "roformer":
        a, b = old(ids).mlm_logits, new(ids).mlm_logits
        torch.testing.assert_close(new(ids).nsp_logits, old(ids).nsp_logits)
    else:  # logits (or an output holding them, once models return output dataclasses)
        a, b = (getattr(out, "logits", out) for out in (old(ids), new(ids)))
    expect = torch.stack([a[..., p].mean(-1) for p in PIECES], -1)
    torch.testing.assert_close(b, expect, rtol=1e-5, atol=1e-3 if dtype == torch.float16
                               else 1e-5)


def test_tf_checkpoint_rows_bias_and_nsp_head():
    """A TensorFlow BERT checkpoint (written by real TensorFlow, 24 tokens) continued on NEW:
    the word embeddings and ``cls/predictions/output_bias`` rows follow the pieces, the NSP
    head is the stored one."""
    from kexue.models.loading import read_weights

    prefix = TF_FIXTURES / "bert_mlm_nsp" / "bert_model.ckpt"
    old_vocab = OLD + [f"x{i}" for i in range(24 - len(OLD))]
    c = carry_over(old_vocab, NEW)
    new = build_transformer_model(checkpoint_path=prefix, model="bert", with_mlm=True,
                                  with_nsp=True, **c.model_kwargs())
    tf = read_weights(prefix)
    for mine, theirs in ((new.embeddings.token.weight, tf["bert/embeddings/word_embeddings"]),
                         (new.mlm.bias, tf["cls/predictions/output_bias"])):
        expect = torch.stack([theirs[p].double().mean(0).to(theirs.dtype) for p in PIECES])
        assert torch.equal(mine.detach(), expect.float())
    assert torch.equal(new.nsp.dense.weight.detach(), tf["cls/seq_relationship/output_weights"])
