"""The one output type of every kexue model: :class:`ModelOutput`.

Every family (BERT, RoFormer, NEZHA, GPT-2, GPT2_ML, T5) and every application (``encoder``,
``lm``, ``unilm``) returns a ``ModelOutput`` from ``model(...)``, whatever heads were built:
the type never changes with a flag, only which fields are filled.

Fields (attribute access; the transformers names are aliases):

========================  ==========================================  ==========================
field                     what                                        alias (transformers)
========================  ==========================================  ==========================
``hidden``                final hidden states ``(batch, len, hidden)`` ``last_hidden_state``
``pooled``                pooler output ``(batch, hidden)``            ``pooler_output``
``nsp_logits``            next-sentence logits ``(batch, 2)``          ``seq_relationship_logits``
``logits``                vocabulary logits ``(batch, len, vocab)``    ``prediction_logits``,
                          (MLM head, causal / UniLM / T5 LM head)      ``mlm_logits``
========================  ==========================================  ==========================

It also behaves like the tuple of the fields that are present, in that fixed order (``hidden``
first): ``hidden, logits = model(ids)`` for an ``lm`` model, ``out[0]`` is always ``hidden``,
``len(out)`` counts the present fields. ``out["logits"]`` works too. Indexing with a tensor
(``out[:, -1]``) is an error: take the field first (``out.logits[:, -1]``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields

import torch

__all__ = ["ModelOutput", "EncoderOutput", "logits_of"]

_ALIASES = {
    "last_hidden_state": "hidden",
    "pooler_output": "pooled",
    "seq_relationship_logits": "nsp_logits",
    "prediction_logits": "logits",
    "mlm_logits": "logits",
}


@dataclass
class ModelOutput:
    """What every kexue model returns (see the module docstring for the fields and order)."""

    hidden: torch.Tensor
    pooled: torch.Tensor | None = None
    nsp_logits: torch.Tensor | None = None
    logits: torch.Tensor | None = None

    def __getattr__(self, name: str):
        # only reached for names that are not fields: the transformers aliases
        if name in _ALIASES:
            return getattr(self, _ALIASES[name])
        raise AttributeError(
            f"ModelOutput has no field {name!r}; fields: "
            f"{[f.name for f in fields(self)]}, aliases: {sorted(_ALIASES)}"
        )

    def present(self) -> tuple[str, ...]:
        """The names of the fields that are set, in the fixed order."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) is not None)

    def to_tuple(self) -> tuple[torch.Tensor, ...]:
        """The present fields in order: ``(hidden, [pooled], [nsp_logits], [logits])``."""
        return tuple(getattr(self, name) for name in self.present())

    def __iter__(self) -> Iterator[torch.Tensor]:
        return iter(self.to_tuple())

    def __len__(self) -> int:
        return len(self.present())

    def __getitem__(self, index: int | slice | str):
        if isinstance(index, str):
            if index in _ALIASES:
                index = _ALIASES[index]
            if index not in {f.name for f in fields(self)}:
                raise KeyError(index)
            return getattr(self, index)
        if isinstance(index, int | slice):
            return self.to_tuple()[index]
        raise TypeError(
            f"ModelOutput is indexed like the tuple {self.present()} (an int or a slice) or by "
            f"field name, not by {type(index).__name__}: take a field first, e.g. "
            "out.logits[:, -1] or out.hidden[:, 0]"
        )


#: The name of the type before every family returned it (kept for old imports).
EncoderOutput = ModelOutput


def logits_of(out) -> torch.Tensor:
    """The logits of a model's output: ``out.logits`` of a :class:`ModelOutput` (an error
    naming the problem when the model has no LM/MLM head), or ``out`` itself when a custom
    callable already returned a tensor."""
    if isinstance(out, ModelOutput):
        if out.logits is None:
            raise ValueError(
                "the model returned no logits (it was built without an LM/MLM head: use "
                "application='lm'/'unilm', with_mlm=True, or T5's with_lm=True)"
            )
        return out.logits
    return out
