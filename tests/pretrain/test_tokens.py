"""The corpus reader and the token store."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from kexue.pretrain.corpus import documents, read_lines
from kexue.pretrain.tokens import TokenStore, build_token_store


def test_read_lines_gzip_by_content_and_documents(tmp_path):
    text = "甲\n乙\n\n丙\r\n\n\n丁\n"
    (tmp_path / "p.txt").write_text(text, encoding="utf-8")
    with gzip.open(tmp_path / "g.data", "wt", encoding="utf-8") as f:  # no .gz suffix
        f.write(text)
    assert list(read_lines(tmp_path / "p.txt")) == list(read_lines(tmp_path / "g.data"))
    assert list(documents([tmp_path / "p.txt", tmp_path / "g.data"])) == [
        ["甲", "乙"], ["丙"], ["丁"], ["甲", "乙"], ["丙"], ["丁"]]


def test_store_holds_every_line_and_word_starts(store, corpus_files, vocab):
    tokenizer, _ = vocab
    _, docs = corpus_files
    assert store.n_docs == len(docs)
    lines = [line for d in docs for line in d]
    assert store.meta["lines"] == len(lines)
    for i in (0, 1, 7, len(lines) // 2, len(lines) - 1):
        a, b = store.lines[i], store.lines[i + 1]
        expect = tokenizer.tokens_to_ids(tokenizer.tokenize(lines[i])[1:-1])
        assert list(store.ids[a:b]) == expect
    for d in range(store.n_docs):  # documents hold their own lines
        assert store.docs[d + 1] - store.docs[d] == len(docs[d])
    assert store.words[store.lines[:-1]].all()  # each line starts a word
    assert store.ids.dtype == np.dtype("<u2")


def test_store_refuses_damage_and_overwrite(store, corpus_files, vocab, tmp_path):
    small = tmp_path / "small.txt"
    small.write_text("今天天气不错。\n我们去公园。\n\nabc 123 世界\n", encoding="utf-8")
    out = tmp_path / "s"
    build_token_store([small], vocab[0], out, whole_word=False)
    assert TokenStore(out).words.all()  # character masking: every token is a unit
    with pytest.raises(FileExistsError):
        build_token_store([small], vocab[0], out)
    data = (out / "ids.u16").read_bytes()
    (out / "ids.u16").write_bytes(data[:-2])
    with pytest.raises(ValueError, match="inconsistent"):
        TokenStore(out)
    with pytest.raises(FileNotFoundError):
        build_token_store([tmp_path / "missing.txt"], vocab[0], tmp_path / "x")
