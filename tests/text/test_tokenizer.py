import unicodedata

import pytest

from kexue.text import Tokenizer, load_vocab, truncate_sequences


@pytest.fixture(scope="module")
def vocab_path():
    from tests.conftest import shared_data_path

    return shared_data_path("vocab", "google_zh_vocab.txt")


@pytest.fixture(scope="module")
def sentiment_lines():
    from tests.conftest import shared_data_path

    lines = []
    for split in ("train", "valid", "test"):
        path = shared_data_path("sentiment", f"sentiment.{split}.data")
        with open(path, encoding="utf-8") as f:
            for line in f:
                lines.append(line.rstrip("\n").rsplit("\t", 1)[0])
    return lines


@pytest.fixture(scope="module")
def hf(vocab_path):
    from transformers import BertTokenizer

    return BertTokenizer(str(vocab_path))


@pytest.fixture(scope="module")
def fast(vocab_path):
    tk = Tokenizer(vocab_path)
    assert tk.backend == "fast"
    return tk


@pytest.fixture(scope="module")
def python(vocab_path):
    tk = Tokenizer(vocab_path, backend="python")
    assert tk.backend == "python"
    return tk


def test_parity_with_transformers_on_every_sentiment_line(sentiment_lines, hf, fast, python):
    assert len(sentiment_lines) == 16883 + 2111 + 2111
    ref = hf(sentiment_lines)["input_ids"]
    mine = [ids for ids, _ in fast.encode_batch(sentiment_lines)]
    assert mine == ref
    # the pure-Python backend on every 4th line (it is ~2x slower; CI time)
    mine_py = [python.encode(t)[0] for t in sentiment_lines[::4]]
    assert mine_py == ref[::4]


def test_python_backend_matches_transformers_legacy_reference(sentiment_lines, vocab_path, python):
    from transformers.models.bert import BertTokenizerLegacy

    legacy = BertTokenizerLegacy(str(vocab_path))
    extra = ["Hello WORLD, Café naïve ＡＢＣ１２３ 　x\u200by", "\x00\ufffd控制\x07字符", "a" * 120]
    for text in sentiment_lines[::50] + extra:
        assert python.encode(text)[0] == legacy(text)["input_ids"], text


def test_pairs_and_segments_match_transformers(sentiment_lines, hf, fast, python):
    for a, b in zip(sentiment_lines[:200:2], sentiment_lines[1:200:2]):
        ref = hf(a, b)
        for tk in (fast, python):
            ids, segs = tk.encode(a, b)
            assert ids == ref["input_ids"] and segs == ref["token_type_ids"]


def test_encode_known_ids(fast, python):
    for tk in (fast, python):
        ids, segs = tk.encode("今天天气不错")
        assert ids == [101, 791, 1921, 1921, 3698, 679, 7231, 102] and segs == [0] * 8
        assert tk.tokenize("Hello！") == ["[CLS]", "hello", "！", "[SEP]"]


def test_truncation_is_longest_first_before_the_last_sep(fast):
    a, b = "一二三四五六七八九十", "甲乙丙"
    ids, segs = fast.encode(a, b, maxlen=10)
    toks = fast.ids_to_tokens(ids)
    assert len(ids) == 10 and segs == [0] * 6 + [1] * 4
    assert toks == ["[CLS]", "一", "二", "三", "四", "[SEP]", "甲", "乙", "丙", "[SEP]"]
    ids, segs = fast.encode(a, b, maxlen=6)
    # 12 + 4 tokens: the first loses 8 (to a tie at 4 + 4), then the first again (ties go to
    # the first segment), then the second
    assert fast.ids_to_tokens(ids) == ["[CLS]", "一", "[SEP]", "甲", "乙", "[SEP]"]
    assert fast.tokenize(a, maxlen=4) == ["[CLS]", "一", "二", "[SEP]"]
    assert fast.encode_batch([a], maxlen=4)[0][0] == fast.encode(a, maxlen=4)[0]
    with pytest.raises(ValueError, match="maxlen"):
        fast.encode(a, b, maxlen=2)
    assert truncate_sequences(3, -1, [1, 2, 3], [4, 5]) == [[1], [4, 5]]


def test_rematch_reproduces_the_original_characters(sentiment_lines, fast):
    texts = sentiment_lines[:300] + ["Café ＡＢＣ naïve\tÉCOLE，ok！", "ﬁ数据\x00 科学"]
    for text in texts:
        tokens = fast.tokenize(text)
        mapping = fast.rematch(text, tokens)
        assert len(mapping) == len(tokens)
        last = -1
        for tok, idx in zip(tokens, mapping):
            if tok in ("[CLS]", "[SEP]", "[UNK]"):
                assert idx == []
                continue
            stem = tok[2:] if tok.startswith("##") else tok
            assert idx and idx == sorted(idx) and idx[0] > last
            last = idx[-1]
            original = "".join(text[i] for i in dict.fromkeys(idx))
            normal = "".join(
                c for c in unicodedata.normalize("NFD", original.lower())
                if unicodedata.category(c) != "Mn"
            )
            assert normal == stem, (text, tok, original)


def test_decode(fast):
    text = "科学空间，欢迎你！"
    assert fast.decode(fast.encode(text)[0]) == text
    assert fast.decode(fast.encode("I like 科学 and unaffable words.")[0]) == (
        "i like科学and unaffable words."
    )
    with pytest.raises(ValueError, match="outside the vocab"):
        fast.decode([10**6])


def test_pre_tokenize_keeps_in_vocab_words(vocab_path):
    d = load_vocab(vocab_path)
    d = {**d, "科学空间": len(d)}
    d = {**d, "T恤": len(d)}
    tk = Tokenizer(d, pre_tokenize=lambda s: ["科学空间", "很", "Good", "T恤"])
    assert tk.tokenize("ignored") == ["[CLS]", "科学空间", "很", "good", "T恤", "[SEP]"]
    text = "科学空间很Good T恤"
    expected = [[], [0, 1, 2, 3], [4], [5, 6, 7, 8], [10, 11], []]
    assert tk.rematch(text, tk.tokenize(text)) == expected


def test_halfwidth_option(vocab_path):
    plain = Tokenizer(vocab_path)
    half = Tokenizer(vocab_path, halfwidth=True)
    text = "ＡＢＣ１２３，"
    assert half.tokenize(text) == plain.tokenize("ABC123,")
    assert half.rematch(text, half.tokenize(text))[1] == [0, 1, 2]


def test_bad_arguments(vocab_path, fast):
    with pytest.raises(ValueError, match="backend"):
        Tokenizer(vocab_path, backend="rust")
    with pytest.raises(ValueError, match="unk_token"):
        Tokenizer({"a": 0, "[CLS]": 1, "[SEP]": 2})
    with pytest.raises(ValueError, match="0..n-1"):
        Tokenizer({"[UNK]": 0, "[CLS]": 1, "[SEP]": 5})
    with pytest.raises(TypeError):
        Tokenizer(vocab_path, lowercase=True)
    with pytest.raises(TypeError, match="str"):
        fast.encode(b"bytes")


def test_cased_backends_agree(vocab_path, sentiment_lines):
    from transformers import BertTokenizer

    hf_cased = BertTokenizer(str(vocab_path), do_lower_case=False)
    fast = Tokenizer(vocab_path, do_lower_case=False, backend="fast")
    python = Tokenizer(vocab_path, do_lower_case=False, backend="python")
    texts = sentiment_lines[:200] + ["Hello WORLD Café", "ＡＢＣ abc"]
    ref = hf_cased(texts)["input_ids"]
    assert [fast.encode(t)[0] for t in texts] == ref
    assert [python.encode(t)[0] for t in texts] == ref
    assert python.tokenize("Hello")[1] == "[UNK]"  # the Chinese vocab is lower-case only


def test_fast_backend_never_changes_results(fast, python):
    """Rare characters HF tokenizers classifies differently (older Unicode tables, a CJK range
    starting at U+2B920) are routed to the Python path, so both backends agree everywhere."""
    points = list(range(0, 0x30000, 61)) + [0x7FD, 0x891, 0x2E44, 0x2B821, 0x2B8FF, 0x1734]
    texts = [f"a{chr(cp)}b {chr(cp)}ΟΔΟΣ" for cp in points if not 0xD800 <= cp <= 0xDFFF]
    fast_ids = [ids for ids, _ in fast.encode_batch(texts)]
    assert fast_ids == [python.encode(t)[0] for t in texts]
    assert [fast.encode(t)[0] for t in texts[-6:]] == fast_ids[-6:]
    assert chr(0x2B821) in fast._disagree  # the CJK-range difference is detected
    # the extension-E ideograph is split off like every CJK character (BERT's definition)
    assert fast.tokenize(f"a{chr(0x2B821)}b") == ["[CLS]", "a", "[UNK]", "b", "[SEP]"]
