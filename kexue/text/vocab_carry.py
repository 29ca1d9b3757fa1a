"""Carry a checkpoint's embedding rows over to a new vocabulary (``keep_tokens`` /
``compound_tokens``).

Continuing a checkpoint on a new vocabulary (domain pretraining; WoBERT,
https://kexue.fm/archives/7758) starts each new token's row from what the checkpoint knows:

- a token of the checkpoint's vocabulary keeps its row: ``E_new[t] = E_old[old_id(t)]``;
- any other token starts at the mean of the rows of the pieces the checkpoint's tokenizer cuts
  it into, ``E_new[t] = (1/k) Σ_i E_old[p_i]`` (:func:`token_pieces`); the tied MLM output
  rows and the MLM output bias follow the same rule, as every vocabulary-indexed tensor of a
  kexue checkpoint goes through one transform (``kexue.models.loading.vocab_transform``).

:func:`carry_over` computes, for each new id, those old ids (``pieces``), and from them the two
arguments of ``build_transformer_model(checkpoint_path=..., keep_tokens=...,
compound_tokens=...)``. That function keeps the ``keep_tokens`` rows first and appends one
row per ``compound_tokens`` entry after them, so the new vocabulary keeps its own order this
way: ``keep_tokens`` holds the old ids of the longest leading run of new tokens that the
checkpoint knows (the special tokens and usually much more), and ``compound_tokens`` one entry
per later token: ``[old_id]`` for a known token (the mean of one row is that row, exactly, in
any float dtype) or its pieces. The first new token must therefore be known to the checkpoint
(``[PAD]`` in practice).

Pitfalls (listed in :attr:`CarryOver.unk_tokens`, never silent): a token whose pieces include
the checkpoint's ``[UNK]`` (a character the checkpoint never had) starts at the ``[UNK]`` row,
as in WoBERT; so does a bracketed special token the checkpoint lacks (``[unused1]``) and a
token that tokenises to nothing (a control character). A ``##`` continuation the checkpoint
lacks uses the pieces of its stem, the first one in its ``##`` form when the checkpoint has
that (``##ology`` → ``##o ##log ##y`` or ``o ##log ##y``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kexue.text.tokenizer import Tokenizer
from kexue.text.vocab import load_vocab

__all__ = ["CarryOver", "carry_over", "token_pieces"]


def token_pieces(tokenizer: Tokenizer, token: str) -> list[int]:
    """The ids (in ``tokenizer``'s vocabulary) of the pieces ``tokenizer`` cuts ``token``
    into, without ``[CLS]``/``[SEP]``; ``[]`` when it gives none. A ``##stem`` token is cut as
    its stem, the first piece taken in its ``##`` form when the vocabulary has one."""
    continuation = token.startswith("##") and len(token) > 2
    ids = tokenizer.encode(token[2:] if continuation else token)[0][1:-1]
    if continuation and ids:
        unk = tokenizer.token_to_id(tokenizer.unk_token)
        first = tokenizer.token_to_id("##" + tokenizer.id_to_token(ids[0]))
        if ids[0] != unk and first != unk:
            ids[0] = first
    return ids


@dataclass
class CarryOver:
    """How each token of a new vocabulary starts from a checkpoint's rows.

    - ``pieces[new_id]``: old ids whose mean is the new row (one id: the token is known);
    - ``known``: how many new tokens the old vocabulary holds;
    - ``built``: the new tokens made from pieces (in id order);
    - ``unk_tokens``: the built ones that start at (or average in) the old ``[UNK]`` row.
    """

    pieces: list[list[int]]
    known: int
    built: list[str] = field(default_factory=list)
    unk_tokens: list[str] = field(default_factory=list)
    lead: int = 0  # length of the leading run of known tokens

    @property
    def keep_tokens(self) -> list[int]:
        """Old ids of the leading run of known new tokens (``keep_tokens=``)."""
        return [p[0] for p in self.pieces[:self.lead]]

    @property
    def compound_tokens(self) -> list[list[int]]:
        """One entry of old ids per later new token (``compound_tokens=``)."""
        return [list(p) for p in self.pieces[self.lead:]]

    def model_kwargs(self) -> dict[str, Any]:
        """``{"keep_tokens": ..., "compound_tokens": ...}`` for ``build_transformer_model``."""
        return {"keep_tokens": self.keep_tokens, "compound_tokens": self.compound_tokens}


def _token_dict(vocab: Mapping[str, int] | Sequence[str] | str | os.PathLike,
                what: str) -> dict[str, int]:
    if isinstance(vocab, (str, os.PathLike)):
        return load_vocab(vocab)
    if isinstance(vocab, Mapping):
        token_dict = dict(vocab)
    else:
        token_dict = {t: i for i, t in enumerate(vocab)}
        if len(token_dict) != len(vocab):
            raise ValueError(f"the {what} vocabulary lists a token twice")
    if sorted(token_dict.values()) != list(range(len(token_dict))):
        raise ValueError(f"the {what} vocabulary's ids must be exactly 0..n-1")
    return token_dict


def carry_over(old: Mapping[str, int] | Sequence[str] | str | os.PathLike,
               new: Mapping[str, int] | Sequence[str] | str | os.PathLike, *,
               do_lower_case: bool = True) -> CarryOver:
    """Map the new vocabulary ``new`` onto the checkpoint's vocabulary ``old`` (each a
    ``vocab.txt`` path, a ``{token: id}`` dict or a token list); see the module docstring.

    ``do_lower_case`` is the old tokenizer's setting (Chinese BERT: True)."""
    old_dict = _token_dict(old, "checkpoint's")
    new_dict = _token_dict(new, "new")
    if not new_dict:
        raise ValueError("the new vocabulary is empty")
    tokenizer = Tokenizer(old_dict, do_lower_case=do_lower_case)
    unk = old_dict[tokenizer.unk_token]
    out = CarryOver(pieces=[], known=0)
    for token, _ in sorted(new_dict.items(), key=lambda kv: kv[1]):
        if token in old_dict:
            out.pieces.append([old_dict[token]])
            out.known += 1
            if out.lead == len(out.pieces) - 1:
                out.lead += 1
            continue
        bracketed = len(token) > 2 and token[0] == "[" and token[-1] == "]"
        ids = [] if bracketed else token_pieces(tokenizer, token)
        if not ids or unk in ids:
            out.unk_tokens.append(token)
        out.pieces.append(ids or [unk])
        out.built.append(token)
    if out.lead == 0:
        first = min(new_dict, key=new_dict.__getitem__)
        raise ValueError(f"the new vocabulary's first token {first!r} is not in the "
                         f"checkpoint's vocabulary: put a token it knows first ([PAD])")
    return out
