"""Build a vocabulary for a new corpus: characters by frequency, or WordPiece.

Domain pretraining starts here: a corpus whose characters or terms the checkpoint's vocabulary
lacks gets its own ``vocab.txt``, and :mod:`kexue.text.vocab_carry` then carries the
checkpoint's embedding rows over to it (``keep_tokens`` / ``compound_tokens``, as WoBERT did,
https://kexue.fm/archives/7758). ``kexue vocab build`` is the command.

Both kinds count the words kexue's :class:`~kexue.text.Tokenizer` will see
(:meth:`~kexue.text.Tokenizer.basic_tokenize`: control characters dropped, lower-cased with
accents stripped, every CJK ideograph and every punctuation character a word of its own, the
rest split on whitespace), so the vocabulary holds exactly the pieces that tokenizer asks for.
The vocabulary starts with the special tokens (default ``[PAD] [UNK] [CLS] [SEP] [MASK]``, so
``[PAD]`` is id 0 as kexue's padding expects).

- ``kind="char"`` (character models, like the single characters of bert4keras's simplified
  Google vocabulary): a unit is the first character ``c`` of a word, or ``##c`` for a
  character that continues a word, which only happens inside runs of letters, digits and other
  non-CJK symbols (``covid19`` → ``c ##o ##v ##i ##d ##1 ##9``; lower-case Latin only). No
  ``##`` + CJK or punctuation unit can occur, so bert4keras's simplification keeps the whole
  vocabulary (:func:`kexue.text.vocab.simplify_vocab` drops nothing). Units seen at least
  ``min_count`` times, most frequent first (ties by code point), fill the vocabulary up to
  ``size`` tokens in all (specials included). A dropped character becomes ``[UNK]``; a Latin
  word with a dropped unit becomes one ``[UNK]`` (WordPiece cannot cover it).
- ``kind="wordpiece"`` (mixed text): the WordPiece trainer of HF ``tokenizers`` (Apache-2.0;
  the optional ``text`` extra, which also gives kexue's tokenizer its fast backend), trained
  on the same words. The vocabulary is the specials, the trainer's alphabet (every character
  of the corpus, and its ``##`` form where it continues a word: kept whole even when that alone
  exceeds ``size``, so no character of the corpus is ``[UNK]``), then the trainer's merges
  (pairs seen at least ``min_count`` times) up to ``size`` tokens. Every word of the corpus is
  covered: the tokenizer emits no ``[UNK]`` on it, except for words over 100 characters, which
  BERT's WordPiece maps to ``[UNK]`` whatever the vocabulary.

Both tokenise with ``do_lower_case=True``, the setting of Chinese BERT and of ``kexue
pretrain``'s tokenizer. Corpora are line files read through :mod:`kexue.io.lines` (plain or
compressed, by content), as strict UTF-8.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from kexue.text.tokenizer import Tokenizer
from kexue.text.vocab import save_vocab

__all__ = ["SPECIALS", "KINDS", "VocabBuild", "count_words", "char_vocab", "wordpiece_vocab",
           "build_vocab"]

SPECIALS: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
KINDS = ("char", "wordpiece")
_FEED_CHARS = 1 << 20  # characters per string handed to the WordPiece trainer


@dataclass
class VocabBuild:
    """A built vocabulary and what it covers.

    ``tokens`` in id order; ``units``: distinct units of the corpus (char: characters and
    ``##`` continuations; wordpiece: the trainer's alphabet); ``coverage``: the share of unit
    occurrences the vocabulary holds (char; 1.0 for wordpiece); ``words``: word occurrences
    counted."""

    tokens: list[str]
    kind: str
    units: int
    coverage: float
    words: int

    def __len__(self) -> int:
        return len(self.tokens)

    def save(self, path: str | os.PathLike) -> None:
        """Write ``vocab.txt`` (one token a line, atomically)."""
        save_vocab(path, self.tokens)


def _splitter(do_lower_case: bool) -> Tokenizer:
    return Tokenizer({t: i for i, t in enumerate(("[PAD]", "[UNK]", "[CLS]", "[SEP]"))},
                     do_lower_case=do_lower_case)


def count_words(lines: Iterable[str], *, do_lower_case: bool = True,
                progress: bool = False) -> Counter[str]:
    """``{word: occurrences}`` of the words the tokenizer sees in ``lines``."""
    split = _splitter(do_lower_case)
    counts: Counter[str] = Counter()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(desc="counting", unit=" lines", unit_scale=True)
    block: list[str] = []
    size = 0
    for line in lines:
        block.append(line)
        size += len(line)
        if size >= 1 << 16:  # a block per call: fewer round trips to the fast backend
            counts.update(split.basic_tokenize("\n".join(block)))
            if bar is not None:
                bar.update(len(block))
            block, size = [], 0
    if block:
        counts.update(split.basic_tokenize("\n".join(block)))
        if bar is not None:
            bar.update(len(block))
    if bar is not None:
        bar.close()
    return counts


def _check(specials: Sequence[str], size: int | None, min_count: int) -> None:
    if not specials or len(set(specials)) != len(specials) or "[UNK]" not in specials:
        raise ValueError(f"specials must be distinct and hold [UNK], got {list(specials)}")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int)
                             or size <= len(specials)):
        raise ValueError(f"size must be an int above the {len(specials)} special tokens, "
                         f"got {size!r}")
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count must be an int >= 1, got {min_count!r}")


def _char_units(words: Mapping[str, int]) -> Counter[str]:
    units: Counter[str] = Counter()
    for word, n in words.items():
        units[word[0]] += n
        for c in word[1:]:
            units["##" + c] += n
    return units


def char_vocab(words: Mapping[str, int], *, size: int | None = None, min_count: int = 1,
               specials: Sequence[str] = SPECIALS) -> VocabBuild:
    """The character vocabulary of a ``{word: count}`` table (see the module docstring)."""
    _check(specials, size, min_count)
    units = _char_units(words)
    ranked = sorted((u for u, n in units.items() if n >= min_count and u not in specials),
                    key=lambda u: (-units[u], u))
    if size is not None:
        ranked = ranked[:size - len(specials)]
    total = sum(units.values())
    kept = sum(units[u] for u in ranked)
    return VocabBuild([*specials, *ranked], "char", len(units),
                      kept / total if total else 1.0, sum(words.values()))


def wordpiece_vocab(words: Mapping[str, int], *, size: int, min_count: int = 2,
                    specials: Sequence[str] = SPECIALS, progress: bool = False) -> VocabBuild:
    """A WordPiece vocabulary of a ``{word: count}`` table, trained by HF ``tokenizers``."""
    _check(specials, size, min_count)
    if size is None:
        raise ValueError("a WordPiece vocabulary needs a size")
    try:
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import pre_tokenizers, trainers
        from tokenizers.models import WordPiece
    except ImportError:
        raise ImportError("kind='wordpiece' needs HF tokenizers: pip install 'kexue[text]'"
                          ) from None
    unk = "[UNK]"
    hf = HFTokenizer(WordPiece(unk_token=unk))
    hf.pre_tokenizer = pre_tokenizers.WhitespaceSplit()  # the words are split already
    trainer = trainers.WordPieceTrainer(vocab_size=size, min_frequency=min_count,
                                        special_tokens=list(specials),
                                        continuing_subword_prefix="##", show_progress=progress)

    def feed():
        for word, n in words.items():
            step = max(1, _FEED_CHARS // (len(word) + 1))
            while n > 0:
                k = min(n, step)
                yield (word + " ") * k
                n -= k

    hf.train_from_iterator(feed(), trainer)
    vocab = hf.get_vocab()
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    if tokens[:len(specials)] != list(specials):
        raise RuntimeError(f"the trainer did not put the specials first: {tokens[:8]}")
    alphabet = len(_char_units(words))
    return VocabBuild(tokens, "wordpiece", alphabet, 1.0, sum(words.values()))


def build_vocab(paths: Sequence[str | os.PathLike], kind: str = "char", *,
                size: int | None = None, min_count: int = 2,
                specials: Sequence[str] = SPECIALS, do_lower_case: bool = True,
                progress: bool = False) -> VocabBuild:
    """Count the words of the line files ``paths`` and build a ``kind`` vocabulary.

    Missing files, directories and bad UTF-8 raise before anything is built (the file, line
    and byte offset are named)."""
    from kexue.text.ngrams import check_input_file, iter_lines

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not paths:
        raise ValueError("no corpus files given")
    for p in paths:
        check_input_file(p)
    _check(specials, size, min_count)
    words = count_words(iter_lines(paths), do_lower_case=do_lower_case, progress=progress)
    if not words:
        raise ValueError(f"the corpus {[os.fspath(p) for p in paths]} holds no text")
    if kind == "char":
        return char_vocab(words, size=size, min_count=min_count, specials=specials)
    if size is None:
        raise ValueError("a WordPiece vocabulary needs a size")
    return wordpiece_vocab(words, size=size, min_count=min_count, specials=specials,
                           progress=progress)
