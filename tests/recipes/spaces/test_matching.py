"""The recursive extraction-label matcher of SPACES."""

import random

from kexue.recipes.spaces.matching import extract_matching, extraction_labels, split_sentences


def test_split_keeps_separators_and_last_clauses():
    text = "原告张三，被告李四。法院认为：应当支持；判决如下\n驳回"
    pieces = split_sentences(text)
    assert "".join(pieces) == text.replace("\n", "")
    assert pieces[0] == "原告张三，"
    assert split_sentences(text, limit=2) == pieces[-2:]


def test_matching_properties_on_random_texts():
    rng = random.Random(0)
    alphabet = "甲乙丙丁戊己庚辛"
    for _ in range(30):
        texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(2, 8)))
                 for _ in range(rng.randint(1, 9))]
        summaries = ["".join(rng.choice(alphabet) for _ in range(rng.randint(2, 8)))
                     for _ in range(rng.randint(1, 6))]
        pairs = extract_matching(texts, summaries)
        assert [i for i, _ in pairs] == list(range(len(summaries)))  # each summary sentence once
        js = [j for _, j in pairs]
        assert js == sorted(js) and all(0 <= j < len(texts) for j in js)  # order-preserving


def test_copied_sentences_are_found():
    texts = ["原告诉称，", "被告借款十万元，", "至今未还。", "天气很好，", "判决被告还款。"]
    summary = "被告借款十万元，判决被告还款。"
    assert extraction_labels(texts, summary) == [0, 1, 0, 0, 1]


def test_longest_summary_sentence_is_matched_first():
    texts = ["甲乙丙丁戊己，", "甲乙，"]
    summaries = ["甲乙，", "甲乙丙丁戊己，"]
    # longest first pins sentence 1 to source 0; the order-preserving left half then forces
    # summary 0 into source[:1] (shortest-first would give [(0, 1), (1, 1)])
    assert extract_matching(texts, summaries) == [(0, 0), (1, 0)]
