"""The T5 PEGASUS tokenizer (https://kexue.fm/archives/8209, ZhuiyiTechnology/t5-pegasus).

T5 PEGASUS is an mT5-architecture model pretrained on Chinese with a BERT-style vocabulary of
50,000 characters *and* words; its tokenizer is a WordPiece tokenizer whose text is first cut
into words by jieba with the HMM off: a word in the vocabulary is one token, any other word
falls back to characters (bert4keras: ``Tokenizer(vocab, do_lower_case=True,
pre_tokenize=lambda s: jieba.cut(s, HMM=False))``), the WoBERT scheme. Encoder inputs are
``[CLS] text [SEP]``; the decoder starts from ``[CLS]`` and ends at ``[SEP]``.

Load the model with ``build_transformer_model(config, checkpoint, model="t5_pegasus")`` (mT5
layout, untied LM head); ``[PAD]`` is id 0, so padded encoder batches are masked
automatically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from kexue.text.tokenizer import Tokenizer
from kexue.text.wobert import JiebaWords

__all__ = ["t5_pegasus_tokenizer"]


def t5_pegasus_tokenizer(
    vocab: str | os.PathLike | Mapping[str, int],
    dictionary: str | os.PathLike | None = None,
) -> Tokenizer:
    """The T5 PEGASUS tokenizer for ``vocab`` (its ``vocab.txt``); ``dictionary`` replaces
    jieba's bundled dictionary (the release uses the default one)."""
    if isinstance(vocab, Mapping):
        vocab = dict(vocab)
    return Tokenizer(vocab, do_lower_case=True, pre_tokenize=JiebaWords(dictionary))
