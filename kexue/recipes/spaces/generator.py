"""SPACES stage 3: the UniLM generator with input noise and the BIO copy head.

kexue.fm/archives/8046. A BERT-family encoder built with ``application="unilm"`` generates the
summary after the source (``[CLS] source [SEP] summary [SEP]``); the examples, labels and
seq2seq loss are :mod:`kexue.train.seq2seq`'s, the sparse softmax (k = 10) is
:class:`kexue.objectives.SparseCrossEntropy`. On top of that:

- **input noise**: 15 % of the source tokens are replaced by tokens drawn **from the same
  sequence** (not ``[MASK]``), :func:`same_sequence_noise`;
- **BIO copy head**: a 3-way head (:class:`kexue.decoding.copy.BIOHead`) on the final hidden
  states, trained on the tags of :func:`kexue.decoding.copy.bio_labels` at **both** source
  and target positions; total loss = seq2seq loss + 2 × copy loss (:class:`UniLMCopy`);
- decoding with :class:`kexue.decoding.copy.BIOCopyConstraint` through
  :class:`kexue.decoding.copy.CopyUniLMStep` (:class:`Summarizer`);
- **word-level input** (SPACES runs on WoBERT): the character vocabulary plus the most
  frequent jieba words, each new word's embedding row initialised as the mean of its
  characters' rows (``compound_tokens``, :func:`word_vocab`); text is cut by jieba first
  (:func:`kexue.text.wobert_tokenizer`). A model directory records it as ``"words": N`` in
  :data:`SETTINGS_FILE`, so :meth:`Summarizer.load` rebuilds the same tokenizer.

Pitfalls: the copy head reads the final hidden state (SPACES: the MLM transform's output);
the noise must not touch ``[CLS]``/``[SEP]`` or the target, whose tokens are the labels;
sparse softmax hurts when training from scratch (the article), so compare it only on
fine-tuning.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from kexue.decoding.copy import BIOCopyConstraint, BIOHead, CopyUniLMStep, bio_labels
from kexue.train.seq2seq import IGNORE_INDEX, UniLMSeq2Seq, seq2seq_example

__all__ = [
    "copy_example",
    "same_sequence_noise",
    "UniLMCopy",
    "Summarizer",
    "faithfulness",
    "word_vocab",
    "load_tokenizer",
    "HEAD_FILE",
    "SETTINGS_FILE",
]

HEAD_FILE = "copy_head.safetensors"
SETTINGS_FILE = "summarizer.json"


def word_vocab(char_vocab: str | Path, num_words: int):
    """The word-level vocabulary of a character checkpoint (archives/7758, used by SPACES):
    its tokens plus the ``num_words`` most frequent words of jieba's dictionary, as a
    :class:`kexue.text.WoBERTVocab` whose ``keep_tokens`` / ``compound_tokens`` go to
    ``build_transformer_model(checkpoint_path=..., keep_tokens=..., compound_tokens=...)``."""
    from kexue.text import build_wobert_vocab

    if not isinstance(num_words, int) or isinstance(num_words, bool) or num_words <= 0:
        raise ValueError(f"num_words must be a positive int, got {num_words!r}")
    return build_wobert_vocab(char_vocab, num_words=num_words)


def load_tokenizer(directory: str | Path, settings: dict[str, Any]):
    """The tokenizer a summarizer directory was trained with: jieba words first when
    ``settings["words"]`` is set, else characters (WordPiece)."""
    from kexue.text import Tokenizer, wobert_tokenizer

    vocab = Path(directory) / "vocab.txt"
    if settings.get("words"):
        return wobert_tokenizer(vocab)
    return Tokenizer(vocab, do_lower_case=True)


def copy_example(tokenizer: Any, source: str, target: str, maxlen: int) -> dict[str, list[int]]:
    """:func:`kexue.train.seq2seq.seq2seq_example` plus ``"bio"``: the copy tag of every
    position (LCS of the source and target tokens between the special tokens), ``-100`` on
    ``[CLS]`` and ``[SEP]``."""
    ex = seq2seq_example(tokenizer, source, target, maxlen=maxlen)
    ids, seg = ex["token_ids"], ex["segment_ids"]
    n_src = seg.index(1)  # [CLS] s_1..s_m [SEP]
    src, tgt = ids[1 : n_src - 1], ids[n_src:-1]
    s_tags, t_tags = bio_labels(src, tgt)
    ex["bio"] = [IGNORE_INDEX] + s_tags + [IGNORE_INDEX] + t_tags + [IGNORE_INDEX]
    return ex


def same_sequence_noise(example: dict[str, list[int]], rate: float,
                        rng: random.Random) -> dict[str, list[int]]:
    """A copy of ``example`` whose source tokens (between ``[CLS]`` and ``[SEP]``) are each
    replaced, with probability ``rate``, by a token drawn from the same source."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate must be in [0, 1), got {rate}")
    ids = list(example["token_ids"])
    n_src = example["segment_ids"].index(1)
    body = ids[1 : n_src - 1]
    if body:
        for k in range(1, n_src - 1):
            if rng.random() < rate:
                ids[k] = rng.choice(body)
    return {**example, "token_ids": ids}


class UniLMCopy(nn.Module):
    """UniLM seq2seq loss (:class:`kexue.train.seq2seq.UniLMSeq2Seq`, its ``loss=``) plus, with
    ``copy_weight > 0``, ``copy_weight ×`` the cross-entropy of the BIO head on the ``"bio"``
    tags (SPACES: weight 2). ``forward(**batch)`` returns the mean loss."""

    def __init__(self, model: nn.Module, *, loss: Callable | None = None,
                 copy_weight: float = 0.0) -> None:
        super().__init__()
        self.seq2seq = UniLMSeq2Seq(model, loss=loss)
        self.copy_weight = float(copy_weight)
        hidden = model.config.hidden_size
        self.head = BIOHead(hidden) if self.copy_weight > 0 else None

    @property
    def model(self) -> nn.Module:
        return self.seq2seq.model

    def forward(self, token_ids: torch.Tensor, segment_ids: torch.Tensor, labels: torch.Tensor,
                attention_mask: torch.Tensor | None = None,
                bio: torch.Tensor | None = None) -> torch.Tensor:
        if self.head is None:
            return self.seq2seq(token_ids, segment_ids, labels, attention_mask)
        if bio is None:
            raise ValueError("a copy model needs the 'bio' tags in the batch (copy_example)")
        out, logits, target = self.seq2seq.target_logits(token_ids, segment_ids, labels,
                                                         attention_mask)
        loss = self.seq2seq.loss(logits, target)
        tags = bio != IGNORE_INDEX
        copy_loss = F.cross_entropy(self.head(out.hidden[tags]).float(), bio[tags])
        return loss + self.copy_weight * copy_loss


def faithfulness(output: Sequence, source: Sequence, n: int = 2) -> float | None:
    """Share of the output's n-grams (with repeats) that occur in the source; ``None`` when
    the output has no n-gram."""
    grams = [tuple(output[i : i + n]) for i in range(len(output) - n + 1)]
    if not grams:
        return None
    have = {tuple(source[i : i + n]) for i in range(len(source) - n + 1)}
    return sum(g in have for g in grams) / len(grams)


class Summarizer:
    """Inference: a model directory (``save_pretrained`` output + :data:`SETTINGS_FILE`, and
    :data:`HEAD_FILE` for a copy model) -> summaries by batched beam search.

    ``settings``: ``family``, ``maxlen`` (source tokens kept: longer documents are cut at the
    end, as :meth:`kexue.text.Tokenizer.encode` does), ``sparse_k`` (0: no top-k mask),
    ``copy`` (bool), ``words`` (optional: jieba words added to the vocabulary; the input is
    then cut by jieba first, :func:`load_tokenizer`)."""

    def __init__(self, model: nn.Module, tokenizer: Any, settings: dict[str, Any],
                 head: nn.Module | None = None) -> None:
        self.model, self.tokenizer, self.settings, self.head = model, tokenizer, settings, head

    @classmethod
    def load(cls, directory: str | Path) -> Summarizer:
        from kexue.models import build_transformer_model

        directory = Path(directory)
        settings_path = directory / SETTINGS_FILE
        if not settings_path.is_file():
            raise FileNotFoundError(
                f"{directory} is not a summarizer directory: no {SETTINGS_FILE} "
                "(train one with experiments/spaces_generator.py)")
        settings = json.loads(settings_path.read_text(encoding="utf-8"))
        model = build_transformer_model(checkpoint_path=directory, model=settings["family"],
                                        application="unilm", strict=False).eval()
        tokenizer = load_tokenizer(directory, settings)
        head = None
        if settings.get("copy"):
            from safetensors.torch import load_file

            head = BIOHead(model.config.hidden_size)
            head.load_state_dict(load_file(str(directory / HEAD_FILE)))
            head.eval()
        return cls(model, tokenizer, settings, head)

    def encode(self, text: str) -> list[int]:
        """Token ids ``[CLS] text [SEP]``, cut to ``settings["maxlen"]`` tokens."""
        ids, _ = self.tokenizer.encode(text, maxlen=int(self.settings["maxlen"]))
        return list(ids)

    @torch.inference_mode()
    def summarize(self, texts: Sequence[str], *, num_beams: int = 3, max_new_tokens: int = 48,
                  min_new_tokens: int = 1, length_penalty: float = 1.0,
                  batch_size: int = 16) -> list[str]:
        """Beam search per document. Pitfall: bert4keras' beam search ranks by the plain sum
        of log-probabilities (``length_penalty=0``), which makes an immediate end token win
        for a weakly trained model (every summary empty); the default here divides by the
        length (transformers' ``length_penalty=1``) and forbids an empty summary."""
        from kexue.decoding import AutoRegressiveDecoder, TopKMask

        sep, cls_ = self.tokenizer.token_to_id("[SEP]"), self.tokenizer.token_to_id("[CLS]")
        hooks: list = []
        if self.settings.get("sparse_k"):
            hooks.append(TopKMask(int(self.settings["sparse_k"])))
        step = None
        if self.head is not None:
            step = CopyUniLMStep(self.model, self.head)
            hooks.append(BIOCopyConstraint(exclude=(cls_, sep, 0), always=(sep,)))
        if step is None:
            dec = AutoRegressiveDecoder(self.model, end_id=sep, pad_id=0)
        else:
            dec = AutoRegressiveDecoder(step=step, end_id=sep, pad_id=0,
                                        vocab_size=self.model.config.vocab_size)
        out: list[str] = []
        for start in range(0, len(texts), batch_size):
            prompts = [self.encode(t) for t in texts[start : start + batch_size]]
            gen = dec.beam_search(prompts, num_beams=num_beams, max_new_tokens=max_new_tokens,
                                  min_new_tokens=min_new_tokens, length_penalty=length_penalty,
                                  early_stopping="best", hooks=hooks)
            for seqs in gen.tolist():
                ids = [t for t in seqs[0] if t not in (sep, 0)]
                out.append(self.tokenizer.decode(ids))
        return out
