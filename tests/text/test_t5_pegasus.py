"""The T5 PEGASUS tokenizer: jieba words (HMM off) kept whole when in the vocab, else chars."""

from __future__ import annotations

import pytest

pytest.importorskip("jieba")

from kexue.text.t5_pegasus import t5_pegasus_tokenizer  # noqa: E402

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "科学", "空间", "科", "学", "空", "间",
         "是", "博", "客", "博客", "苏", "剑", "林", "的", "。"]


def test_words_in_vocab_stay_whole_others_fall_back_to_chars():
    tok = t5_pegasus_tokenizer({t: i for i, t in enumerate(VOCAB)})
    tokens = tok.tokenize("科学空间是苏剑林的博客。")
    # jieba (HMM off) cuts 科学 / 空间 / 是 / 苏 / 剑 / 林 / 的 / 博客 / 。; 苏剑林 is not a word
    assert tokens == ["[CLS]", "科学", "空间", "是", "苏", "剑", "林", "的", "博客", "。", "[SEP]"]
    ids, segs = tok.encode("科学空间")
    assert ids == [2, 5, 6, 3] and segs == [0, 0, 0, 0]
    # a jieba word missing from the vocab (空间站) falls back to characters, not to 空间 + 站
    assert tok.tokenize("空间站") == ["[CLS]", "空", "间", "[UNK]", "[SEP]"]
