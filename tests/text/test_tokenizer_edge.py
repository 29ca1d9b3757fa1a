"""Tokenizer edge cases from the hardening campaign (issue 25, items 5 and 13).

Small ``maxlen`` never drops ``[CLS]``/``[SEP]``; special tokens written in the text are kept
whole as ``transformers.BertTokenizer`` keeps them; a vocab with a UTF-8 byte-order mark or
CR-only line ends; lone surrogates give the same ids on both backends; ``decode`` refuses
non-integer ids.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from kexue.text.tokenizer import Tokenizer, truncate_sequences

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB = SPECIALS + list("今天气不错好[]，。!") + [
    "a", "b", "x", "y", "##b", "##x", "mask", "cls", "sep", "hello", "world", "##s", "[unused1]",
]


@pytest.fixture(scope="module")
def vocab_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("".join(t + "\n" for t in VOCAB), encoding="utf-8")
    return path


@pytest.fixture(scope="module", params=["fast", "python"])
def tok(request, vocab_file):
    return Tokenizer(vocab_file, backend=request.param)


TEXTS = ["", "今", "今天", "今天气", "今天气不错", "hello world", "a b x y", "好" * 7]


def test_small_maxlen_sweep_keeps_cls_and_seps(tok):
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    checked = 0
    for a, b in itertools.product(TEXTS, TEXTS):
        full_ids, _ = tok.encode(a, b)
        first_body = tok.encode(a)[0][1:-1]
        second_body = tok.encode(b)[0][1:-1]
        for maxlen in range(3, len(full_ids) + 2):
            ids, segs = tok.encode(a, b, maxlen=maxlen)
            assert len(ids) == min(maxlen, len(full_ids)), (a, b, maxlen)
            n0 = segs.count(0)
            assert segs == [0] * n0 + [1] * (len(ids) - n0)
            assert ids[0] == cls_id and ids[n0 - 1] == sep_id and ids[-1] == sep_id, (a, b, maxlen)
            assert ids.count(sep_id) == 2 and ids.count(cls_id) == 1
            body0, body1 = ids[1:n0 - 1], ids[n0:-1]
            assert body0 == first_body[:len(body0)] and body1 == second_body[:len(body1)]
            checked += 1
        for maxlen in range(2, len(first_body) + 4):
            ids, segs = tok.encode(a, maxlen=maxlen)
            assert ids[0] == cls_id and ids[-1] == sep_id and ids[1:-1] == first_body[:len(ids) - 2]
            assert len(ids) == min(maxlen, len(first_body) + 2) and segs == [0] * len(ids)
    assert checked > 300


def test_truncation_convention_is_unchanged_where_both_segments_keep_text(tok):
    """bert4keras: the longer whole segment (the first on ties) loses the token before its
    last [SEP]; the fix only changes the cases that used to eat [CLS] or a [SEP]."""
    for a, b in itertools.product(TEXTS, TEXTS):
        first = ["[CLS]", *tok.tokenize(a)[1:-1], "[SEP]"]
        second = [*tok.tokenize(b)[1:-1], "[SEP]"]
        for maxlen in range(3, len(first) + len(second) + 1):
            ids, _ = tok.encode(a, b, maxlen=maxlen)
            old = truncate_sequences(maxlen, -2, first, second)
            if len(old[0]) >= 2 and old[0][0] == "[CLS]" and old[1][-1:] == ["[SEP]"] and (
                    old[0][-1] == "[SEP]"):
                assert ids == tok.tokens_to_ids(old[0] + old[1]), (a, b, maxlen)


def test_campaign_case_maxlen_3(tok):
    ids, segs = tok.encode("今天", "不错", maxlen=3)
    assert tok.ids_to_tokens(ids) == ["[CLS]", "[SEP]", "[SEP]"] and segs == [0, 0, 1]
    ids, _ = tok.encode("今天", "不错", maxlen=4)
    assert tok.ids_to_tokens(ids) == ["[CLS]", "[SEP]", "不", "[SEP]"]  # first loses on ties


SPECIAL_TEXTS = [
    "今天[MASK]不错", "[MASK][MASK]好", "a [MASK] b", "[CLS]hello[SEP]", "x[mask]y",
    "[ MASK ]", "[UNK]", "今[PAD]天", "[MASK", "[unused1]", "hello[SEP]world[CLS]",
]


def test_special_tokens_in_text_match_transformers(vocab_file, tok):
    transformers = pytest.importorskip("transformers")
    hf = transformers.BertTokenizer(str(vocab_file), do_lower_case=True)
    for text in SPECIAL_TEXTS:
        want = hf.tokenize(text)
        assert tok.tokenize(text)[1:-1] == want, text
        assert tok.encode(text)[0][1:-1] == hf.convert_tokens_to_ids(want), text
    assert [e[0][1:-1] for e in tok.encode_batch(SPECIAL_TEXTS)] == [
        hf.convert_tokens_to_ids(hf.tokenize(t)) for t in SPECIAL_TEXTS]
    assert tok.tokenize("今天[MASK]不错") == ["[CLS]", "今", "天", "[MASK]", "不", "错", "[SEP]"]


def test_vocab_with_byte_order_mark(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(t + "\n" for t in VOCAB).encode())
    t = Tokenizer(path)
    assert t.token_to_id("[PAD]") == 0 and t.token_to_id("[UNK]") == 1
    assert "\ufeff[PAD]" not in t.token_dict


def test_cr_only_vocab_is_named(tmp_path):
    path = tmp_path / "cr.txt"
    path.write_bytes("".join(t + "\r" for t in VOCAB).encode())
    with pytest.raises(ValueError, match=r"CR only"):
        Tokenizer(path)


@pytest.mark.parametrize("text", ["\ud800", "今\udc00天", "a\ud83db", "\udfff\ud800好"])
def test_lone_surrogates_give_the_same_ids_on_both_backends(vocab_file, text):
    pytest.importorskip("tokenizers")
    fast = Tokenizer(vocab_file, backend="fast")
    slow = Tokenizer(vocab_file, backend="python")
    assert fast.encode(text) == slow.encode(text)
    assert fast.encode(text, "今天") == slow.encode(text, "今天")
    assert fast.encode_batch([text, "今天"]) == slow.encode_batch([text, "今天"])


def test_decode_refuses_non_integer_ids(tok):
    with pytest.raises(TypeError, match=r"integers, got 3\.7"):
        tok.decode([2, 3.7])
    with pytest.raises(TypeError, match="integers"):
        tok.decode([np.float32(5)])
    assert tok.decode([2, np.int64(5), torch.tensor(6), 3]) == "今天"
    with pytest.raises(ValueError, match="outside the vocab"):
        tok.decode([len(VOCAB)])


@pytest.mark.parametrize("backend", ["fast", "python"])
def test_extra_specials_are_kept_whole_as_transformers_additional_specials(vocab_file,
                                                                            backend):
    from transformers import BertTokenizer

    tok = Tokenizer(vocab_file, backend=backend, extra_specials=["[unused1]"])
    ref = BertTokenizer(str(vocab_file), additional_special_tokens=["[unused1]"])
    for text in ["今天[unused1]不错", "[unused1][unused1]", "a[unused1]b [MASK]", "[unused2]"]:
        assert tok.encode(text)[0] == ref.encode(text), text
        assert tok.encode_batch([text, "今天"])[0][0] == ref.encode(text)
    plain = Tokenizer(vocab_file, backend=backend)
    assert plain.tokenize("今[unused1]")[1:-1] != ["今", "[unused1]"]  # off unless asked
    with pytest.raises(ValueError, match="not in the vocab"):
        Tokenizer(vocab_file, extra_specials=["[N0]"])
    with pytest.raises(TypeError, match="not one string"):
        Tokenizer(vocab_file, extra_specials="[unused1]")
