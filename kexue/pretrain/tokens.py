"""Tokenise a corpus once into a compact on-disk token store read through memory maps.

Training on a 2-core machine must never wait for tokenisation, so the corpus is tokenised
once (jieba words, then the WordPiece tokenizer on each word) into a directory:

- ``ids.u16``: every token id of every line, concatenated (uint16: vocabularies < 65,536);
- ``words.u8``: 1 where a token starts a jieba word, 0 inside one (whole-word masking,
  RoBERTa-wwm style; WordPiece ``##`` pieces of a Latin word are inside their word);
- ``lines.i64``: token offset of each line (``n_lines + 1`` entries, the last = total);
- ``docs.i64``: index of each document's first line (``n_docs + 1`` entries);
- ``meta.json``: counts, the vocabulary size and SHA-256, the source files and their sizes.

Lines with no token (nothing the vocabulary knows) are dropped; every other line's tokens
are all kept. The directory is written atomically (``kexue.io.atomic.atomic_directory``).
"""

from __future__ import annotations

import hashlib
import json
import os
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kexue.io.atomic import atomic_directory
from kexue.pretrain.corpus import documents

__all__ = ["TokenStore", "build_token_store", "FORMAT_VERSION"]

FORMAT_VERSION = 1


def _sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _LineEncoder:
    """``line -> (ids, word_starts)`` with a per-word cache (words repeat, Zipf)."""

    def __init__(self, tokenizer, words: Callable[[str], Sequence[str]] | None) -> None:
        self.tokenizer = tokenizer
        self.words = words
        self.cache: dict[str, tuple[int, ...]] = {}

    def word_ids(self, word: str) -> tuple[int, ...]:
        ids = self.cache.get(word)
        if ids is None:
            tokens = self.tokenizer.tokenize(word)[1:-1]
            ids = tuple(self.tokenizer.tokens_to_ids(tokens))
            if len(self.cache) < 2_000_000:
                self.cache[word] = ids
        return ids

    def __call__(self, line: str) -> tuple[list[int], list[int]]:
        ids: list[int] = []
        starts: list[int] = []
        if self.words is None:  # every token is its own word (character masking)
            ids = list(self.word_ids(line)) if len(line) < 64 else list(
                self.tokenizer.tokens_to_ids(self.tokenizer.tokenize(line)[1:-1]))
            return ids, [1] * len(ids)
        for word in self.words(line):
            if not word.strip():
                continue
            w = self.word_ids(word)
            if w:
                ids.extend(w)
                starts.append(1)
                starts.extend([0] * (len(w) - 1))
        return ids, starts


def build_token_store(paths: Sequence[str | os.PathLike], tokenizer, out: str | os.PathLike,
                      *, whole_word: bool = True, overwrite: bool = False,
                      progress: bool = False) -> TokenStore:
    """Tokenise the documents of ``paths`` (see :func:`kexue.pretrain.corpus.documents`) into
    the token store directory ``out`` and open it.

    ``tokenizer`` is a :class:`kexue.text.Tokenizer`; ``whole_word`` cuts each line into
    jieba words first (HMM off, :class:`kexue.text.wobert.JiebaWords`) and marks where each
    word starts; without it every token is marked as a word start (character masking)."""
    vocab_size = tokenizer.vocab_size
    if vocab_size > 65536:
        raise ValueError(f"the vocabulary has {vocab_size} tokens: uint16 ids hold 65,536 at most")
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise ValueError("no corpus files given")
    for p in paths:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"corpus file {p!r} does not exist")
    words = None
    if whole_word:
        from kexue.text.wobert import JiebaWords

        words = JiebaWords()
    encode = _LineEncoder(tokenizer, words)
    ids = array("H")
    starts = array("B")
    lines = array("q", [0])
    docs = array("q", [0])
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(desc="tokenising", unit=" docs")
    for doc in documents(paths):
        n_before = len(lines)
        for line in doc:
            t, s = encode(line)
            if not t:
                continue
            ids.extend(t)
            starts.extend(s)
            lines.append(len(ids))
        if len(lines) > n_before:
            docs.append(len(lines) - 1)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    if len(docs) < 2:
        raise ValueError(f"the corpus {paths} holds no tokenisable text")
    token_dict = tokenizer.token_dict
    vocab_text = "\n".join(t for t, _ in sorted(token_dict.items(), key=lambda kv: kv[1]))
    meta = {
        "format": FORMAT_VERSION,
        "tokens": len(ids),
        "lines": len(lines) - 1,
        "documents": len(docs) - 1,
        "vocab_size": vocab_size,
        "vocab_sha256": hashlib.sha256(vocab_text.encode("utf-8")).hexdigest(),
        "whole_word": bool(whole_word),
        "sources": [{"path": os.path.abspath(p), "bytes": os.path.getsize(p),
                     "sha256": _sha256_file(p)} for p in paths],
    }
    with atomic_directory(out, overwrite=overwrite) as tmp:
        (tmp / "ids.u16").write_bytes(np.frombuffer(ids, dtype=np.uint16).astype("<u2").tobytes())
        (tmp / "words.u8").write_bytes(starts.tobytes())
        (tmp / "lines.i64").write_bytes(np.frombuffer(lines, np.int64).astype("<i8").tobytes())
        (tmp / "docs.i64").write_bytes(np.frombuffer(docs, np.int64).astype("<i8").tobytes())
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return TokenStore(out)


@dataclass
class TokenStore:
    """A token store directory opened read-only through memory maps.

    ``ids[lines[i]:lines[i+1]]`` are the tokens of line ``i``; document ``d`` holds lines
    ``docs[d]:docs[d+1]``; ``words[k] == 1`` where token ``k`` starts a word."""

    path: str | os.PathLike

    def __post_init__(self) -> None:
        root = Path(self.path)
        meta_path = root / "meta.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"{root} is not a token store (no meta.json)")
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if self.meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"token store {root} has format {self.meta.get('format')}, "
                             f"this kexue reads {FORMAT_VERSION}")
        self.ids = np.memmap(root / "ids.u16", dtype="<u2", mode="r")
        self.words = np.memmap(root / "words.u8", dtype=np.uint8, mode="r")
        self.lines = np.fromfile(root / "lines.i64", dtype="<i8")
        self.docs = np.fromfile(root / "docs.i64", dtype="<i8")
        n = self.meta["tokens"]
        if (len(self.ids) != n or len(self.words) != n or self.lines[-1] != n
                or len(self.lines) != self.meta["lines"] + 1
                or len(self.docs) != self.meta["documents"] + 1):
            raise ValueError(f"token store {root} is inconsistent with its meta.json "
                             f"(a file is truncated or from another build)")

    @property
    def n_docs(self) -> int:
        return len(self.docs) - 1

    @property
    def n_tokens(self) -> int:
        return int(self.lines[-1])

    def doc_lines(self, d: int) -> np.ndarray:
        """Token offsets of document ``d``'s lines: ``n + 1`` boundaries."""
        return self.lines[self.docs[d]:self.docs[d + 1] + 1]
