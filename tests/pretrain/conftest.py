"""Fixtures of the pretraining tests: a small slice of the real corpus, as gzip and plain
line files, its token store (jieba words), and the simplified Google vocabulary."""

from __future__ import annotations

import gzip
import itertools

import pytest

from kexue.pretrain.corpus import documents
from kexue.pretrain.run import SPECIALS
from kexue.pretrain.tokens import build_token_store
from tests.conftest import shared_data_path

N_DOCS = 24


@pytest.fixture(scope="session")
def vocab():
    from kexue.text import Tokenizer
    from kexue.text.vocab import load_vocab

    token_dict, _ = load_vocab(shared_data_path("vocab", "google_zh_vocab.txt"),
                               simplified=True, startswith=SPECIALS)
    return Tokenizer(token_dict), token_dict


@pytest.fixture(scope="session")
def corpus_files(tmp_path_factory):
    """Two files: the first half of the documents gzip-compressed, the rest plain; a few
    lines made longer than a 64-token budget by joining a document's lines."""
    src = shared_data_path("pretrain_zh", "valid.txt.gz")
    docs = list(itertools.islice(documents([src]), N_DOCS))
    docs[3] = ["".join(docs[3])]  # one very long line
    root = tmp_path_factory.mktemp("corpus")
    text = ["\n\n".join("\n".join(d) for d in part) + "\n"
            for part in (docs[:N_DOCS // 2], docs[N_DOCS // 2:])]
    with gzip.open(root / "a.txt.gz", "wt", encoding="utf-8") as f:
        f.write(text[0])
    (root / "b.txt").write_text(text[1], encoding="utf-8")
    return [root / "a.txt.gz", root / "b.txt"], docs


@pytest.fixture(scope="session")
def store(corpus_files, vocab, tmp_path_factory):
    files, _ = corpus_files
    return build_token_store(files, vocab[0], tmp_path_factory.mktemp("store") / "s")
