"""``Bert4KerasDecoder``: bert4keras's ``predict(inputs, output_ids, states)`` decoding style.

bert4keras recipes (math word problems https://kexue.fm/archives/7809, SimBERT
https://kexue.fm/archives/7427, SPACES https://kexue.fm/archives/8046, GPT2_ML
https://kexue.fm/archives/7292) subclass ``AutoRegressiveDecoder`` and write one method,
``predict(inputs, output_ids, states)``, that returns the next-token probabilities (or logits)
of every row given the model inputs and the tokens generated so far. This adapter keeps that
shape for people porting such recipes::

    class AutoTitle(Bert4KerasDecoder):
        def predict(self, inputs, output_ids, states):
            token_ids, segment_ids = inputs
            token_ids = torch.cat([token_ids, output_ids], 1)
            segment_ids = torch.cat([segment_ids, torch.ones_like(output_ids)], 1)
            return model(token_ids, segment_ids).logits[:, -1].softmax(-1)  # probabilities

    autotitle = AutoTitle(start_id=None, end_id=sep_id, maxlen=32)
    autotitle.beam_search([token_ids, segment_ids], topk=3)   # -> generated ids

It runs on kexue's batched engine (:class:`kexue.decoding.AutoRegressiveDecoder` with a
recipe-defined step), so the search rules are kexue's: ``beam_search`` is bert4keras's
(``length_penalty=0``, stop once the best finished hypothesis beats every running beam,
``min_ends``), ``random_sample`` draws ``n`` samples with top-k / top-p. Like bert4keras,
``predict`` re-runs the model on the whole sequence each step (no KV cache; for speed, write a
step instead, see docs/decoding.md).

Differences from bert4keras, on purpose: ``inputs`` and ``output_ids`` are torch tensors with
one row per hypothesis (each input repeated for beams / samples); ``states`` returned by
``predict`` (``use_states = True``) follow their rows through beam search when they are a
tensor with one entry per row along dim 0 or a list with one item per row (bert4keras does
not reorder them); other values are passed back unchanged. The returned ids hold the generated
tokens with the end token and without ``start_id``. ``minlen`` counts generated tokens: ends
before it are allowed but do not terminate, as in bert4keras.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from kexue.decoding.decoder import AutoRegressiveDecoder
from kexue.decoding.state import DecodeState

__all__ = ["Bert4KerasDecoder"]

_KEY = "bert4keras_states"
_RTYPES = ("probas", "logits")


class _PredictStep:
    """A recipe-defined step that calls ``owner.predict`` on the whole sequence."""

    def __init__(self, owner: Bert4KerasDecoder, inputs: list[torch.Tensor], states) -> None:
        self.owner = owner
        self.inputs = inputs
        self.shared = states

    def __call__(self, token_ids, positions, cache, state: DecodeState) -> torch.Tensor:
        owner = self.owner
        rows = state.rows
        inputs = [x.index_select(0, state.input_index.to(x.device)) for x in self.inputs]
        output_ids = state.generated
        if owner.start_id is not None:
            start = output_ids.new_full((rows, 1), owner.start_id)
            output_ids = torch.cat([start, output_ids], dim=1)
        states = state.extra.get(_KEY, self.shared)
        out = owner.predict(inputs, output_ids, states)
        if owner.use_states:
            if not isinstance(out, tuple | list) or len(out) != 2:
                raise TypeError("with use_states = True, predict must return (prediction, states)")
            out, states = out
            per_row = (isinstance(states, torch.Tensor) and states.dim() > 0
                       and states.shape[0] == rows) or (
                isinstance(states, list) and len(states) == rows
            )  # fmt: skip
            if per_row:
                state.extra[_KEY] = states
            else:
                state.extra.pop(_KEY, None)
                self.shared = states
        pred = torch.as_tensor(out)
        if pred.dim() == 3:
            pred = pred[:, -1]
        if pred.dim() != 2 or pred.shape[0] != rows:
            raise ValueError(
                f"predict must return one row of next-token {owner.rtype} per hypothesis, "
                f"({rows}, vocab); got shape {tuple(pred.shape)}"
            )
        if owner.rtype == "probas":
            if bool((pred < 0).any()):
                raise ValueError("predict returned negative probabilities (rtype = 'probas')")
            return torch.log(pred.double()).float()
        return pred


class Bert4KerasDecoder:
    """Subclass and define ``predict(inputs, output_ids, states)`` (bert4keras style).

    Class attributes:
        rtype: what ``predict`` returns, ``"probas"`` (next-token probabilities, bert4keras's
            ``default_rtype='probas'``) or ``"logits"`` (unnormalised scores).
        use_states: ``predict`` returns ``(prediction, new_states)`` (bert4keras
            ``use_states=True``).

    Args:
        start_id: a token prepended to ``output_ids`` (the decoder start of seq2seq models), or
            ``None``.
        end_id: the end token (bert4keras ``end_id``).
        maxlen: at most this many generated tokens.
        minlen: ends before this many generated tokens do not terminate (bert4keras
            ``minlen``).
    """

    rtype = "probas"
    use_states = False

    def __init__(
        self, start_id: int | None, end_id: int | None, maxlen: int, minlen: int = 1
    ) -> None:
        if self.rtype not in _RTYPES:
            raise ValueError(f"rtype must be one of {_RTYPES}, got {self.rtype!r}")
        for name, value, low in (("maxlen", maxlen, 1), ("minlen", minlen, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        if minlen > maxlen:
            raise ValueError(f"minlen ({minlen}) > maxlen ({maxlen})")
        if start_id is not None and (not isinstance(start_id, int) or start_id < 0):
            raise ValueError(f"start_id must be None or an int >= 0, got {start_id!r}")
        self.start_id = start_id
        self.end_id = end_id
        self.maxlen = maxlen
        self.minlen = minlen

    def predict(self, inputs: list[torch.Tensor], output_ids: torch.Tensor, states: Any):
        """Next-token probabilities (``rtype = "probas"``) or logits of every row:
        ``(rows, vocab)`` (or ``(rows, len, vocab)``, of which the last position is used)."""
        raise NotImplementedError("subclass Bert4KerasDecoder and define predict()")

    # ------------------------------------------------------------------ engine
    def _decoder(self, inputs, states) -> tuple[AutoRegressiveDecoder, list[int]]:
        if isinstance(inputs, str | bytes) or not isinstance(inputs, Sequence) or not inputs:
            raise TypeError("inputs must be a non-empty list of model inputs of one example")
        tensors = []
        for i, x in enumerate(inputs):
            t = torch.as_tensor(x)
            if t.dim() == 0:
                raise ValueError(f"input {i} is a scalar; give one example's sequences")
            tensors.append(t[None])
        step = _PredictStep(self, tensors, states)
        dec = AutoRegressiveDecoder(None, step=step, end_id=self.end_id, pad_id=0)
        return dec, [0]

    def _kw(self, min_ends: int) -> dict:
        return dict(
            max_new_tokens=self.maxlen, min_new_tokens=self.minlen, min_ends=min_ends,
            mask_ends=False,
        )  # fmt: skip

    def beam_search(
        self, inputs, topk: int, states=None, temperature: float = 1.0, min_ends: int = 1
    ) -> list[int]:
        """The best sequence of a beam search of width ``topk`` (bert4keras's rule)."""
        dec, prompt = self._decoder(inputs, states)
        out = dec.beam_search(
            [prompt], num_beams=topk, length_penalty=0.0, early_stopping="best",
            temperature=temperature, **self._kw(min_ends),
        )  # fmt: skip
        return out.tolist()[0][0]

    def random_sample(
        self,
        inputs,
        n: int,
        topk: int | None = None,
        topp: float | None = None,
        states=None,
        temperature: float = 1.0,
        min_ends: int = 1,
        seed: int | None = None,
    ) -> list[list[int]]:
        """``n`` samples (top-k / top-p filtering as bert4keras)."""
        dec, prompt = self._decoder(inputs, states)
        out = dec.random_sample(
            [prompt], n=n, top_k=topk or 0, top_p=1.0 if topp is None else topp,
            temperature=temperature, seed=seed, **self._kw(min_ends),
        )  # fmt: skip
        return out.tolist()[0]
