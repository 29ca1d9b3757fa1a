"""MLMClassifier scores = the manual computation with transformers' BertForMaskedLM."""

import math

import pytest
import torch

from kexue.prompting import MLMClassifier, Pattern, Verbalizer
from tests.prompting.conftest import ids


def hf_probs(hf_mlm, tokens):
    """softmax over the vocabulary at every position of a hand-written row."""
    x = torch.tensor([ids(*tokens)])
    with torch.no_grad():
        return hf_mlm(input_ids=x, token_type_ids=torch.zeros_like(x)).logits[0].softmax(-1)


def test_single_token_labels_equal_transformers(tiny, hf_mlm):
    model, tok = tiny
    clf = MLMClassifier(model, tok, Pattern("{mask}满意。{text}"),
                        Verbalizer({"pos": "很", "neg": "不"}), batch_size=2)
    texts = ["这个东西质量好", "差", "我们喜欢买"]
    got = clf.scores(texts)
    for row, text in enumerate(texts):
        p = hf_probs(hf_mlm, ["[CLS]", "[MASK]", "满", "意", "。", *text, "[SEP]"])
        want = torch.tensor([math.log(p[1, ids("很")[0]]), math.log(p[1, ids("不")[0]])])
        torch.testing.assert_close(got[row], want.float(), rtol=1e-5, atol=1e-6)
    assert clf.predict(texts) == [clf.labels[i] for i in got.argmax(-1).tolist()]


@pytest.mark.parametrize("reduce", ["product", "mean"])
def test_two_token_labels_with_several_words(tiny, hf_mlm, reduce):
    model, tok = tiny
    words = {"sport": ["体育", "喜欢"], "news": "新闻", "bad": "质量"}
    clf = MLMClassifier(model, tok, Pattern("{text}是{mask}的"), Verbalizer(words, reduce=reduce))
    got = clf.scores(["我们买", "好"])
    for row, text in enumerate(["我们买", "好"]):
        toks = ["[CLS]", *text, "是", "[MASK]", "[MASK]", "的", "[SEP]"]
        p = hf_probs(hf_mlm, toks)
        m = toks.index("[MASK]")
        want = []
        for ws in words.values():
            ws = [ws] if isinstance(ws, str) else ws
            per = [p[m, ids(w[0])[0]] * p[m + 1, ids(w[1])[0]] if reduce == "product"
                   else (p[m, ids(w[0])[0]] + p[m + 1, ids(w[1])[0]]) / 2 for w in ws]
            want.append(math.log(sum(per)))
        torch.testing.assert_close(got[row], torch.tensor(want).float(), rtol=1e-5, atol=1e-6)


def test_mixed_lengths_score_each_length_in_its_own_pass(tiny, hf_mlm):
    model, tok = tiny
    clf = MLMClassifier(model, tok, Pattern("{mask}。{text}"),
                        Verbalizer({"a": "好", "b": "体育"}, reduce="mean", mixed_lengths=True))
    got = clf.scores(["我们"])[0]
    p1 = hf_probs(hf_mlm, ["[CLS]", "[MASK]", "。", "我", "们", "[SEP]"])
    p2 = hf_probs(hf_mlm, ["[CLS]", "[MASK]", "[MASK]", "。", "我", "们", "[SEP]"])
    want = [math.log(p1[1, ids("好")[0]]),
            math.log((p2[1, ids("体")[0]] + p2[2, ids("育")[0]]) / 2)]
    torch.testing.assert_close(got, torch.tensor(want).float(), rtol=1e-5, atol=1e-6)


def test_batched_scores_equal_one_by_one(tiny):
    model, tok = tiny
    clf = MLMClassifier(model, tok, Pattern("{mask}满意。{text}"),
                        Verbalizer({"pos": "很", "neg": "不"}), batch_size=3)
    texts = ["这个东西质量好", "差", "我们喜欢买", "坏", "好好好好"]
    together = clf.scores(texts)
    alone = torch.cat([clf.scores([t]) for t in texts])
    torch.testing.assert_close(together, alone)


def test_over_long_text_is_an_error_naming_maxlen(tiny):
    model, tok = tiny
    clf = MLMClassifier(model, tok, Pattern("{mask}{text}"), Verbalizer({"a": "好", "b": "坏"}))
    with pytest.raises(ValueError, match="more than maxlen=24"):
        clf.scores(["好" * 30])
    cut = MLMClassifier(model, tok, Pattern("{mask}{text}"), Verbalizer({"a": "好", "b": "坏"}),
                        truncate=True)
    assert cut.scores(["好" * 30]).shape == (1, 2)
    with pytest.raises(ValueError, match="more than the model's 24 positions"):
        MLMClassifier(model, tok, Pattern("{mask}{text}"), Verbalizer({"a": "好"}), maxlen=30)


def test_mask_only_head_equals_the_full_logits(tiny):
    """The fast path (MLM head at the mask positions only) = the model's own full logits."""
    model, tok = tiny
    clf = MLMClassifier(model, tok, Pattern("{mask}满意。{text}"),
                        Verbalizer({"pos": "很", "neg": "不"}))
    enc = clf.encode(["这个东西质量好", "差"])
    fast = clf._mask_logits([e.token_ids for e in enc], [e.segment_ids for e in enc],
                            [e.mask_positions for e in enc])
    row = torch.tensor([enc[0].token_ids])
    full = model(row, torch.zeros_like(row)).logits[0, 1]
    torch.testing.assert_close(fast[0, 0], full)
    assert model.mlm is not None  # the model itself keeps its head
