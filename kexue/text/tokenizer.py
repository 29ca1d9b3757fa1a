"""A WordPiece tokenizer for BERT vocab files with the bert4keras feature set.

Pipeline (identical to Google BERT / ``transformers.BertTokenizer``):

1. optional full-width → half-width map (``halfwidth=True``; off by default, BERT does not do it);
2. clean: drop NUL, U+FFFD and control characters, whitespace becomes a separator;
3. pad every CJK ideograph with spaces (each Chinese character is a word);
4. split on whitespace; with ``do_lower_case`` lower-case and strip accents (NFD, drop ``Mn``);
5. split off every punctuation character;
6. WordPiece: greedy longest-match-first with ``##`` continuations; a word longer than 100
   characters, or one that cannot be covered, becomes ``[UNK]``.

``pre_tokenize`` (bert4keras ≥ 0.8.8, used by WoBERT, https://kexue.fm/archives/7758): a callable
``text -> iterable of words``; each word found in the vocab is kept whole, every other word goes
through steps 1–6.

The fast backend (HF ``tokenizers``: ``BertNormalizer`` + ``BertPreTokenizer`` + ``WordPiece``,
the pipeline ``transformers.BertTokenizer`` itself runs) is used when the package is installed;
``backend="python"`` runs the pure-Python implementation. Both give identical tokens: the few
characters that HF ``tokenizers`` classifies differently (its Unicode tables are older than
Python 3.11's, and its CJK range skips U+2B820–U+2B91F) are detected by a one-time probe per
distinct character, and texts containing them take the Python path. On ordinary text (every line
of the sentiment corpus, tested) the ids equal ``transformers.BertTokenizer``'s; on those rare
characters this tokenizer follows the BERT definition, not HF.

Special tokens written in the text (``[MASK]``, ``[CLS]``, ``[SEP]``, ``[PAD]``, ``[UNK]``,
exactly so spelled and present in the vocab) are kept whole, as ``transformers.BertTokenizer``
does: ``"今天[MASK]气"`` gives ``今 天 [MASK] 气``, which is how PET patterns are written. Text
around them is tokenized as usual; ``[mask]`` in lower case is ordinary text.

Conventions follow bert4keras rather than HF where they differ: ``tokenize`` returns the tokens
*with* ``[CLS]``/``[SEP]``, ``encode`` returns ``(token_ids, segment_ids)``, and truncation to
``maxlen`` removes tokens just before the final ``[SEP]`` of the currently longer segment (the
first on ties). Truncation only ever removes text tokens: ``[CLS]`` and the ``[SEP]`` s always
stay, so ``encode(a, b, maxlen=3)`` is ``[CLS] [SEP] [SEP]``.

Unusual input is handled the same by both backends: characters the fast backend cannot take
(lone surrogates such as ``"\ud800"``) send the text to the Python path, like the characters
it classifies differently.
"""

from __future__ import annotations

import operator
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from kexue.text.chars import is_cjk, is_dropped, is_punctuation, is_whitespace, to_halfwidth
from kexue.text.vocab import load_vocab

if TYPE_CHECKING:
    import torch

__all__ = ["Tokenizer", "truncate_sequences"]

_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def truncate_sequences(maxlen: int, index: int, *sequences: list) -> list[list]:
    """Shorten ``sequences`` (in place copies) until their total length is at most ``maxlen``.

    Each step removes the element at position ``index`` of the currently longest sequence (the
    first one on ties). bert4keras uses ``index=-2`` so a trailing ``[SEP]`` survives.
    """
    seqs = [list(s) for s in sequences if s is not None]
    if maxlen < 0:
        raise ValueError(f"maxlen must be >= 0, got {maxlen}")
    while sum(len(s) for s in seqs) > maxlen:
        longest = max(range(len(seqs)), key=lambda i: (len(seqs[i]), -i))
        if not -len(seqs[longest]) <= index < len(seqs[longest]):
            raise ValueError(f"cannot truncate to maxlen={maxlen}: segments too short")
        seqs[longest].pop(index)
    return seqs


class Tokenizer:
    """BERT WordPiece tokenizer (bert4keras API) for a ``vocab.txt`` path or a ``{token: id}``.

    Args:
        vocab_path: path of a one-token-a-line vocab file, or a ``{token: id}`` dict (for
            example the simplified dict from ``load_vocab(..., simplified=True)``).
        do_lower_case: lower-case and strip accents (as BERT uncased / Chinese BERT).
        pre_tokenize: optional ``text -> iterable of words``; in-vocab words are kept whole.
        halfwidth: map full-width ASCII variants to ASCII first (keyword-only, default off).
        backend: ``"auto"`` (HF ``tokenizers`` when installed), ``"fast"`` or ``"python"``.
        max_input_chars_per_word: longer words become ``[UNK]`` (BERT: 100).
        extra_specials: more vocab tokens that the text may write and that are kept whole,
            as ``[CLS]`` is (``transformers``' ``additional_special_tokens``); for example the
            number slots ``[N0]``, ``[N1]`` of the maths solver. Each must be in the vocab.

    ``encode("今天天气不错")`` → ``([101, 791, 1921, 1921, 3698, 679, 7231, 102], [0, ...])``.
    """

    def __init__(
        self,
        vocab_path: str | os.PathLike | dict[str, int],
        do_lower_case: bool = True,
        pre_tokenize: Callable[[str], Iterable[str]] | None = None,
        *,
        halfwidth: bool = False,
        backend: str = "auto",
        max_input_chars_per_word: int = 100,
        unk_token: str = "[UNK]",
        cls_token: str = "[CLS]",
        sep_token: str = "[SEP]",
        pad_token: str = "[PAD]",
        mask_token: str = "[MASK]",
        extra_specials: Sequence[str] = (),
    ) -> None:
        if isinstance(vocab_path, dict):
            token_dict = dict(vocab_path)
            ids = sorted(token_dict.values())
            if ids != list(range(len(ids))):
                raise ValueError("a token dict's ids must be exactly 0..n-1 (no gaps or repeats)")
        else:
            token_dict = load_vocab(vocab_path)
        if pre_tokenize is not None and not callable(pre_tokenize):
            raise TypeError("pre_tokenize must be a callable text -> iterable of words")
        if backend not in {"auto", "fast", "python"}:
            raise ValueError(f"backend must be 'auto', 'fast' or 'python', got {backend!r}")
        for name, tok in (("unk_token", unk_token), ("cls_token", cls_token),
                          ("sep_token", sep_token)):
            if tok not in token_dict:
                raise ValueError(f"{name} {tok!r} is not in the vocab")
        self._token_dict = token_dict
        self._id_to_token = {i: t for t, i in token_dict.items()}
        self._do_lower_case = bool(do_lower_case)
        self._pre_tokenize = pre_tokenize
        self._halfwidth = bool(halfwidth)
        self._max_chars = int(max_input_chars_per_word)
        self.unk_token, self.cls_token, self.sep_token = unk_token, cls_token, sep_token
        self.pad_token, self.mask_token = pad_token, mask_token
        self._specials = {t for t in (unk_token, cls_token, sep_token, pad_token, mask_token)}
        if isinstance(extra_specials, str):
            raise TypeError("extra_specials must be a sequence of tokens, not one string")
        missing = [t for t in extra_specials if t not in token_dict]
        if missing:
            raise ValueError(f"extra_specials {missing[:5]} are not in the vocab")
        self.extra_specials = tuple(extra_specials)
        literal = sorted({t for t in (*self._specials, *self.extra_specials) if t in token_dict},
                         key=len, reverse=True)
        # a text can only hold a special token if it holds that token's first character
        self._special_starts = frozenset(t[0] for t in literal)
        # special tokens written in the text are kept whole (as transformers.BertTokenizer)
        self._special_re = re.compile("(" + "|".join(map(re.escape, literal)) + ")")
        self._fast = None
        self._probed: set[str] = set()
        self._disagree: set[str] = set()
        if backend in {"auto", "fast"}:
            try:
                self._fast = self._build_fast()
            except ImportError:
                if backend == "fast":
                    raise
        self.backend = "fast" if self._fast is not None else "python"

    # ------------------------------------------------------------------ properties
    @property
    def vocab_size(self) -> int:
        return len(self._token_dict)

    @property
    def token_dict(self) -> dict[str, int]:
        """A copy of the ``{token: id}`` mapping."""
        return dict(self._token_dict)

    def token_to_id(self, token: str) -> int:
        return self._token_dict.get(token, self._token_dict[self.unk_token])

    def id_to_token(self, i: int) -> str:
        if i not in self._id_to_token:
            raise ValueError(f"token id {i} is outside the vocab (size {self.vocab_size})")
        return self._id_to_token[i]

    def tokens_to_ids(self, tokens: Sequence[str]) -> list[int]:
        return [self.token_to_id(t) for t in tokens]

    def ids_to_tokens(self, ids: Sequence[int]) -> list[str]:
        out = []
        for i in ids:
            try:
                index = operator.index(i)  # ints, NumPy and torch integers; never floats
            except TypeError:
                raise TypeError(f"token ids must be integers, got {i!r} "
                                f"({type(i).__name__})") from None
            out.append(self.id_to_token(index))
        return out

    # ------------------------------------------------------------------ backends
    def _build_fast(self):
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import normalizers, pre_tokenizers
        from tokenizers.models import WordPiece

        tok = HFTokenizer(
            WordPiece(
                self._token_dict,
                unk_token=self.unk_token,
                max_input_chars_per_word=self._max_chars,
            )
        )
        tok.normalizer = normalizers.BertNormalizer(
            clean_text=True,
            handle_chinese_chars=True,
            strip_accents=None,
            lowercase=self._do_lower_case,
        )
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        return tok

    def _basic_words(self, text: str) -> list[str]:
        """Steps 2–5 in Python: the words WordPiece sees."""
        out: list[str] = []
        buf: list[str] = []
        for ch in text:
            if is_dropped(ch):
                continue
            if is_whitespace(ch):
                buf.append(" ")
            elif is_cjk(ch):
                buf.append(" ")
                buf.append(ch)
                buf.append(" ")
            else:
                buf.append(ch)
        for word in "".join(buf).split():
            if self._do_lower_case:
                word = "".join(c.lower() for c in word)  # per character: no final-sigma rule
                word = "".join(
                    c for c in unicodedata.normalize("NFD", word)
                    if unicodedata.category(c) != "Mn"
                )
            piece: list[str] = []
            for c in word:
                if is_punctuation(c):
                    if piece:
                        out.append("".join(piece))
                        piece = []
                    out.append(c)
                else:
                    piece.append(c)
            if piece:
                out.append("".join(piece))
        return out

    def _wordpiece(self, word: str) -> list[str]:
        if len(word) > self._max_chars:
            return [self.unk_token]
        pieces: list[str] = []
        start = 0
        vocab = self._token_dict
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                sub = word[start:end] if start == 0 else "##" + word[start:end]
                if sub in vocab:
                    found = sub
                    break
                end -= 1
            if found is None:
                return [self.unk_token]
            pieces.append(found)
            start = end
        return pieces

    def _fast_words(self, text: str) -> list[str]:
        normalized = self._fast.normalizer.normalize_str(text)
        return [w for w, _ in self._fast.pre_tokenizer.pre_tokenize_str(normalized)]

    def _fast_safe(self, text: str) -> bool:
        """True when the fast backend is known to split every character of ``text`` as the
        Python reference does.

        HF ``tokenizers`` carries its own Unicode tables (older than Python 3.11's 14.0) and a
        CJK range starting at U+2B920 instead of U+2B820, so a few rare characters are classified
        differently. Each new character is probed once (``"a" + ch + "b"`` through both basic
        tokenizers); texts holding a character that disagrees take the Python path, so the
        backend never changes results.
        """
        chars = set(text)
        new = chars - self._probed
        for ch in new:
            probe = "a" + ch + "b"
            try:
                same = self._fast_words(probe) == self._basic_words(probe)
            except (UnicodeError, TypeError, ValueError, OverflowError):  # lone surrogates
                same = False
            if not same:
                self._disagree.add(ch)
            self._probed.add(ch)
        return chars.isdisjoint(self._disagree)

    def basic_tokenize(self, text: str) -> list[str]:
        """The words WordPiece sees in ``text``: steps 1–5 of the module docstring (no
        ``pre_tokenize``, no special-token handling). A vocabulary builder counts these
        (:mod:`kexue.text.vocab_build`), so what it builds is what this tokenizer needs."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, got {type(text).__name__}")
        if self._halfwidth:
            text = to_halfwidth(text)
        if self._fast is not None and self._fast_safe(text):
            return self._fast_words(text)
        return self._basic_words(text)

    def _tokenize_plain(self, text: str) -> list[str]:
        if self._halfwidth:
            text = to_halfwidth(text)
        if self._fast is not None and self._fast_safe(text):
            return self._fast.encode(text, add_special_tokens=False).tokens
        out: list[str] = []
        for word in self._basic_words(text):
            out.extend(self._wordpiece(word))
        return out

    def _has_special(self, text: str) -> bool:
        return (any(c in text for c in self._special_starts)
                and self._special_re.search(text) is not None)

    def _tokenize_body(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"text must be str, got {type(text).__name__}")
        if self._has_special(text):
            out: list[str] = []
            for k, part in enumerate(self._special_re.split(text)):
                if k % 2:
                    out.append(part)  # a special token, kept whole
                elif part:
                    out.extend(self._tokenize_text(part))
            return out
        return self._tokenize_text(text)

    def _tokenize_text(self, text: str) -> list[str]:
        if self._pre_tokenize is None:
            return self._tokenize_plain(text)
        out: list[str] = []
        for word in self._pre_tokenize(text):
            if word in self._token_dict:
                out.append(word)
            else:
                out.extend(self._tokenize_plain(word))
        return out

    # ------------------------------------------------------------------ public API
    def tokenize(self, text: str, maxlen: int | None = None) -> list[str]:
        """Tokens of ``text`` wrapped in ``[CLS]`` … ``[SEP]``, truncated to ``maxlen`` tokens."""
        tokens = [self.cls_token, *self._tokenize_body(text), self.sep_token]
        if maxlen is not None:
            if maxlen < 2:
                raise ValueError(f"maxlen must be >= 2 (room for [CLS] and [SEP]), got {maxlen}")
            (tokens,) = truncate_sequences(maxlen, -2, tokens)
        return tokens

    def encode(
        self, first: str, second: str | None = None, maxlen: int | None = None
    ) -> tuple[list[int], list[int]]:
        """``([CLS] first [SEP] (second [SEP])`` ids, segment ids 0 / 1), truncated to ``maxlen``.

        Truncation removes one token at a time before the final ``[SEP]`` of the longer segment
        (the first on ties), as bert4keras does; only text tokens are removed, so ``[CLS]`` and
        every ``[SEP]`` survive any ``maxlen`` >= 2 (one text) or 3 (a pair).
        """
        return self._encode(first, second, maxlen, "post")

    def _encode(
        self, first: str, second: str | None, maxlen: int | None, side: str
    ) -> tuple[list[int], list[int]]:
        """``encode`` with the truncation side: ``"post"`` removes the last text token of the
        longer segment, ``"pre"`` its first."""
        first_tokens = [self.cls_token, *self._tokenize_body(first), self.sep_token]
        second_tokens = None
        if second is not None:
            second_tokens = [*self._tokenize_body(second), self.sep_token]
        if maxlen is not None:
            minimum = 2 if second is None else 3
            if maxlen < minimum:
                raise ValueError(f"maxlen must be >= {minimum}, got {maxlen}")
            second_len = 0 if second_tokens is None else len(second_tokens)
            while len(first_tokens) + second_len > maxlen:
                # the longer whole segment (the first on ties) loses a text token; a
                # segment with no text token left is never touched ([CLS]/[SEP] stay)
                first_has = len(first_tokens) > 2
                second_has = second_len > 1
                if first_has and (not second_has or len(first_tokens) >= second_len):
                    first_tokens.pop(-2 if side == "post" else 1)
                else:
                    second_tokens.pop(-2 if side == "post" else 0)  # type: ignore[union-attr]
                    second_len -= 1
        token_ids = self.tokens_to_ids(first_tokens)
        segment_ids = [0] * len(first_tokens)
        if second_tokens is not None:
            token_ids += self.tokens_to_ids(second_tokens)
            segment_ids += [1] * len(second_tokens)
        return token_ids, segment_ids

    def encode_batch(
        self, texts: Sequence[str], maxlen: int | None = None
    ) -> list[tuple[list[int], list[int]]]:
        """``encode`` of many single texts; batched through the fast backend when available."""
        if self._pre_tokenize is not None:
            return [self.encode(t, maxlen=maxlen) for t in texts]
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"texts must be str, got {type(t).__name__}")
        if maxlen is not None and maxlen < 2:
            raise ValueError(f"maxlen must be >= 2 (room for [CLS] and [SEP]), got {maxlen}")
        cls_id = self._token_dict[self.cls_token]
        sep_id = self._token_dict[self.sep_token]
        if self._fast is not None:
            originals = list(texts)
            texts = [to_halfwidth(t) for t in texts] if self._halfwidth else list(texts)
            special = {i for i, t in enumerate(originals) if self._has_special(t)}
            safe = [i for i, t in enumerate(texts) if i not in special and self._fast_safe(t)]
            encs = self._fast.encode_batch([texts[i] for i in safe], add_special_tokens=False)
            bodies: list[list[int] | None] = [None] * len(texts)
            for i, e in zip(safe, encs):
                bodies[i] = e.ids
            for i in special:
                bodies[i] = self.tokens_to_ids(self._tokenize_body(originals[i]))
            for i, b in enumerate(bodies):
                if b is None:  # halfwidth already applied; run the reference path directly
                    words = self._basic_words(texts[i])
                    bodies[i] = self.tokens_to_ids([p for w in words for p in self._wordpiece(w)])
        else:
            bodies = [self.tokens_to_ids(self._tokenize_body(t)) for t in texts]
        out = []
        for body in bodies:
            ids = [cls_id, *body, sep_id]
            if maxlen is not None:
                (ids,) = truncate_sequences(maxlen, -2, ids)
            out.append((ids, [0] * len(ids)))
        return out

    def __call__(
        self,
        texts: str | Sequence[str] | Sequence[tuple[str, str]],
        pairs: str | Sequence[str] | None = None,
        *,
        maxlen: int | None = None,
        truncation: str = "post",
        padding: str = "post",
    ) -> dict[str, torch.Tensor]:
        """Encode a batch and pad it: the call people know from other tokenizers.

        Args:
            texts: texts (a single ``str`` is a batch of one), or ``(first, second)`` pairs.
            pairs: second texts, one per text (the other way to give pairs).
            maxlen: at most this many tokens per row, ``[CLS]``/``[SEP]`` included (the
                :meth:`encode` rule: the longer segment loses text tokens first).
            truncation: ``"post"`` (bert4keras) removes the last text tokens, ``"pre"`` the
                first ones (keep the end of a long text).
            padding: ``"post"`` pads on the right, ``"pre"`` on the left (for decoders).

        Returns:
            ``{"token_ids", "segment_ids", "attention_mask"}``: ``(batch, length)`` ``long``
            tensors, padded to the longest row with the ``[PAD]`` id (segment 0, mask 0)
            through :func:`kexue.data.batching.sequence_padding`. BERT-family models take it
            as ``model(**batch)``.
        """
        import torch

        from kexue.data.batching import sequence_padding

        if truncation not in ("post", "pre"):
            raise ValueError(f"truncation must be 'post' or 'pre', got {truncation!r}")
        if padding not in ("post", "pre"):
            raise ValueError(f"padding must be 'post' or 'pre', got {padding!r}")
        firsts, seconds = self._batch_texts(texts, pairs)
        if seconds is None and truncation == "post":
            rows = self.encode_batch(firsts, maxlen=maxlen)
        else:
            rows = [
                self._encode(a, None if seconds is None else seconds[i], maxlen, truncation)
                for i, a in enumerate(firsts)
            ]
        pad_id = self._token_dict.get(self.pad_token, 0)

        def pad(items: list[list[int]], value: int) -> torch.Tensor:
            array = sequence_padding(items, value=value, mode=padding, dtype="int64")
            return torch.from_numpy(array)

        return {
            "token_ids": pad([ids for ids, _ in rows], pad_id),
            "segment_ids": pad([seg for _, seg in rows], 0),
            "attention_mask": pad([[1] * len(ids) for ids, _ in rows], 0),
        }

    @staticmethod
    def _batch_texts(texts, pairs) -> tuple[list[str], list[str] | None]:
        if isinstance(texts, str):
            texts = [texts]
            if isinstance(pairs, str):
                pairs = [pairs]
        if not isinstance(texts, Sequence) or not len(texts):
            raise ValueError("texts must be a non-empty list of str or of (str, str) pairs")
        firsts: list[str] = []
        seconds: list[str] | None = None
        if all(isinstance(t, tuple | list) for t in texts):
            if pairs is not None:
                raise ValueError("give pairs either as (first, second) items or as pairs=")
            for t in texts:
                if len(t) != 2:
                    raise ValueError(f"a pair must have two texts, got {len(t)}: {t!r}")
            firsts, seconds = [t[0] for t in texts], [t[1] for t in texts]
        else:
            firsts = list(texts)
            if pairs is not None:
                if isinstance(pairs, str) or len(pairs) != len(firsts):
                    raise ValueError(
                        f"pairs must be a list with one text per text ({len(firsts)})"
                    )
                seconds = list(pairs)
        for t in [*firsts, *(seconds or [])]:
            if not isinstance(t, str):
                raise TypeError(f"texts must be str, got {type(t).__name__}: {t!r}")
        return firsts, seconds

    def decode(self, ids: Sequence[int], tokens: Sequence[str] | None = None) -> str:
        """Text of ``ids`` (or of ``tokens``) with special tokens removed.

        Chinese characters and punctuation join without spaces; ``##`` pieces join their word;
        a space separates two neighbouring Latin/digit words only.
        """
        if tokens is None:
            tokens = self.ids_to_tokens(ids)
        text = ""
        prev_wordish = False
        for tok in tokens:
            if tok in self._specials or (tok.startswith("[") and tok.endswith("]") and len(tok) > 2
                                         and tok[1:-1].replace("unused", "").isdigit()):
                continue
            if tok.startswith("##") and len(tok) > 2:
                text += tok[2:]
                continue
            first = tok[0]
            wordish = not (is_cjk(first) or is_punctuation(first) or is_whitespace(first))
            if prev_wordish and wordish:
                text += " "
            text += tok
            last = tok[-1]
            prev_wordish = not (is_cjk(last) or is_punctuation(last) or is_whitespace(last))
        return text

    def _normalize_char(self, ch: str) -> str:
        if self._halfwidth:
            ch = to_halfwidth(ch)
        if self._do_lower_case:
            ch = ch.lower()
            ch = "".join(
                c for c in unicodedata.normalize("NFD", ch) if unicodedata.category(c) != "Mn"
            )
        return ch

    def rematch(self, text: str, tokens: Sequence[str]) -> list[list[int]]:
        """For each token, the indices of the characters of ``text`` it came from.

        Special tokens (``[CLS]``, ``[SEP]``, ``[UNK]``, ...) map to ``[]``. The text is normalised
        character by character exactly as the tokenizer does (half-width, lower case, accents
        stripped, controls dropped), so ``normalise(text[i] for i in mapping) == stem(token)``.
        """
        norm_chars: list[str] = []
        char_map: list[int] = []
        for i, ch in enumerate(text):
            for c in self._normalize_char(ch):
                if is_dropped(c) or is_whitespace(c):
                    continue
                norm_chars.append(c)
                char_map.append(i)
        normalized = "".join(norm_chars)
        mapping: list[list[int]] = []
        offset = 0
        for tok in tokens:
            if tok in self._specials:
                mapping.append([])
                continue
            stem = tok[2:] if tok.startswith("##") and len(tok) > 2 else tok
            # a whole-word token from pre_tokenize may keep its case: normalise it too
            stem = "".join(self._normalize_char(c) for c in stem)
            start = normalized.find(stem, offset)
            if start < 0 or not stem:
                mapping.append([])
                continue
            end = start + len(stem)
            mapping.append(char_map[start:end])
            offset = end
        return mapping
