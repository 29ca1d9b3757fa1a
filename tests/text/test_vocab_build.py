"""kexue.text.vocab_build: character vocabularies by frequency, WordPiece by HF tokenizers."""

from __future__ import annotations

import gzip

import pytest

from kexue.text import Tokenizer
from kexue.text.vocab import load_vocab, simplify_vocab
from kexue.text.vocab_build import SPECIALS, build_vocab, char_vocab, count_words, wordpiece_vocab

# words the tokenizer sees: 天 天 向 上 ， go go ! | 天 气 golang
SMALL = ["天天向上，Go go!\n", "\n", "天气 golang\n"]
# units: 天 3, g 3, ##o 3; once each: ! ##a ##g ##l ##n 上 向 气 ，  (ties by code point)
SMALL_ORDER = ["##o", "g", "天", "!", "##a", "##g", "##l", "##n", "上", "向", "气", "，"]

MIXED = [
    "深度学习模型在 deep learning 任务上表现很好，training 需要 GPU。",
    "我们用 transformers 和 tokenizers 训练了一个 learning rate 为 0.001 的模型。",
    "Deep networks learn representations; 学习率 warmup 很重要。",
    "BERT 和 RoBERTa 都是 pretrained 模型，fine-tuning 之后效果更好。",
    "数据集 covid19 包含 2020 年的 5000 条 tweets 和 retweets。",
] * 4


def test_count_words_follows_the_tokenizer():
    words = count_words(SMALL)
    assert words == {"天": 3, "向": 1, "上": 1, "，": 1, "go": 2, "!": 1, "气": 1, "golang": 1}
    assert count_words(["Café"]) == {"cafe": 1}  # lower-cased, accents stripped
    assert count_words(["Café"], do_lower_case=False) == {"Café": 1}


def test_basic_tokenize_is_the_same_on_both_backends():
    specials = {t: i for i, t in enumerate(SPECIALS)}
    rare = "\U0002b820\u0e33"  # characters HF tokenizers classifies differently
    for text in [*MIXED, "Ünïcode 中文 " + rare + "abc"]:
        fast = Tokenizer(specials).basic_tokenize(text)
        assert fast == Tokenizer(specials, backend="python").basic_tokenize(text)


def test_char_vocab_counts_and_order():
    v = char_vocab(count_words(SMALL))
    assert v.tokens == [*SPECIALS, *SMALL_ORDER]
    assert v.units == 12 and v.coverage == 1.0 and v.words == 11
    v2 = char_vocab(count_words(SMALL), min_count=2)
    assert v2.tokens == [*SPECIALS, "##o", "g", "天"]
    assert v2.coverage == pytest.approx(9 / 18)
    v3 = char_vocab(count_words(SMALL), size=7)  # size counts the specials
    assert v3.tokens == [*SPECIALS, "##o", "g"]


def test_char_vocab_covers_its_corpus_and_survives_simplification():
    v = char_vocab(count_words(MIXED))
    token_dict = {t: i for i, t in enumerate(v.tokens)}
    for backend in ("auto", "python"):
        tok = Tokenizer(token_dict, backend=backend)
        for line in MIXED:
            assert "[UNK]" not in tok.tokenize(line), line
    assert max(len(t.removeprefix("##")) for t in v.tokens[len(SPECIALS):]) == 1
    simple, keep = simplify_vocab(token_dict, startswith=SPECIALS)
    assert simple == token_dict and keep == list(range(len(token_dict)))


def test_wordpiece_vocab_tokenises_its_corpus_without_unk():
    words = count_words(MIXED)
    v = wordpiece_vocab(words, size=200, min_count=2)
    assert v.tokens[:len(SPECIALS)] == list(SPECIALS) and len(set(v.tokens)) == len(v)
    assert any(len(t.removeprefix("##")) > 3 for t in v.tokens), "no merge was learned"
    assert len(v) <= 200
    token_dict = {t: i for i, t in enumerate(v.tokens)}
    for backend in ("auto", "python"):
        tok = Tokenizer(token_dict, backend=backend)
        for line in MIXED:
            assert "[UNK]" not in tok.tokenize(line), line


def test_wordpiece_keeps_the_whole_alphabet_beyond_size():
    words = count_words(MIXED)
    v = wordpiece_vocab(words, size=len(SPECIALS) + 1, min_count=2)
    vocab = set(v.tokens)
    for w in words:  # every character of the corpus, and its ## form where it continues a word
        assert w[0] in vocab and all("##" + c in vocab for c in w[1:]), w
    tok = Tokenizer({t: i for i, t in enumerate(v.tokens)})
    assert all("[UNK]" not in tok.tokenize(line) for line in MIXED)


def test_build_vocab_reads_compressed_files(tmp_path):
    a = tmp_path / "a.txt.gz"
    with gzip.open(a, "wt", encoding="utf-8") as f:
        f.write(SMALL[0])
    b = tmp_path / "b.txt"
    b.write_text("".join(SMALL[1:]), encoding="utf-8")
    v = build_vocab([a, b], "char", min_count=1)
    assert v.tokens == [*SPECIALS, *SMALL_ORDER]
    v.save(tmp_path / "vocab.txt")
    assert load_vocab(tmp_path / "vocab.txt") == {t: i for i, t in enumerate(v.tokens)}


def test_build_vocab_errors(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("天气\n", encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_bytes("天气\n".encode() + b"\xff\xfe\n")
    with pytest.raises(ValueError, match=r"bad\.txt: line 2 is not valid UTF-8"):
        build_vocab([good, bad], "char")
    with pytest.raises(FileNotFoundError, match="missing"):
        build_vocab([good, tmp_path / "missing.txt"], "char")
    with pytest.raises(ValueError, match="kind must be one of"):
        build_vocab([good], "bpe")
    with pytest.raises(ValueError, match="needs a size"):
        build_vocab([good], "wordpiece")
    with pytest.raises(ValueError, match="size must be"):
        build_vocab([good], "char", size=3)
    with pytest.raises(ValueError, match="min_count"):
        build_vocab([good], "char", min_count=0)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n", encoding="utf-8")
    with pytest.raises(ValueError, match="holds no text"):
        build_vocab([empty], "char")


def test_wordpiece_without_hf_tokenizers_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tokenizers", None)  # as if it were not installed
    words = count_words(SMALL)  # the character path needs nothing beyond the standard library
    assert char_vocab(words).tokens == [*SPECIALS, *SMALL_ORDER]
    with pytest.raises(ImportError, match=r"pip install 'kexue\[text\]'"):
        wordpiece_vocab(words, size=50)
