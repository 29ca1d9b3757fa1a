"""WoBERT: vocabulary, compound-token initialisation and the word tokenizer.

Every test runs on the tests' own ``fixtures/vocab.txt`` (450 tokens, 400 after the
simplification; 2,000 new jieba words, many of them single characters the small vocab lacks,
which exercises the [UNK] path) and again on the Google Chinese vocab (21,128 tokens, 13,585
after the simplification, 20,000 words: the article's setting) when ``../shared/data`` is present.
"""

from pathlib import Path
from types import SimpleNamespace

import pytest

from kexue.text import Tokenizer, build_wobert_vocab, load_vocab, wobert_tokenizer
from kexue.text.wobert import WOBERT_STARTSWITH, JiebaWords, jieba_word_frequencies

FIXTURE_VOCAB = Path(__file__).parent / "fixtures" / "vocab.txt"


@pytest.fixture(scope="module", params=["fixture", "google_zh"])
def case(request):
    """The vocab and what the article's numbers become for it."""
    if request.param == "fixture":
        return SimpleNamespace(path=FIXTURE_VOCAB, size=450, kept=400, num_words=2000,
                               shorter=0.9)  # measured 0.855
    from tests.conftest import shared_data_path

    path = shared_data_path("vocab", "google_zh_vocab.txt")
    return SimpleNamespace(path=path, size=21128, kept=13585, num_words=20000, shorter=0.8)


@pytest.fixture(scope="module")
def vocab_path(case):
    return case.path


@pytest.fixture(scope="module")
def jieba_freq():
    """jieba's bundled dictionary as ``{word: count}`` (loaded once: ~4 s)."""
    return jieba_word_frequencies()


@pytest.fixture(scope="module")
def wobert(case, jieba_freq):
    if case.path == FIXTURE_VOCAB:
        return build_wobert_vocab(case.path, num_words=case.num_words, word_freq=jieba_freq)
    return build_wobert_vocab(case.path, num_words=case.num_words)  # jieba's table by default


@pytest.fixture(scope="module")
def wtk(wobert):
    return wobert_tokenizer(wobert)


def test_vocab_size_is_simplified_plus_the_new_words(case, wobert):
    kept, n = case.kept, case.num_words
    assert len(load_vocab(case.path)) == case.size
    simple, keep = load_vocab(case.path, simplified=True, startswith=WOBERT_STARTSWITH)
    assert len(simple) == kept
    # the notes' derivation: 13,585 kept tokens + 20,000 new jieba words (article prints 33,586)
    assert len(wobert) == kept + n
    assert wobert.keep_tokens == keep
    assert list(wobert.token_dict.items())[:kept] == list(simple.items())
    assert len(wobert.words) == len(wobert.compound_tokens) == n
    assert sorted(wobert.token_dict.values()) == list(range(kept + n))
    assert all(wobert.token_dict[w] == kept + j for j, w in enumerate(wobert.words))


def test_words_are_jiebas_most_frequent_new_words(case, wobert, jieba_freq):
    freq = jieba_freq
    words = wobert.words
    assert len(set(words)) == len(words)
    assert all(w not in wobert.token_dict or wobert.token_dict[w] >= case.kept for w in words)
    counts = [freq[w] for w in words]
    assert counts == sorted(counts, reverse=True)
    # nothing more frequent than the last chosen word was skipped unless it was already a token
    cutoff = counts[-1]
    chosen = set(words)
    skipped = [w for w, c in freq.items() if c > cutoff and w not in chosen]
    assert all(wobert.token_dict.get(w, 10**9) < case.kept for w in skipped)
    assert words[:3] == ["一个", "中国", "我们"]


def test_compound_tokens_are_original_ids_of_the_characters(vocab_path, wobert):
    full = load_vocab(vocab_path)
    old_token = {i: t for t, i in full.items()}
    plain = Tokenizer(vocab_path)
    unk = full["[UNK]"]
    kept_rows = set(wobert.keep_tokens)
    for w, ids in zip(wobert.words, wobert.compound_tokens):
        assert ids and all(0 <= i < len(full) for i in ids)
        # ids into the ORIGINAL vocab: identical to the plain tokenizer of the full vocab
        assert ids == plain.encode(w)[0][1:-1]
        assert set(ids) <= kept_rows  # the rows they average are kept rows too
        if unk not in ids:
            joined = "".join(old_token[i].removeprefix("##") for i in ids)
            assert joined == w.lower()
        else:
            assert w in wobert.unk_words
    j = wobert.words.index("中国")
    assert wobert.compound_tokens[j] == [full["中"], full["国"]]


def test_mean_initialisation_through_ids(case, wobert):
    """What a model does with (keep_tokens, compound_tokens): check it on a float64 table."""
    import numpy as np

    rng = np.random.default_rng(0)
    emb = rng.standard_normal((case.size, 8))
    new = np.concatenate([emb[wobert.keep_tokens]] + [
        emb[ids].mean(0, keepdims=True) for ids in wobert.compound_tokens
    ])
    assert new.shape == (case.kept + case.num_words, 8)
    j = wobert.token_dict["我们"]
    ids = wobert.compound_tokens[j - case.kept]
    np.testing.assert_allclose(new[j], (emb[ids[0]] + emb[ids[1]]) / 2, rtol=0, atol=1e-15)


def test_deterministic_with_ties(vocab_path):
    freq = {"科学空间": 5, "苏剑林": 5, "中": 9, "新词": 5, "旧词": 1}
    a = build_wobert_vocab(vocab_path, num_words=3, word_freq=freq)
    assert a.words == ["科学空间", "苏剑林", "新词"]  # 中 is already a token; ties keep order
    with pytest.raises(ValueError, match="fewer than num_words"):
        build_wobert_vocab(vocab_path, num_words=5, word_freq=freq)
    with pytest.raises(ValueError, match="whitespace"):
        build_wobert_vocab(vocab_path, num_words=1, word_freq={"a b": 3})


def test_word_tokenizer(wobert, wtk):
    tk = wtk
    tokens = tk.tokenize("我们一起去公园散步吧")
    assert "我们" in tokens and "公园" in tokens
    # an out-of-vocab jieba word falls back to characters
    jw = tk._pre_tokenize
    assert isinstance(jw, JiebaWords)
    words = jw("科学空间的苏剑林")
    assert words == list(jw._get().cut("科学空间的苏剑林", HMM=False))
    toks = tk.tokenize("苏剑林")[1:-1]
    assert "".join(toks) == "苏剑林" and all(t in wobert.token_dict for t in toks)
    # unknown characters become [UNK] as in BERT
    assert tk.tokenize("\U0001F9FF")[1:-1] == ["[UNK]"]
    with pytest.raises(TypeError):
        jw(123)


def test_word_tokenizer_shortens_real_text(case, wtk, vocab_path):
    """The speed argument of 7758: fewer tokens per sentence (a length ratio, not a timing);
    on the fixture's review-like texts, or on 300 sentiment reviews with the Google vocab."""
    if vocab_path == FIXTURE_VOCAB:
        from tests.text.test_tokenizer import FIXTURE_TEXTS

        texts = FIXTURE_TEXTS[:12]  # the Chinese reviews
    else:
        from tests.conftest import shared_data_path

        path = shared_data_path("sentiment", "sentiment.valid.data")
        with open(path, encoding="utf-8") as f:
            texts = [line.rsplit("\t", 1)[0] for line in f][:300]
    chars = Tokenizer(vocab_path)
    words = wtk
    n_char = sum(len(chars.tokenize(t)) for t in texts)
    n_word = sum(len(words.tokenize(t)) for t in texts)
    assert n_word < case.shorter * n_char
