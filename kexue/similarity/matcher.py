r"""The conditional-LayerNorm multi-task matcher (kexue.fm/archives/8337, 搜狐文本匹配：基于
条件LayerNorm的多任务baseline; background 7124).

One shared cross-encoder reads ``[CLS] a [SEP] b [SEP]``; the task id ``t`` picks a condition
``c = E[t]`` (an ``Embedding(num_tasks, 128)``) that enters **every** LayerNorm of the model:

.. math::

    \mathrm{CLN}(x; c) = (\gamma + W_\gamma c) \odot \frac{x-\mu}{\sigma}
                         + (\beta + W_\beta c)

with :math:`W_\gamma, W_\beta` zero-initialised (:class:`kexue.layers.LayerNorm`), so before
training the model *is* the pretrained one for every task, bit for bit. The head is the mean of
the last layer over real tokens → Dense(2) (match / no match).

Build the backbone with ``layer_norm_cond_size=cond_size`` (:func:`build_cln_backbone` loads a
plain checkpoint into it: the condition weights are new and zero). ``conditional=False`` gives
the same model without the task id (the "one unconditioned model" baseline).
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import Tensor, nn

from kexue.similarity.pooling import masked_mean

__all__ = ["CLNMatcher", "build_cln_backbone"]


def build_cln_backbone(checkpoint: str | os.PathLike | None = None, *, cond_size: int = 128,
                       config: dict | None = None, family: str | None = None,
                       **build: Any) -> nn.Module:
    """A BERT-family model whose every LayerNorm takes a ``cond_size`` condition, holding the
    weights of a plain model (``checkpoint``, or a random one from ``config``); the condition
    weights are the only ones not loaded, and they are zero."""
    from kexue.models import build_transformer_model

    if checkpoint is not None:
        build.setdefault("ignore", r"^cls\.")
    plain = build_transformer_model(config, checkpoint, model=family, **build)
    build.pop("ignore", None)
    cfg = plain.config.to_dict()
    cfg["layer_norm_cond_size"] = cond_size
    fam = family or {"RoFormerConfig": "roformer", "NezhaConfig": "nezha"}.get(
        type(plain.config).__name__, "bert")
    model = build_transformer_model(cfg, model=fam, application=plain.application)
    missing, unexpected = model.load_state_dict(plain.state_dict(), strict=False)
    bad = [k for k in missing if ".cond_" not in k]
    if bad or unexpected:
        raise ValueError(f"plain and conditional models differ beyond the condition weights: "
                         f"missing {bad[:5]}, unexpected {list(unexpected)[:5]}")
    return model.eval()


class CLNMatcher(nn.Module):
    """Cross-encoder matcher: ``forward(token_ids, segment_ids, attention_mask, task_ids)``
    → logits ``(batch, 2)``.

    Args:
        backbone: a kexue BERT-family model; built with ``layer_norm_cond_size=cond_size``
            when ``conditional``.
        num_tasks: number of task ids.
        cond_size: width of the task embedding (the article's 128).
        conditional: feed the task embedding to every LayerNorm (else ignore the task id).
    """

    def __init__(self, backbone: nn.Module, num_tasks: int, *, cond_size: int = 128,
                 conditional: bool = True) -> None:
        super().__init__()
        self.backbone = backbone
        self.conditional = bool(conditional)
        have = getattr(backbone.config, "layer_norm_cond_size", None)
        if self.conditional and have != cond_size:
            raise ValueError(f"a conditional matcher needs a backbone built with "
                             f"layer_norm_cond_size={cond_size}, got {have}")
        if not self.conditional and have is not None:
            raise ValueError("an unconditioned matcher needs a plain backbone")
        self.num_tasks = int(num_tasks)
        self.task_embedding = nn.Embedding(num_tasks, cond_size) if self.conditional else None
        hidden = int(backbone.config.hidden_size)
        self.head = nn.Linear(hidden, 2)

    def condition(self, task_ids: Tensor) -> Tensor | None:
        if self.task_embedding is None:
            return None
        if bool(((task_ids < 0) | (task_ids >= self.num_tasks)).any()):
            raise ValueError(f"task ids must lie in 0..{self.num_tasks - 1}")
        return self.task_embedding(task_ids)

    def forward(self, token_ids: Tensor, segment_ids: Tensor, attention_mask: Tensor,
                task_ids: Tensor) -> Tensor:
        out = self.backbone(token_ids, segment_ids, attention_mask=attention_mask,
                            condition=self.condition(task_ids))
        return self.head(masked_mean(out.hidden, attention_mask))

    @torch.inference_mode()
    def match_probability(self, token_ids: Tensor, segment_ids: Tensor,
                          attention_mask: Tensor, task_ids: Tensor) -> Tensor:
        """P(match) of each pair."""
        return self(token_ids, segment_ids, attention_mask, task_ids).softmax(-1)[:, 1]
