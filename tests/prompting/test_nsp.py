"""NSPClassifier = transformers' BertForNextSentencePrediction; samples-contrast and the
thresholds on hand examples."""

import itertools
import random

import pytest
import torch

from kexue.prompting import NSPClassifier, apply_thresholds, fit_thresholds, samples_contrast
from tests.prompting.conftest import ids


def hf_is_next(hf_nsp, first, second):
    x = torch.tensor([ids("[CLS]", *first, "[SEP]", *second, "[SEP]")])
    seg = torch.tensor([[0] * (len(first) + 2) + [1] * (len(second) + 1)])
    with torch.no_grad():
        return float(hf_nsp(input_ids=x, token_type_ids=seg).logits.softmax(-1)[0, 0])


@pytest.mark.parametrize("position", ["prefix", "suffix"])
def test_candidates_equal_transformers(tiny, hf_nsp, position):
    model, tok = tiny
    clf = NSPClassifier(model, tok, batch_size=4)
    texts, prompts = ["这个东西质量好", "差", "我们喜欢买"], ["这是好的", "这是差的", "体育新闻"]
    got = clf.candidates(texts, prompts, position)
    assert got.shape == (3, 3)
    for r, t in enumerate(texts):
        for c, p in enumerate(prompts):
            a, b = (p, t) if position == "prefix" else (t, p)
            assert got[r, c].item() == pytest.approx(hf_is_next(hf_nsp, a, b), rel=1e-5)
    assert clf.predict(texts, prompts, position) == got.argmax(-1).tolist()


def test_over_long_pair_is_an_error_unless_truncated(tiny):
    model, tok = tiny
    with pytest.raises(ValueError, match="more than maxlen=24"):
        NSPClassifier(model, tok).pairs(["好" * 15], ["坏" * 15])
    assert NSPClassifier(model, tok, truncate=True).pairs(["好" * 15], ["坏" * 15]).shape == (1,)


def test_samples_contrast_on_a_hand_example():
    scores = [0.9, 0.1, 0.5, 0.7, 0.3, 0.2]
    # sorted: 0.1(1) 0.2(5) 0.3(4) | 0.5(2) 0.7(3) 0.9(0)
    assert samples_contrast(scores, 2) == [1, 0, 1, 1, 0, 0]
    # three groups of two: {0.1, 0.2} {0.3, 0.5} {0.7, 0.9}
    assert samples_contrast(scores, 3) == [2, 0, 1, 2, 1, 0]
    # proportions 1:2 -> the lowest two get label 0
    assert samples_contrast(scores, 2, proportions=[1, 2]) == [1, 0, 1, 1, 1, 0]


def test_fit_thresholds_is_the_best_monotone_split():
    """Exhaustive check: no pair of thresholds classifies the tuning data better."""
    rng = random.Random(0)
    scores = [rng.random() for _ in range(14)]
    labels = [min(2, int(s * 3 + rng.gauss(0, 0.6)) % 3) for s in scores]
    t = fit_thresholds(scores, labels, 3)
    got = sum(p == y for p, y in zip(apply_thresholds(scores, t), labels))
    cands = sorted(scores) + [2.0]
    best = max(sum(p == y for p, y in zip(apply_thresholds(scores, [a, b]), labels))
               for a, b in itertools.combinations_with_replacement(cands, 2))
    assert got == best
    assert fit_thresholds([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], 2) == [pytest.approx(0.5)]
    assert apply_thresholds([0.4, 0.6], [0.5]) == [0, 1]
