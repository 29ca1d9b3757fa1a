"""WoBERT: word-level Chinese BERT vocabulary, tokenizer and new-word embedding initialisation.

WoBERT (https://kexue.fm/archives/7758, repo ZhuiyiTechnology/WoBERT) continues a character
BERT with a vocabulary of characters *and* frequent words:

1. vocab = the simplified Chinese BERT vocab (``load_vocab(simplified=True)`` with ``[PAD] [UNK]
   [CLS] [SEP] [MASK]`` first; 13,585 tokens from the 21,128 Google vocab) followed by the
   ``num_words`` (20,000) most frequent jieba dictionary words not already in it, in decreasing
   frequency (ties in dictionary order; Python's sort is stable). Size 13,585 + 20,000 = 33,585
   (the article prints 33,586; the notes attribute the ±1 to ``unicodedata`` drift between
   Python 2 and 3);
2. tokenizer = ``jieba.cut(text, HMM=False)`` as ``pre_tokenize``: a word in the vocab is one
   token, any other word falls back to the character / WordPiece tokenizer;
3. each new word's embedding row = the mean of its characters' rows,
   ``E[new] = (1/k) Σ_i E[old_i]`` (and the tied MLM output row likewise). ``compound_tokens``
   lists those ``old_i`` as ids into the ORIGINAL vocab, matching
   ``kexue.models.build_transformer_model(..., keep_tokens=..., compound_tokens=...)``, which
   appends one row per entry after the ``keep_tokens`` rows. The pieces come from
   :func:`kexue.text.vocab_carry.token_pieces`, which also serves any new vocabulary
   (:func:`kexue.text.vocab_carry.carry_over`, domain pretraining).

Pitfall: a new word whose characters include one missing from the vocab averages the ``[UNK]`` row
(the reference does the same); ``WoBERTVocab.unk_words`` lists such words.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kexue.text.tokenizer import Tokenizer
from kexue.text.vocab import load_vocab, save_vocab
from kexue.text.vocab_carry import token_pieces

__all__ = [
    "WOBERT_STARTSWITH",
    "WoBERTVocab",
    "JiebaWords",
    "jieba_word_frequencies",
    "build_wobert_vocab",
    "wobert_tokenizer",
]

WOBERT_STARTSWITH: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def _jieba_tokenizer(dictionary: str | os.PathLike | None = None):
    """A fresh ``jieba.Tokenizer`` (own dictionary, logging silenced), initialised."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer() if dictionary is None else jieba.Tokenizer(os.fspath(dictionary))
    tk.initialize()
    return tk


class JiebaWords:
    """``text -> list of words`` with jieba, HMM off (the WoBERT pre-tokenizer).

    ``dictionary``: a jieba dictionary file (``word [count [tag]]`` per line, such as the
    lexicon ``kexue words`` writes); default jieba's bundled dictionary. Each instance owns its
    own ``jieba.Tokenizer`` so dictionaries never leak between instances.
    """

    def __init__(self, dictionary: str | os.PathLike | None = None) -> None:
        self.dictionary = None if dictionary is None else os.fspath(dictionary)
        self._tk = None

    def _get(self):
        if self._tk is None:
            self._tk = _jieba_tokenizer(self.dictionary)
        return self._tk

    def __call__(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"text must be str, got {type(text).__name__}")
        return list(self._get().cut(text, HMM=False))

    def __getstate__(self):
        return {"dictionary": self.dictionary, "_tk": None}


def jieba_word_frequencies(dictionary: str | os.PathLike | None = None) -> dict[str, int]:
    """The ``{word: count}`` table of a jieba dictionary (prefix entries with count 0 removed)."""
    tk = _jieba_tokenizer(dictionary)
    return {w: int(f) for w, f in tk.FREQ.items() if f > 0}


@dataclass
class WoBERTVocab:
    """The WoBERT vocabulary and what a model needs to initialise its embedding.

    - ``token_dict``: ``{token: new_id}``; ids ``0..len(keep_tokens)-1`` are kept old tokens,
      the rest are ``words`` in order;
    - ``keep_tokens[new_id] = old_id`` for the kept tokens;
    - ``compound_tokens[j]``: ORIGINAL-vocab ids whose mean initialises ``words[j]``
      (new id ``len(keep_tokens) + j``);
    - ``unk_words``: new words whose characters include ``[UNK]``.
    """

    token_dict: dict[str, int]
    keep_tokens: list[int]
    words: list[str]
    compound_tokens: list[list[int]]
    unk_words: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.token_dict)

    def save(self, path: str | os.PathLike) -> None:
        """Write ``vocab.txt`` (one token a line, in id order)."""
        save_vocab(path, self.token_dict)


def build_wobert_vocab(
    vocab_path: str | os.PathLike,
    num_words: int = 20000,
    word_freq: Mapping[str, float] | None = None,
    startswith: Sequence[str] = WOBERT_STARTSWITH,
) -> WoBERTVocab:
    """Build the WoBERT vocabulary from a Chinese BERT ``vocab.txt`` (archives/7758).

    ``word_freq`` defaults to jieba 0.42.1's bundled dictionary. The ``num_words`` most frequent
    words (stable order on ties) that are not already tokens are appended; each is tokenised
    with the plain character tokenizer of the simplified vocab and its pieces are mapped back to
    original ids through ``keep_tokens``.
    """
    if not isinstance(num_words, int) or num_words < 0:
        raise ValueError(f"num_words must be a non-negative int, got {num_words!r}")
    token_dict, keep_tokens = load_vocab(vocab_path, simplified=True, startswith=startswith)
    if word_freq is None:
        word_freq = jieba_word_frequencies()
    plain = Tokenizer(dict(token_dict), do_lower_case=True)
    unk_id = token_dict[plain.unk_token]
    words: list[str] = []
    compounds: list[list[int]] = []
    unk_words: list[str] = []
    for w, _ in sorted(word_freq.items(), key=lambda kv: -kv[1]):
        if len(words) == num_words:
            break
        if not isinstance(w, str) or w == "" or w in token_dict:
            continue
        if any(c.isspace() for c in w):
            raise ValueError(f"word {w!r} contains whitespace; it cannot be a vocab token")
        pieces = token_pieces(plain, w)
        if not pieces:
            raise ValueError(f"word {w!r} tokenizes to nothing; cannot initialise its embedding")
        if unk_id in pieces:
            unk_words.append(w)
        token_dict[w] = len(token_dict)
        words.append(w)
        compounds.append([keep_tokens[i] for i in pieces])
    if len(words) < num_words:
        raise ValueError(
            f"only {len(words)} new words available, fewer than num_words={num_words}"
        )
    return WoBERTVocab(token_dict, keep_tokens, words, compounds, unk_words)


def wobert_tokenizer(
    vocab: WoBERTVocab | Mapping[str, int] | str | os.PathLike,
    dictionary: str | os.PathLike | None = None,
) -> Tokenizer:
    """The WoBERT tokenizer: jieba (HMM off) words, in-vocab words whole, others by character."""
    if isinstance(vocab, WoBERTVocab):
        vocab = vocab.token_dict
    if isinstance(vocab, Mapping):
        vocab = dict(vocab)
    return Tokenizer(vocab, do_lower_case=True, pre_tokenize=JiebaWords(dictionary))
