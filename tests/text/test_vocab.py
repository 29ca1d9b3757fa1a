import pytest

from kexue.text import load_vocab, save_vocab, simplify_vocab
from kexue.text.vocab import is_redundant

FIVE = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@pytest.fixture
def google_vocab(shared_data):
    return shared_data("vocab", "google_zh_vocab.txt")


def test_google_vocab_sizes(google_vocab):
    full = load_vocab(google_vocab)
    assert len(full) == 21128
    assert full["[PAD]"] == 0 and full["[MASK]"] == 103
    assert "\u2028" in full and "##\u2028" in full  # split on \n only, never splitlines()
    simple, keep = load_vocab(google_vocab, simplified=True)
    assert len(simple) == len(keep) == 13584
    with_mask, keep5 = load_vocab(google_vocab, simplified=True, startswith=FIVE)
    assert len(with_mask) == 13585
    assert [t for t, _ in sorted(with_mask.items(), key=lambda kv: kv[1])][:5] == FIVE


def test_keep_tokens_index_the_original_rows(google_vocab):
    full = load_vocab(google_vocab)
    old_token = {i: t for t, i in full.items()}
    simple, keep = load_vocab(google_vocab, simplified=True, startswith=FIVE)
    for t, new_id in simple.items():
        assert old_token[keep[new_id]] == t
    assert len(set(keep)) == len(keep)
    # what was dropped is exactly the redundant set
    dropped = set(full) - set(simple)
    assert dropped and all(is_redundant(t) for t in dropped)
    assert not any(is_redundant(t) for t in simple if t not in FIVE)
    # non-special kept tokens stay in the original order
    rest = keep[5:]
    assert rest == sorted(rest)


def test_redundancy_rule():
    assert is_redundant("中国") and is_redundant("##国") and is_redundant("a,")
    assert is_redundant("[PAD]")  # brackets are punctuation: only startswith keeps specials
    assert not is_redundant("中") and not is_redundant("##ab") and not is_redundant("hello")
    assert not is_redundant("##")  # a length-2 token whose stem is empty


def test_bad_vocab_files(tmp_path):
    dup = tmp_path / "dup.txt"
    dup.write_text("[PAD]\n[UNK]\na\nb\na\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"'a' on line 5 duplicates line 3"):
        load_vocab(dup)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"[PAD]\n\xff\xfe\n")
    with pytest.raises(ValueError, match="line 2 is not valid UTF-8"):
        load_vocab(bad)
    empty_line = tmp_path / "gap.txt"
    empty_line.write_text("[PAD]\n\nx\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2 is empty"):
        load_vocab(empty_line)
    nothing = tmp_path / "nothing.txt"
    nothing.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        load_vocab(nothing)
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(b"[PAD]\r\n[UNK]\r\n")
    assert load_vocab(crlf) == {"[PAD]": 0, "[UNK]": 1}


def test_argument_errors(tmp_path):
    v = tmp_path / "v.txt"
    v.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n中\n中国\n", encoding="utf-8")
    with pytest.raises(TypeError, match="startswith"):
        load_vocab(v, startswith=["[PAD]"])
    with pytest.raises(ValueError, match="not in the vocab"):
        load_vocab(v, simplified=True, startswith=["[MASK]"])
    d, keep = load_vocab(v, simplified=True)
    assert d == {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "中": 4}
    assert keep == [0, 1, 2, 3, 4]
    d2, keep2 = simplify_vocab({"b": 0, "[UNK]": 1, "ab": 2}, startswith=["[UNK]"])
    assert d2 == {"[UNK]": 0, "b": 1, "ab": 2} and keep2 == [1, 0, 2]


def test_save_roundtrip(tmp_path, google_vocab):
    simple, _ = load_vocab(google_vocab, simplified=True)
    out = tmp_path / "vocab.txt"
    save_vocab(out, simple)
    assert load_vocab(out) == simple
    with pytest.raises(ValueError, match="duplicate"):
        save_vocab(out, ["a", "a"])
    with pytest.raises(ValueError, match="one a line"):
        save_vocab(out, ["a", "b\nc"])
