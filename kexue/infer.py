"""One-line inference helpers for the everyday jobs: fill-mask, class / sentence-pair scoring,
text generation.

Each takes a kexue model (``build_transformer_model(...)``) and a BERT-style
:class:`~kexue.text.Tokenizer`, encodes a batch through ``tokenizer(...)`` (the padded batch
call), runs the model without gradients and returns plain Python values::

    from kexue.infer import fill_mask, classify, generate

    fill_mask(mlm, tokenizer, "今天天[MASK]不错", top_k=3)
    # [[Candidate(token='气', id=..., probability=0.93), ...]]   one list per [MASK]
    classify(bert, tokenizer, [("今天天气不错", "出去走走")])   # NSP head: P(IsNext), P(not)
    generate(unilm, tokenizer, "今天天气不错", max_new_tokens=16)

``kexue fill-mask`` is :func:`fill_mask` on the command line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from kexue.models.outputs import ModelOutput, logits_of

__all__ = ["Candidate", "fill_mask", "classify", "generate"]


@dataclass(frozen=True)
class Candidate:
    """One candidate token for a ``[MASK]``: its text, id and probability (softmax of the MLM
    logits over the whole vocabulary)."""

    token: str
    id: int
    probability: float


def _texts(texts: str | Sequence[str]) -> tuple[list[str], bool]:
    if isinstance(texts, str):
        return [texts], True
    texts = list(texts)
    if not texts:
        raise ValueError("give at least one text")
    return texts, False


def _batch(tokenizer, texts, pairs=None, maxlen=None, device=None) -> dict[str, torch.Tensor]:
    batch = tokenizer(texts, pairs, maxlen=maxlen)
    return {k: v.to(device) for k, v in batch.items()}


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def fill_mask(
    model: torch.nn.Module,
    tokenizer,
    texts: str | Sequence[str],
    *,
    top_k: int = 5,
    maxlen: int | None = None,
) -> list[list[Candidate]] | list[list[list[Candidate]]]:
    """The ``top_k`` most likely tokens for each ``[MASK]`` of each text.

    Args:
        model: a BERT-family model with an MLM head (``with_mlm=True``, or ``unilm``/``lm``).
        tokenizer: its :class:`~kexue.text.Tokenizer` (``[MASK]`` written in the text is one
            token).
        texts: a text or a list of texts, each with at least one ``[MASK]``.
        top_k: candidates per mask, most likely first.
        maxlen: truncate longer texts (a ``[MASK]`` cut off is an error).

    Returns:
        For one text, one list of candidates per ``[MASK]`` (in text order); for a list of
        texts, one such list per text.
    """
    items, single = _texts(texts)
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise ValueError(f"top_k must be an int >= 1, got {top_k!r}")
    mask_id = tokenizer.token_to_id(tokenizer.mask_token)
    for text in items:
        if tokenizer.mask_token not in text:
            raise ValueError(f"no {tokenizer.mask_token} in the text {text!r}")
    batch = _batch(tokenizer, items, maxlen=maxlen, device=_device(model))
    model.eval()
    out = model(batch["token_ids"], batch["segment_ids"], attention_mask=batch["attention_mask"])
    logits = logits_of(out)
    k = min(top_k, logits.shape[-1])
    results = []
    for row, text in enumerate(items):
        where = (batch["token_ids"][row] == mask_id).nonzero().flatten().tolist()
        if not where:
            raise ValueError(f"every {tokenizer.mask_token} of {text!r} was cut by maxlen={maxlen}")
        per_mask = []
        for pos in where:
            probs = logits[row, pos].float().softmax(-1)
            top = probs.topk(k)
            per_mask.append([
                Candidate(tokenizer.id_to_token(int(i)), int(i), float(p))
                for p, i in zip(top.values, top.indices)
            ])
        results.append(per_mask)
    return results[0] if single else results


@torch.no_grad()
def classify(
    model: torch.nn.Module,
    tokenizer,
    texts: str | Sequence[str] | Sequence[tuple[str, str]],
    pairs: Sequence[str] | None = None,
    *,
    head: Callable[[ModelOutput], torch.Tensor] | None = None,
    maxlen: int | None = None,
) -> torch.Tensor:
    """Class probabilities ``(batch, classes)`` of texts or sentence pairs.

    Args:
        model: a kexue encoder.
        tokenizer: its tokenizer; ``texts``/``pairs`` as in ``tokenizer(texts, pairs)``.
        head: ``head(model_output) -> logits (batch, classes)``, e.g. a fine-tuned
            classifier on the pooled output: ``head=lambda out: classifier(out.pooled)``.
            ``None`` uses the model's NSP head (``with_nsp=True``): column 0 is P(IsNext),
            the probability that the second text follows the first.
        maxlen: truncate each row to this many tokens.

    Returns:
        The softmax of the head's logits, float32, on the CPU.
    """
    items = [texts] if isinstance(texts, str) else list(texts)
    batch = _batch(tokenizer, items, pairs, maxlen=maxlen, device=_device(model))
    model.eval()
    out = model(batch["token_ids"], batch["segment_ids"], attention_mask=batch["attention_mask"])
    if head is None:
        if not isinstance(out, ModelOutput) or out.nsp_logits is None:
            raise ValueError(
                "the model has no NSP head: build it with with_pool=True, with_nsp=True, or "
                "pass head=lambda out: my_classifier(out.pooled)"
            )
        logits = out.nsp_logits
    else:
        logits = head(out)
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        raise ValueError("the head must return logits of shape (batch, classes)")
    return logits.float().softmax(-1).cpu()


def _prompt(tokenizer, text: str, kind: str, maxlen: int | None) -> list[int]:
    ids, _ = tokenizer.encode(text, maxlen=maxlen)
    return ids[:-1] if kind == "lm" else ids  # a causal LM continues after the text


@torch.no_grad()
def generate(
    model: torch.nn.Module,
    tokenizer,
    texts: str | Sequence[str],
    *,
    max_new_tokens: int = 32,
    num_beams: int = 1,
    sample: bool = False,
    top_k: int = 0,
    top_p: float = 1.0,
    temperature: float = 1.0,
    seed: int | None = None,
    maxlen: int | None = None,
    **decoder_options: Any,
) -> str | list[str]:
    """Generated text for each prompt, through :class:`kexue.decoding.AutoRegressiveDecoder`
    (KV-cached, batched).

    The prompt is built for the model's kind, with the tokenizer's ``[CLS]``/``[SEP]``:
    ``unilm`` (BERT family): the source ``[CLS] text [SEP]``; ``lm`` (GPT2_ML, a causal BERT):
    ``[CLS] text``, continued; ``seq2seq`` (T5 PEGASUS): the encoder input ``[CLS] text
    [SEP]``, the decoder starting at ``[CLS]``. Generation stops at ``[SEP]``.

    Args:
        max_new_tokens: at most this many new tokens.
        num_beams: > 1 runs beam search (the best beam is returned).
        sample: draw with ``top_k``/``top_p``/``temperature`` (and ``seed``) instead of
            greedy / beam search.
        maxlen: truncate the prompt to this many tokens.
        **decoder_options: passed to the decoding call (``min_new_tokens``, ``hooks``, ...).

    Returns:
        The generated text (special tokens removed) for one prompt, or a list for a list.
    """
    from kexue.decoding import AutoRegressiveDecoder
    from kexue.decoding.decoder import _infer_kind

    items, single = _texts(texts)
    kind = _infer_kind(model)
    sep = tokenizer.token_to_id(tokenizer.sep_token)
    cls = tokenizer.token_to_id(tokenizer.cls_token)
    pad = tokenizer.token_to_id(tokenizer.pad_token) if tokenizer.pad_token in (
        tokenizer.token_dict) else 0
    decoder = AutoRegressiveDecoder(
        model, end_id=sep, pad_id=pad, start_id=cls if kind == "seq2seq" else None
    )
    prompts = [_prompt(tokenizer, t, kind, maxlen) for t in items]
    model.eval()
    common = dict(max_new_tokens=max_new_tokens, **decoder_options)
    if sample:
        if num_beams != 1:
            raise ValueError("sample=True draws one sequence per prompt: leave num_beams=1")
        out = decoder.random_sample(prompts, n=1, top_k=top_k, top_p=top_p,
                                    temperature=temperature, seed=seed, **common)
    elif num_beams > 1:
        out = decoder.beam_search(prompts, num_beams=num_beams, **common)
    else:
        out = decoder.greedy(prompts, **common)
    texts_out = []
    for rows in out.tolist():
        ids = rows[0]
        if sep in ids:
            ids = ids[: ids.index(sep)]
        texts_out.append(tokenizer.decode(ids))
    return texts_out[0] if single else texts_out
