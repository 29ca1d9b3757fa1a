"""SimBERT-style paraphrase generation (kexue.fm/archives/7427, ``gen_synonyms``): sample
``n`` continuations of ``[CLS] text [SEP]`` from a UniLM model with top-k sampling
(:class:`kexue.decoding.AutoRegressiveDecoder`), drop the input and repeats, then rank the
candidates by the cosine of their [CLS] vectors (P1, from the same model) with the input's and
keep the best ``k``. The retrieval half of SimBERT scores its own generation half.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import nn

from kexue.similarity.encoder import SentenceEncoder, check_texts

__all__ = ["similar_sentences"]


def similar_sentences(model: nn.Module, tokenizer: Any, text: str, *, n: int = 20, k: int = 5,
                      top_k: int = 5, maxlen: int = 32, seed: int | None = 0,
                      pooling: str = "P1") -> list[tuple[str, float]]:
    """Up to ``k`` generated paraphrases of ``text`` with their cosine to it, best first.

    ``model``: a kexue BERT-family model built with ``application="unilm"`` (its MLM head is
    the generator)."""
    from kexue.decoding import AutoRegressiveDecoder

    (text,) = check_texts([text])
    if getattr(model, "application", None) != "unilm":
        raise ValueError("generation needs a model built with application='unilm'")
    sep = tokenizer.token_to_id(tokenizer.sep_token)
    ids, _ = tokenizer.encode(text, maxlen=maxlen)
    dec = AutoRegressiveDecoder(model.eval(), end_id=sep)
    gen = dec.random_sample([ids], max_new_tokens=maxlen, n=n, top_k=top_k, seed=seed)
    seen: dict[str, None] = {}
    for row in gen.tolist()[0]:
        cand = tokenizer.decode([t for t in row if t != sep]).strip()
        if cand and cand != text:
            seen.setdefault(cand)
    cands = list(seen)
    if not cands:
        return []
    enc = SentenceEncoder(model, tokenizer, pooling, maxlen=maxlen)
    v = enc.encode([text, *cands])
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    sims = v[1:] @ v[0]
    order = np.argsort(-sims, kind="stable")[:k]
    return [(cands[i], float(sims[i])) for i in order]
