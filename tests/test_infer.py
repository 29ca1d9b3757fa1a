"""``kexue.infer``: fill-mask and NSP scoring against transformers on the same tiny random
checkpoint; generation against a greedy loop that re-runs the whole model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
import transformers

from kexue.infer import Candidate, classify, fill_mask, generate
from kexue.models import build_transformer_model
from kexue.text import Tokenizer

VOCAB = Path(__file__).parent / "text" / "fixtures" / "vocab.txt"
TINY = {"vocab_size": 450, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 64, "max_position_embeddings": 64}


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("bert") / "m"
    model = build_transformer_model(TINY, with_pool=True, with_nsp=True, with_mlm=True)
    with torch.no_grad():  # a peaked MLM bias, so top-k orders are well separated
        model.mlm.bias.normal_(0, 3)
    model.save_pretrained(d)
    shutil.copyfile(VOCAB, d / "vocab.txt")
    return d


@pytest.fixture(scope="module")
def tokenizer():
    return Tokenizer(VOCAB)


def test_fill_mask_equals_transformers(bert_dir, tokenizer):
    model = build_transformer_model(checkpoint_path=bert_dir, with_mlm=True)
    hf = transformers.BertForMaskedLM.from_pretrained(bert_dir).eval()
    texts = ["今天天[MASK]不错", "[MASK]天[MASK]气"]
    got = fill_mask(model, tokenizer, texts, top_k=4)
    assert [len(g) for g in got] == [1, 2]
    mask_id = tokenizer.token_to_id("[MASK]")
    for text, per_mask in zip(texts, got):
        ids = torch.tensor([tokenizer.encode(text)[0]])
        with torch.no_grad():
            probs = hf(input_ids=ids).logits[0].softmax(-1)
        where = (ids[0] == mask_id).nonzero().flatten().tolist()
        for pos, cands in zip(where, per_mask):
            top = probs[pos].topk(4)
            assert [c.id for c in cands] == top.indices.tolist()
            torch.testing.assert_close(torch.tensor([c.probability for c in cands]),
                                       top.values, rtol=1e-4, atol=1e-6)
            assert all(isinstance(c, Candidate) and c.token == tokenizer.id_to_token(c.id)
                       for c in cands)
    one = fill_mask(model, tokenizer, "今天天[MASK]不错", top_k=2)
    assert [c.id for c in one[0]] == [c.id for c in got[0][0][:2]]


def test_fill_mask_bad_input(bert_dir, tokenizer):
    model = build_transformer_model(checkpoint_path=bert_dir, with_mlm=True)
    with pytest.raises(ValueError, match=r"no \[MASK\]"):
        fill_mask(model, tokenizer, "今天")
    with pytest.raises(ValueError, match="top_k"):
        fill_mask(model, tokenizer, "[MASK]", top_k=0)
    with pytest.raises(ValueError, match="cut by maxlen"):
        fill_mask(model, tokenizer, "今天天气[MASK]", maxlen=4)
    encoder = build_transformer_model(checkpoint_path=bert_dir)
    with pytest.raises(ValueError, match="no logits"):
        fill_mask(encoder, tokenizer, "[MASK]")


def test_classify_nsp_equals_transformers(bert_dir, tokenizer):
    model = build_transformer_model(checkpoint_path=bert_dir, with_pool=True, with_nsp=True)
    hf = transformers.BertForPreTraining.from_pretrained(bert_dir).eval()
    firsts, seconds = ["今天天气不错", "科学"], ["出去走走", "空间的文章"]
    got = classify(model, tokenizer, firsts, seconds)
    batch = tokenizer(firsts, seconds)
    with torch.no_grad():
        ref = hf(input_ids=batch["token_ids"], token_type_ids=batch["segment_ids"],
                 attention_mask=batch["attention_mask"]).seq_relationship_logits.softmax(-1)
    torch.testing.assert_close(got, ref)
    torch.testing.assert_close(classify(model, tokenizer, list(zip(firsts, seconds))), got)
    head = torch.nn.Linear(32, 3)
    probs = classify(model, tokenizer, firsts, head=lambda out: head(out.pooled))
    assert probs.shape == (2, 3)
    torch.testing.assert_close(probs.sum(-1), torch.ones(2))
    plain = build_transformer_model(checkpoint_path=bert_dir)
    with pytest.raises(ValueError, match="no NSP head"):
        classify(plain, tokenizer, firsts, seconds)


def test_generate_unilm_equals_a_full_rerun_greedy_loop(bert_dir, tokenizer):
    model = build_transformer_model(checkpoint_path=bert_dir, application="unilm")
    sep = tokenizer.token_to_id("[SEP]")
    texts = ["今天天气不错", "科学空间"]
    got = generate(model, tokenizer, texts, max_new_tokens=5)
    for text, out in zip(texts, got):
        ids = tokenizer.encode(text)[0]
        seg = [0] * len(ids)
        new = []
        for _ in range(5):
            with torch.no_grad():
                logits = model(torch.tensor([ids]), torch.tensor([seg])).logits[0, -1]
            nxt = int(logits.argmax())
            if nxt == sep:
                break
            new.append(nxt)
            ids, seg = ids + [nxt], seg + [1]
        assert out == tokenizer.decode(new)
    assert generate(model, tokenizer, "科学空间", max_new_tokens=5) == got[1]
    beams = generate(model, tokenizer, texts, max_new_tokens=5, num_beams=3)
    drawn = generate(model, tokenizer, texts, max_new_tokens=5, sample=True, seed=1, top_k=5)
    assert all(isinstance(t, str) for t in beams + drawn)
    assert drawn == generate(model, tokenizer, texts, max_new_tokens=5, sample=True, seed=1,
                             top_k=5)


@pytest.mark.parametrize("family", ["gpt2_ml", "t5"])
def test_generate_runs_for_causal_and_encoder_decoder_models(family, tokenizer):
    torch.manual_seed(0)
    if family == "t5":
        cfg = {"vocab_size": 450, "d_model": 16, "d_kv": 8, "d_ff": 32, "num_layers": 1,
               "num_heads": 2}
        model = build_transformer_model(cfg, model="t5")
    else:
        cfg = {"vocab_size": 450, "hidden_size": 16, "num_hidden_layers": 1,
               "num_attention_heads": 2, "intermediate_size": 32,
               "max_position_embeddings": 64}
        model = build_transformer_model(cfg, model="gpt2_ml", application="lm")
    out = generate(model, tokenizer, ["今天", "科学空间"], max_new_tokens=4)
    assert len(out) == 2 and all(isinstance(t, str) for t in out)
