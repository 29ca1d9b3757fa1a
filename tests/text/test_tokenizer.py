"""The BERT tokenizer (fast and Python backends) against transformers and its own contracts.

Every test runs on ``fixtures/vocab.txt``, a 450-token vocabulary shipped with the tests
([PAD] [UNK] [CLS] [SEP] [MASK], two [unused] slots, ASCII and Chinese punctuation, digits,
letters, a few English words and ``##`` pieces, 245 common Chinese characters, and 46 tokens the
bert4keras simplification drops: ``##`` + a Chinese character, multi-character punctuation), on
the texts of ``FIXTURE_TEXTS``; and again on the 21,128-token Google Chinese vocab with the
sentiment corpus when ``../shared/data`` is present (those ``[google_zh]`` cases skip without it).
"""

import unicodedata
from pathlib import Path

import pytest

from kexue.text import Tokenizer, load_vocab, truncate_sequences

FIXTURE_VOCAB = Path(__file__).parent / "fixtures" / "vocab.txt"

# Hotel-review-like Chinese (the sentiment corpus' domain), characters missing from the fixture
# vocab ([UNK]), English words that split into pieces, accents, full-width forms, control and
# zero-width characters, emoji, digits and very long runs.
FIXTURE_TEXTS = [
    "今天天气不错",
    "酒店的位置很好，交通方便，房间干净，服务也不错！",
    "早餐一般，价格太贵了，下次不会再来住。",
    "隔音比较差，晚上很吵，空调也不好用。",
    "总体感觉还可以，值得推荐",
    "前台服务非常热情，卫生间有热水，床很舒适。",
    "设施有点旧，电视不能看，wifi很慢……",
    "位置在市中心，去公园散步很方便",
    "房间比图片上的小，性价比不高",
    "科学空间，欢迎你！",
    "苏剑林的博客：科学空间",
    "我们一起去公园散步吧",
    "2008年住过一次，10月又来了",
    "Hello WORLD, Café naïve ＡＢＣ１２３ 　x\u200by",
    "I like the hotel and the room is very nice!",
    "not bad, ok...",
    "unaffable words, likely liked",
    "\x00\ufffd控制\x07字符",
    "emoji 😀 与 繁體字 混合",
    "ＡＢＣ，ａｂｃ；（全角）",
    "“引号”和‘单引号’《书名》——破折号",
    "a" * 120,
    "很" * 50,
    "Ecole ÉCOLE école",
    "",  # at an even index: transformers drops an empty *second* text (a falsy text_pair),
    "tab\tnew\nline\r\nend",  # where kexue keeps its [SEP] as bert4keras does
    "   ",
    "中a文b混c排",
    "数据123abc数据",
    "！？。，、：；",
]


@pytest.fixture(scope="module", params=["fixture", "google_zh"])
def vocab_path(request):
    if request.param == "fixture":
        return FIXTURE_VOCAB
    from tests.conftest import shared_data_path

    return shared_data_path("vocab", "google_zh_vocab.txt")


@pytest.fixture(scope="module")
def sentiment_lines(vocab_path):
    """The texts checked with each vocab: FIXTURE_TEXTS, or the whole sentiment corpus."""
    if vocab_path == FIXTURE_VOCAB:
        return FIXTURE_TEXTS
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


def test_parity_with_transformers_on_every_sentiment_line(vocab_path, sentiment_lines, hf, fast,
                                                          python):
    if vocab_path != FIXTURE_VOCAB:
        assert len(sentiment_lines) == 16883 + 2111 + 2111
    ref = hf(sentiment_lines)["input_ids"]
    mine = [ids for ids, _ in fast.encode_batch(sentiment_lines)]
    assert mine == ref
    # the pure-Python backend on every 4th line (it is ~2x slower; CI time); every line of the
    # fixture texts
    step = 1 if vocab_path == FIXTURE_VOCAB else 4
    mine_py = [python.encode(t)[0] for t in sentiment_lines[::step]]
    assert mine_py == ref[::step]
    unk = load_vocab(vocab_path)["[UNK]"]
    assert any(unk in ids for ids in ref)  # the unknown-token path is exercised


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


def test_encode_known_ids(vocab_path, fast, python):
    d = load_vocab(vocab_path)
    want = [d[t] for t in ["[CLS]", "今", "天", "天", "气", "不", "错", "[SEP]"]]
    if vocab_path != FIXTURE_VOCAB:
        assert want == [101, 791, 1921, 1921, 3698, 679, 7231, 102]
    else:
        assert want == [4, 319, 274, 274, 320, 165, 321, 5]  # line numbers - 1 in the file
    for tk in (fast, python):
        ids, segs = tk.encode("今天天气不错")
        assert ids == want and segs == [0] * 8
        assert tk.tokenize("Hello！") == ["[CLS]", "hello", "！", "[SEP]"]
        if vocab_path == FIXTURE_VOCAB:  # greedy longest-match WordPiece
            assert tk.tokenize("unaffable") == ["[CLS]", "un", "##aff", "##able", "[SEP]"]
            assert tk.tokenize("likely 繁") == ["[CLS]", "like", "##ly", "[UNK]", "[SEP]"]


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
