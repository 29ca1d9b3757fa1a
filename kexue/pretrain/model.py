"""The model being pretrained: a kexue model plus the loss of each objective.

:class:`BertPretrainer` wraps a BERT-family model (``bert``, ``roformer``, ``nezha``, ...):

- MLM (+ NSP) runs use the encoder and apply the MLM head only at the masked positions
  (15 % of the tokens), which saves most of the ``hidden x vocab`` output product: for the
  4 x 256 model with its 13,585-token vocabulary that product costs as much as the encoder.
  The head is the model's own ``mlm`` module, moved beside it at construction.
- UniLM runs (alone or mixed with MLM) use ``application="unilm"``: the model builds the
  bert4keras UniLM mask from the segment ids and returns logits everywhere.

:class:`CausalLMPretrainer` wraps a GPT-2 (``application="lm"``). ``forward(**batch)``
returns the batch's mean loss; :meth:`export` gives back a plain kexue model (with its MLM /
NSP heads) for ``save_pretrained``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from kexue.models import build_transformer_model
from kexue.pretrain.masking import IGNORE_INDEX

__all__ = ["BertPretrainer", "CausalLMPretrainer", "build_pretrainer"]


class BertPretrainer(nn.Module):
    """MLM / NSP / UniLM training of a BERT-family ``model`` (see the module docstring).

    ``model`` must have been built with ``with_mlm=True`` (``application="unilm"`` has it);
    ``nsp`` needs ``with_nsp=True``."""

    def __init__(self, model: nn.Module, *, nsp: bool = False) -> None:
        super().__init__()
        if getattr(model, "mlm", None) is None:
            raise ValueError("the model has no MLM head: build it with with_mlm=True")
        if nsp and getattr(model, "nsp", None) is None:
            raise ValueError("NSP training needs a model built with with_nsp=True")
        self.unilm = model.application == "unilm"
        if nsp and self.unilm:
            raise ValueError("NSP and UniLM cannot share a model: use application='encoder'")
        if not self.unilm and model.application != "encoder":
            raise ValueError(f"application {model.application!r}: use 'encoder' or 'unilm'")
        self.use_nsp = bool(nsp)
        self.model = model
        self.head = None
        if not self.unilm:  # move the head aside: the encoder then returns hidden states
            self.head = model.mlm
            model.mlm = None

    def _hidden(self, out: Any) -> torch.Tensor:
        return out.hidden

    def forward(self, token_ids: torch.Tensor, labels: torch.Tensor,
                segment_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None,
                nsp_label: torch.Tensor | None = None,
                objective: torch.Tensor | None = None) -> torch.Tensor:
        out = self.model(token_ids, segment_ids, attention_mask=attention_mask)
        if self.unilm:
            picked = labels != IGNORE_INDEX
            loss = F.cross_entropy(out.logits[picked], labels[picked])
        else:
            picked = labels != IGNORE_INDEX
            hidden = self._hidden(out)[picked]
            logits = self.head(hidden, self.model.embeddings.token.weight)
            loss = F.cross_entropy(logits, labels[picked])
        if self.use_nsp:
            if nsp_label is None:
                raise ValueError("an NSP model needs nsp_label in the batch")
            loss = loss + F.cross_entropy(out.nsp_logits, nsp_label)
        return loss

    @torch.no_grad()
    def predict(self, token_ids: torch.Tensor, labels: torch.Tensor,
                segment_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None,
                **_: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Predicted ids at the labelled positions (flattened), and NSP logits (or None)."""
        out = self.model(token_ids, segment_ids, attention_mask=attention_mask)
        picked = labels != IGNORE_INDEX
        if self.unilm:
            return out.logits[picked].argmax(-1), None
        logits = self.head(self._hidden(out)[picked], self.model.embeddings.token.weight)
        return logits.argmax(-1), (out.nsp_logits if self.use_nsp else None)

    def export(self) -> nn.Module:
        """A copy of the kexue model with its MLM head back in place (for save_pretrained)."""
        model = copy.deepcopy(self.model)
        if self.head is not None:
            model.mlm = copy.deepcopy(self.head)
        return model.eval()


class CausalLMPretrainer(nn.Module):
    """Causal-LM training of a GPT-2 (``application="lm"``): ``labels[i]`` is the token
    after position ``i`` (``IGNORE_INDEX`` where there is none)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, token_ids: torch.Tensor, labels: torch.Tensor,
                attention_mask: torch.Tensor | None = None,
                objective: torch.Tensor | None = None) -> torch.Tensor:
        logits = self.model(token_ids, attention_mask=attention_mask).logits
        picked = labels != IGNORE_INDEX
        return F.cross_entropy(logits[picked], labels[picked])

    @torch.no_grad()
    def nll(self, token_ids: torch.Tensor, labels: torch.Tensor,
            attention_mask: torch.Tensor | None = None, **_: Any) -> tuple[float, int]:
        """Summed negative log-likelihood (nats) and the number of predicted tokens."""
        logits = self.model(token_ids, attention_mask=attention_mask).logits
        picked = labels != IGNORE_INDEX
        loss = F.cross_entropy(logits[picked].float(), labels[picked], reduction="sum")
        return float(loss), int(picked.sum())

    def export(self) -> nn.Module:
        return copy.deepcopy(self.model).eval()


def build_pretrainer(family: str, config: Mapping[str, Any], objectives: Mapping[str, float],
                     checkpoint_path: str | None = None, *,
                     keep_tokens: list[int] | None = None,
                     compound_tokens: list[list[int]] | None = None) -> nn.Module:
    """The pretraining module for ``objectives``: a fresh model of ``family`` with ``config``
    (BERT-style initialisation), or the checkpoint ``checkpoint_path`` (HF or TF, any
    family kexue loads) continued (domain pretraining): its own config, ``config``'s fields
    overriding, its vocabulary rows picked and built by ``keep_tokens`` /
    ``compound_tokens`` (:func:`kexue.text.vocab_carry.carry_over`); in training mode."""
    config = dict(config)
    load: dict[str, Any] = {}
    if keep_tokens is not None or compound_tokens:
        if checkpoint_path is None:
            raise ValueError("keep_tokens / compound_tokens need a checkpoint to carry rows from")
        load = {"keep_tokens": keep_tokens, "compound_tokens": compound_tokens}

    def build(**options: Any) -> nn.Module:
        if checkpoint_path is None:
            return build_transformer_model(config, model=family, **options)
        return build_transformer_model(None, checkpoint_path, model=family, **config, **load,
                                       **options)

    if "lm" in objectives:
        return CausalLMPretrainer(build(application="lm")).train()
    if "unilm" in objectives:
        return BertPretrainer(build(application="unilm")).train()
    nsp = "nsp" in objectives
    options: dict[str, Any] = {"with_mlm": True}
    if nsp:
        options["with_nsp"] = True
    return BertPretrainer(build(**options), nsp=nsp).train()
