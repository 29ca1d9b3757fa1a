"""UniLM sequence-to-sequence fine-tuning: examples, labels and the loss, for any BERT-family
model built with ``application="unilm"``.

UniLM (Dong et al., arXiv 1905.03197; kexue.fm/archives/6933, "从语言模型到Seq2Seq：Transformer
如戏，全靠Mask") turns one bidirectional encoder into a seq2seq model with an attention mask
alone: the input is ``[CLS] S [SEP] T [SEP]`` with segment ids 0 on ``[CLS] S [SEP]`` and 1
on ``T [SEP]``; source positions see the whole source, target positions see the source and the
target to their left (the model builds this mask from the segment ids). The MLM head is the
generator and the loss is the cross-entropy of the logits at position ``i`` against token
``i + 1``, counted only where token ``i + 1`` belongs to the target:

    L = - sum_{i : s_{i+1} = 1} log p(x_{i+1} | x_{<=i}) / #{i : s_{i+1} = 1}

This is bert4keras's ``y_true = token_ids[:, 1:]``, ``y_mask = segment_ids[:, 1:]``,
``y_pred = logits[:, :-1]``, written as ``labels[i] = token_ids[i + 1]`` (``-100`` elsewhere)
so that it pads with :class:`kexue.data.PadCollate` (``pad_values={"labels": -100}``) and
fits any per-token loss (sparse softmax, label smoothing) unchanged.

Pitfall: the final ``[SEP]`` of the target is a label (the model must learn to stop), and the
first target token is predicted from the source's ``[SEP]``; padding must carry segment id 0
*and* label -100, or the mask and the loss disagree about where the target ends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["IGNORE_INDEX", "UniLMSeq2Seq", "seq2seq_example", "unilm_labels"]

#: The label of a position that no loss counts (``torch.nn.functional.cross_entropy``'s default).
IGNORE_INDEX = -100


def unilm_labels(token_ids: Sequence[int] | np.ndarray | torch.Tensor,
                 segment_ids: Sequence[int] | np.ndarray | torch.Tensor):
    """``labels[..., i] = token_ids[..., i + 1]`` where ``segment_ids[..., i + 1] == 1``, else
    ``-100``; same type and shape as ``token_ids`` (a list, a NumPy array or a tensor, one
    sequence or a batch along the last axis)."""
    if isinstance(token_ids, torch.Tensor):
        seg = torch.as_tensor(segment_ids, device=token_ids.device)
        if seg.shape != token_ids.shape:
            raise ValueError(f"token_ids {tuple(token_ids.shape)} and segment_ids "
                             f"{tuple(seg.shape)} differ in shape")
        labels = torch.full_like(token_ids, IGNORE_INDEX)
        target = seg[..., 1:] == 1
        labels[..., :-1] = torch.where(target, token_ids[..., 1:], labels[..., :-1])
        return labels
    ids = np.asarray(token_ids)
    seg_np = np.asarray(segment_ids)
    if ids.shape != seg_np.shape:
        raise ValueError(f"token_ids {ids.shape} and segment_ids {seg_np.shape} differ in shape")
    labels_np = np.full(ids.shape, IGNORE_INDEX, dtype=np.int64)
    labels_np[..., :-1] = np.where(seg_np[..., 1:] == 1, ids[..., 1:], IGNORE_INDEX)
    if isinstance(token_ids, np.ndarray):
        return labels_np
    return labels_np.tolist()


def seq2seq_example(tokenizer: Any, source: str, target: str,
                    maxlen: int | None = None) -> dict[str, list[int]]:
    """One training example ``{"token_ids", "segment_ids", "labels"}`` for ``source -> target``.

    ``tokenizer`` is a :class:`kexue.text.Tokenizer` (anything with ``encode(first, second,
    maxlen)`` returning ids and segment ids 0 / 1). Over ``maxlen`` the longer part is cut
    first, one token at a time, as :meth:`kexue.text.Tokenizer.encode` does. An empty target
    is an error: it would teach only the stop token."""
    if not target:
        raise ValueError("the target text is empty")
    ids, seg = tokenizer.encode(source, target, maxlen=maxlen)
    if 1 not in seg:
        raise ValueError(f"maxlen={maxlen} leaves no room for the target")
    return {"token_ids": list(ids), "segment_ids": list(seg), "labels": unilm_labels(ids, seg)}


class UniLMSeq2Seq(nn.Module):
    """A UniLM model plus its seq2seq loss: ``forward(**batch)`` returns the mean loss.

    The MLM head runs only from the batch's first labelled position on
    (``logits_to_keep``), which halves the cost of a small model on long sources.

    Args:
        model: a kexue BERT-family model built with ``application="unilm"`` (its output has
            ``.logits`` over the vocabulary at every position).
        loss: ``(logits (n, vocab), labels (n,)) -> scalar`` over the labelled positions;
            default cross-entropy; e.g. ``kexue.objectives.SparseCrossEntropy(k=10)`` for the
            sparse softmax of kexue.fm/archives/8046.
    """

    def __init__(self, model: nn.Module, *,
                 loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None) -> None:
        super().__init__()
        if getattr(model, "application", None) != "unilm":
            raise ValueError("UniLMSeq2Seq needs a model built with application='unilm', got "
                             f"{getattr(model, 'application', type(model).__name__)!r}")
        self.model = model
        self.loss = loss if loss is not None else F.cross_entropy

    def target_logits(self, token_ids: torch.Tensor, segment_ids: torch.Tensor,
                      labels: torch.Tensor, attention_mask: torch.Tensor | None = None
                      ) -> tuple[Any, torch.Tensor, torch.Tensor]:
        """``(output, logits (n, vocab), labels (n,))`` at the ``n`` labelled positions; the
        output's ``hidden`` covers every position, its ``logits`` only the columns from the
        batch's first labelled one on."""
        picked = labels != IGNORE_INDEX
        if not bool(picked.any()):
            raise ValueError("the batch has no target positions (all labels are -100)")
        # the MLM head runs from the first labelled column on (the shortest source's [SEP]):
        # the source positions' logits are never used, and the head is half a small model
        first = int(picked.any(0).nonzero()[0])
        out = self.model(token_ids, segment_ids, attention_mask=attention_mask,
                         logits_to_keep=labels.shape[1] - first)
        picked = picked[:, first:]
        return out, out.logits[picked], labels[:, first:][picked]

    def forward(self, token_ids: torch.Tensor, segment_ids: torch.Tensor, labels: torch.Tensor,
                attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        _, logits, target = self.target_logits(token_ids, segment_ids, labels, attention_mask)
        return self.loss(logits, target)
