"""Sentence encoders: any kexue Transformer + a pooling (P1–P4, kexue.fm/archives/8321)
+ optional BERT-whitening (archives/8069), encoding many texts in length-bucketed batches.

:class:`SentenceEncoder` is an ``nn.Module``: ``forward(token_ids, segment_ids, attention_mask)``
gives differentiable sentence vectors (what the training recipes use), and :meth:`encode`
turns a list of texts into a float32 ``(n, d)`` array in input order, batching texts of
similar length together (:class:`kexue.data.LengthBucketSampler` without shuffling sorts the
texts by token count; :class:`kexue.data.PadCollate` pads and builds the key mask). Because the
model masks padded keys and the pooling skips padded positions, a text's vector does not
depend on its batch neighbours (up to float rounding; the tests check it against one text at
a time).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from kexue.similarity.pooling import POOLINGS, canonical, pool
from kexue.similarity.whitening import Whitening

__all__ = ["SentenceEncoder", "check_texts", "read_settings", "SETTINGS"]

#: the file beside a saved encoder's weights that names its pooling and maxlen
SETTINGS = "similarity.json"


def read_settings(path: str | os.PathLike) -> dict[str, Any]:
    """The ``similarity.json`` of a model directory (``{}`` when there is none); a malformed
    one is a ``ValueError`` naming the file."""
    import json

    f = Path(path) / SETTINGS
    if not f.is_file():
        return {}
    try:
        out = json.loads(f.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{f}: not valid JSON ({err})") from None
    if not isinstance(out, dict):
        raise ValueError(f"{f}: expected a JSON object, got {type(out).__name__}")
    return out


def check_texts(texts: Sequence[str], what: str = "text") -> list[str]:
    """The texts as a list; ``ValueError`` naming the first empty (or whitespace-only) one or
    the first non-string."""
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"{what} {i + 1} is a {type(t).__name__}, not a str")
        if not t.strip():
            raise ValueError(f"{what} {i + 1} is empty: an empty sentence has no vector")
    return out


class SentenceEncoder(nn.Module):
    """Sentence vectors from a kexue BERT-family model.

    Args:
        model: a kexue model (``build_transformer_model``); P2 needs it built with a pooler.
        tokenizer: a :class:`kexue.text.Tokenizer` (anything with ``encode(text, maxlen=)``).
        pooling: ``"P1"``..``"P4"`` or an alias (``"cls"``, ``"pooler"``, ``"last-avg"``,
            ``"first-last-avg"``).
        maxlen: tokens per text, ``[CLS]`` and ``[SEP]`` included (longer texts are cut).
        whitening: a fitted :class:`~kexue.similarity.whitening.Whitening` applied by
            :meth:`encode` (not by :meth:`forward`).
    """

    def __init__(self, model: nn.Module, tokenizer: Any, pooling: str = "P3", *,
                 maxlen: int = 64, whitening: Whitening | None = None) -> None:
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.pooling = canonical(pooling)
        if isinstance(maxlen, bool) or not isinstance(maxlen, int) or maxlen < 3:
            raise ValueError(f"maxlen must be an int >= 3, got {maxlen!r}")
        self.maxlen = maxlen
        self.whitening = whitening
        if self.pooling == "P2" and getattr(model, "pooler", None) is None:
            raise ValueError("pooling P2 needs a model with a pooler: build it with "
                             "with_pool=True (or with_nsp=True)")
        if self.pooling == "P4" and not _layers(model):
            raise ValueError("pooling P4 needs a model whose Transformer layers are "
                             "`model.layers` (the BERT family)")

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, pooling: str | None = None, *,
                        family: str | None = None, maxlen: int | None = None,
                        whitening: str | os.PathLike | Whitening | None = None,
                        **build: Any) -> SentenceEncoder:
        """An encoder for the HF-format model directory ``path`` (``config.json``,
        ``model.safetensors``, ``vocab.txt``); the MLM/NSP heads it carries are skipped, the
        pooler is loaded. ``pooling`` and ``maxlen`` default to the directory's
        ``similarity.json`` (written by :meth:`save_pretrained`), else ``"P3"`` and 64.
        ``whitening``: a :class:`Whitening` or the path of a saved one."""
        from kexue.models import build_transformer_model
        from kexue.text import Tokenizer

        path = Path(path)
        if not (path / "vocab.txt").is_file():
            raise FileNotFoundError(f"{path} has no vocab.txt: not a kexue/HF model directory")
        saved = read_settings(path)
        build.setdefault("with_pool", True)
        build.setdefault("ignore", r"^cls\.")
        model = build_transformer_model(checkpoint_path=path, model=family, **build)
        if isinstance(whitening, str | os.PathLike):
            whitening = Whitening.load(whitening)
        return cls(model.eval(), Tokenizer(path / "vocab.txt"),
                   pooling if pooling is not None else saved.get("pooling", "P3"),
                   maxlen=maxlen if maxlen is not None else saved.get("maxlen", 64),
                   whitening=whitening)

    def save_pretrained(self, path: str | os.PathLike, *, overwrite: bool = False,
                        **info: Any) -> Path:
        """Write the model (HF format, :func:`kexue.models.save_pretrained`), its
        ``vocab.txt`` and ``similarity.json`` (pooling, maxlen and any JSON-able ``info``,
        e.g. the training recipe) as one directory that appears only when complete. A
        whitening is not saved here (:meth:`Whitening.save`)."""
        import json

        from kexue.io.atomic import atomic_directory
        from kexue.models import save_pretrained

        settings = {"pooling": self.pooling, "maxlen": self.maxlen, **info}
        text = json.dumps(settings, ensure_ascii=False, indent=2) + "\n"  # fails before writing
        with atomic_directory(path, overwrite=overwrite) as tmp:
            inner = save_pretrained(self.model, tmp / "model",
                                    vocab=self.tokenizer.token_dict)
            for f in inner.iterdir():
                f.rename(tmp / f.name)
            inner.rmdir()
            (tmp / SETTINGS).write_text(text, encoding="utf-8")
        return Path(path)

    # ---- differentiable ---------------------------------------------------------------------
    def forward(self, token_ids: Tensor, segment_ids: Tensor | None = None,
                attention_mask: Tensor | None = None, **model_kwargs: Any) -> Tensor:
        """Sentence vectors ``(batch, hidden)`` (no whitening), differentiable."""
        return self.pool_many(token_ids, segment_ids, attention_mask, (self.pooling,),
                              **model_kwargs)[self.pooling]

    def pool_many(self, token_ids: Tensor, segment_ids: Tensor | None,
                  attention_mask: Tensor | None, poolings: Sequence[str],
                  **model_kwargs: Any) -> dict[str, Tensor]:
        """Several poolings from one forward pass: ``{"P1": (batch, hidden), ...}``."""
        poolings = [canonical(p) for p in poolings]
        if attention_mask is None:
            pad = getattr(getattr(self.model, "config", None), "pad_token_id", 0)
            attention_mask = (token_ids != pad).long()
        first: list[Tensor] = []
        handle = None
        if "P4" in poolings:
            if not _layers(self.model):
                raise ValueError("pooling P4 needs the model's Transformer layers")

            def grab(_module, _inputs, output):
                first.append(output[0] if isinstance(output, tuple) else output)
            handle = _layers(self.model)[0].register_forward_hook(grab)
        try:
            out = self.model(token_ids, segment_ids, attention_mask=attention_mask,
                             **model_kwargs)
        finally:
            if handle is not None:
                handle.remove()
        return {p: pool(p, out.hidden, attention_mask, first=first[0] if first else None,
                        pooled=out.pooled) for p in poolings}

    # ---- batch inference --------------------------------------------------------------------
    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text (``[CLS] text [SEP]``, cut to ``maxlen``)."""
        return [list(self.tokenizer.encode(t, maxlen=self.maxlen)[0]) for t in texts]

    @torch.inference_mode()
    def encode(self, texts: Sequence[str], batch_size: int = 64, *,
               whiten: bool = True) -> np.ndarray:
        """float32 ``(len(texts), d)`` vectors in input order (whitened when the encoder has a
        whitening and ``whiten``). Empty texts are an error."""
        out = self.encode_many(texts, (self.pooling,), batch_size)[self.pooling]
        if whiten and self.whitening is not None:
            return self.whitening.transform(out)
        return out

    @torch.inference_mode()
    def encode_many(self, texts: Sequence[str], poolings: Sequence[str] = POOLINGS,
                    batch_size: int = 64) -> dict[str, np.ndarray]:
        """Unwhitened float32 vectors of several poolings from one pass over ``texts``."""
        from kexue.data import LengthBucketSampler, PadCollate

        texts = check_texts(texts)
        poolings = [canonical(p) for p in poolings]
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        was_training = self.training
        self.eval()
        device = next(self.model.parameters()).device
        ids = self.tokenize(texts)
        width = int(self.model.config.hidden_size)
        out = {p: np.empty((len(ids), width), dtype=np.float32) for p in poolings}
        collate = PadCollate()
        try:
            if ids:
                window = max(1, math.ceil(len(ids) / batch_size))  # one window: sort them all
                sampler = LengthBucketSampler([len(x) for x in ids], batch_size,
                                              shuffle=False, window=window)
                for batch in sampler:
                    b = collate([{"token_ids": ids[i]} for i in batch])
                    tok = b["token_ids"].to(device)
                    vecs = self.pool_many(tok, torch.zeros_like(tok),
                                          b["attention_mask"].to(device), poolings)
                    rows = np.asarray(batch)
                    for p, v in vecs.items():
                        out[p][rows] = v.float().cpu().numpy()
        finally:
            self.train(was_training)
        return out

    @property
    def dim(self) -> int:
        """Width of :meth:`encode`'s vectors."""
        if self.whitening is not None:
            return self.whitening.n_components
        return int(self.model.config.hidden_size)


def _layers(model: nn.Module) -> nn.ModuleList | None:
    layers = getattr(model, "layers", None)
    return layers if isinstance(layers, nn.ModuleList) and len(layers) else None
