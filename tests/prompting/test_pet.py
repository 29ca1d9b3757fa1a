import copy

import torch

from kexue.prompting import MLMClassifier, Pattern, Verbalizer, pet_finetune
from kexue.prompting.pet import IGNORE, pet_examples, random_masking
from tests.prompting.conftest import ids

PATTERN = Pattern("{mask}满意。{text}")
VERB = Verbalizer({"pos": "很", "neg": "不"})


def test_examples_target_the_label_word_at_the_mask(tiny):
    _, tok = tiny
    (row, targets), = pet_examples(tok, PATTERN, VERB, ["好"], ["neg"], maxlen=24)
    assert row == ids("[CLS]", "[MASK]", "满", "意", "。", "好", "[SEP]")
    assert targets == [IGNORE, *ids("不"), *[IGNORE] * 5]


def test_random_masking_leaves_specials_and_targets_alone():
    gen = torch.Generator().manual_seed(0)
    row, targets = [2, 9, 9, 9, 9, 9, 9, 9, 4, 3], [IGNORE] * 8 + [7, IGNORE]
    new, tgt = random_masking(row, targets, rate=0.99, mask_id=4, vocab_size=30,
                              special={2, 3, 4}, generator=gen)
    assert new[0] == 2 and new[-1] == 3 and new[8] == 4 and tgt[8] == 7
    assert all(t == 9 for t in tgt[1:8])  # every ordinary token chosen, original as target
    assert new[1:8].count(4) >= 3  # most become [MASK]


def test_pet_training_learns_a_separable_toy_task(tiny):
    model, tok = tiny
    model = copy.deepcopy(model).float()
    texts = ["这个好", "质量好", "我们喜欢", "东西好", "这个差", "质量差", "我们不买", "东西坏"] * 2
    labels = ["pos"] * 4 + ["neg"] * 4
    labels = labels * 2
    pet_finetune(model, tok, PATTERN, VERB, texts, labels, epochs=15, lr=3e-3,
                           batch_size=8, mask_rate=0.0, seed=0)
    clf = MLMClassifier(model, tok, PATTERN, VERB)
    assert clf.predict(texts) == labels
