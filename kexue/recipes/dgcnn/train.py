"""Training, prediction, saving and loading of the DGCNN reader (uses ``kexue.train.fit``).

The article's schedule: Adam 1e-3 until the select score stops improving, reload the best
weights, then Adam 1e-4 (``epochs`` and ``epochs_low`` below). Loss: binary focal loss
(α = 0.25, γ = 2, the release's values) on the start and end probabilities
``σ(s)·σ(g)``; augmentation: each character id is replaced by ``[UNK]`` with probability
``drop_chars`` (the article's "random word-id zeroing", its biggest gain).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from kexue.data.batching import PadCollate
from kexue.io.atomic import atomic_directory, write_bytes, write_text
from kexue.objectives import focal_loss
from kexue.recipes.dgcnn.data import UNK, Question, Vocab, encode_passage
from kexue.recipes.dgcnn.decode import decode_question
from kexue.recipes.dgcnn.metrics import score_answers
from kexue.recipes.dgcnn.model import DGCNN, DGCNNConfig, product_logit
from kexue.train import Evaluator, fit

__all__ = ["TrainOptions", "train_reader", "predict", "evaluate", "save_reader", "load_reader"]

_COLLATE = PadCollate(mask_field=None)


@dataclass
class TrainOptions:
    epochs: int = 12
    epochs_low: int = 4
    lr: float = 1e-3
    batch_size: int = 32
    max_len: int = 256
    loss: str = "focal"
    drop_chars: float = 0.05
    min_count: int = 1
    seed: int = 0
    model: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.loss not in ("focal", "bce"):
            raise ValueError(f"loss must be 'focal' or 'bce', got {self.loss!r}")
        if not 0.0 <= self.drop_chars < 1.0:
            raise ValueError(f"drop_chars must be in [0, 1), got {self.drop_chars}")
        for name in ("epochs_low", "max_len", "batch_size", "min_count"):
            if getattr(self, name) < (0 if name == "epochs_low" else 1):
                raise ValueError(f"{name} must be >= {0 if name == 'epochs_low' else 1}")
        if self.epochs < 1:
            raise ValueError("epochs must be >= 1")


def _examples(vocab: Vocab, questions: Sequence[Question], max_len: int) -> list[dict]:
    return [encode_passage(vocab, q.question, p, a, max_len)
            for q in questions for p, a in zip(q.passages, q.answers) if p]


def _loss_fn(kind: str, drop_chars: float):
    def loss_fn(model, batch):
        p_ids = batch["p_ids"]
        q_ids = batch["q_ids"]
        if drop_chars > 0:
            p_ids = torch.where((torch.rand(p_ids.shape) < drop_chars) & (p_ids > 0),
                                torch.full_like(p_ids, UNK), p_ids)
            q_ids = torch.where((torch.rand(q_ids.shape) < drop_chars) & (q_ids > 0),
                                torch.full_like(q_ids, UNK), q_ids)
        s, e, g = model(q_ids, p_ids, batch["p_feat"])
        mask = (batch["p_ids"] > 0).float()
        g = g.unsqueeze(-1)
        total = 0.0
        for logits, target in ((product_logit(s, g), batch["start"]),
                               (product_logit(e, g), batch["end"])):
            if kind == "focal":
                per = focal_loss(logits, target, 2.0, 0.25, reduction="none") * 100
            else:
                per = torch.nn.functional.binary_cross_entropy_with_logits(
                    logits, target, reduction="none")
            total = total + (per * mask).sum() / mask.sum()
        return total
    return loss_fn


@torch.no_grad()
def predict(model: DGCNN, vocab: Vocab, questions: Sequence[Question], *, max_len: int = 256,
            batch_size: int = 64, threshold: float = 0.0) -> list[str | None]:
    """The voted answer of each question (``None``: nothing above ``threshold``)."""
    was = model.training
    model.eval()
    items = [(qi, pi, encode_passage(vocab, q.question, p, (), max_len))
             for qi, q in enumerate(questions) for pi, p in enumerate(q.passages) if p]
    probs: dict[tuple[int, int], tuple[list[float], list[float]]] = {
        (qi, pi): ([], []) for qi, q in enumerate(questions) for pi, p in enumerate(q.passages)}
    for i in range(0, len(items), batch_size):
        chunk = items[i:i + batch_size]
        batch = _COLLATE([x for _, _, x in chunk])
        ps, pe = model.probabilities(batch["q_ids"], batch["p_ids"], batch["p_feat"])
        for row, (qi, pi, x) in enumerate(chunk):
            n = len(x["p_ids"])
            probs[qi, pi] = (ps[row, :n].tolist(), pe[row, :n].tolist())
    model.train(was)
    out = []
    for qi, q in enumerate(questions):
        starts = [probs[qi, pi][0] for pi in range(len(q.passages))]
        ends = [probs[qi, pi][1] for pi in range(len(q.passages))]
        out.append(decode_question(q.passages, starts, ends, threshold=threshold)[0])
    return out


def evaluate(model: DGCNN, vocab: Vocab, questions: Sequence[Question], *,
             max_len: int = 256) -> dict:
    preds = predict(model, vocab, questions, max_len=max_len)
    return score_answers(preds, [q.gold for q in questions])


def train_reader(train: Sequence[Question], select: Sequence[Question],
                 options: TrainOptions | None = None, *, progress: bool = False,
                 log=None) -> tuple[DGCNN, Vocab, dict]:
    """Train on ``train``, keep the weights with the best EM+F1 on ``select``.

    Returns the model (best weights loaded), its vocabulary and a summary dict (select
    scores, per-epoch history).
    """
    o = options or TrainOptions()
    if not train:
        raise ValueError("no training question")
    if not select:
        raise ValueError("no select question")
    torch.manual_seed(o.seed)
    texts = [q.question for q in train] + [p for q in train for p in q.passages]
    vocab = Vocab.build(texts, o.min_count)
    model = DGCNN(DGCNNConfig(vocab_size=len(vocab), **o.model))
    data = _examples(vocab, train, o.max_len)
    lengths = [len(x["p_ids"]) for x in data]
    history: list[dict] = []
    best: tuple[float, dict] | None = None  # over the stages

    def eval_fn(m):
        r = evaluate(m, vocab, select, max_len=o.max_len)
        if log is not None:
            log(f"select EM {r['em']:.3f} F1 {r['f1']:.3f}")
        return {"score": r["score"], "em": r["em"], "f1": r["f1"]}

    for stage, (epochs, lr) in enumerate(((o.epochs, o.lr), (o.epochs_low, o.lr / 10))):
        if epochs == 0:
            continue
        ev = Evaluator(eval_fn, monitor="score", restore_best=True)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        trainer = fit(model, _loss_fn(o.loss, o.drop_chars), data, optimizer=opt,
                      batch_size=o.batch_size, epochs=epochs, collate_fn=_COLLATE,
                      lengths=lengths, seed=o.seed + stage, progress=progress,
                      clip_grad_norm=5.0, callbacks=[ev])
        history += [dict(h, stage=stage) for h in trainer.history if "score" in h]
        if ev.best is not None:
            if best is None or ev.best > best[0]:
                best = (ev.best, ev.best_weights)
            else:  # this stage found nothing better: back to the earlier stage's best
                model.load_state_dict(best[1])
    summary = {"select": evaluate(model, vocab, select, max_len=o.max_len), "history": history,
        "parameters": model.num_parameters(), "train_questions": len(train),
        "select_questions": len(select), "options": {k: v for k, v in vars(o).items()}}
    return model, vocab, summary


def save_reader(path: str | os.PathLike, model: DGCNN, vocab: Vocab, summary: dict | None = None,
                *, overwrite: bool = False) -> None:
    """A directory with ``config.json``, ``vocab.json``, ``model.safetensors`` (and
    ``train_summary.json``), which appears whole or not at all."""
    from safetensors.torch import save as st_save

    with atomic_directory(path, overwrite=overwrite) as tmp:
        write_text(Path(tmp) / "config.json",
                   json.dumps(model.config.to_dict(), indent=1, sort_keys=True) + "\n")
        write_text(Path(tmp) / "vocab.json", vocab.to_text())
        tensors = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
        write_bytes(Path(tmp) / "model.safetensors", st_save(tensors, metadata={"format": "pt"}))
        if summary is not None:
            write_text(Path(tmp) / "train_summary.json",
                       json.dumps(summary, indent=1, ensure_ascii=False, default=str) + "\n")


def load_reader(path: str | os.PathLike) -> tuple[DGCNN, Vocab]:
    """Load a directory written by :func:`save_reader`; ``ValueError`` naming what is wrong."""
    from safetensors.torch import load as st_load

    p = Path(path)
    if not p.is_dir():
        raise ValueError(f"model directory not found: {path}")
    for name in ("config.json", "vocab.json", "model.safetensors"):
        if not (p / name).is_file():
            raise ValueError(f"{path} is not a DGCNN model directory: {name} is missing")
    try:
        config = DGCNNConfig.from_dict(json.loads((p / "config.json").read_text("utf-8")))
        vocab = Vocab.from_text((p / "vocab.json").read_text("utf-8"))
        state = st_load((p / "model.safetensors").read_bytes())
    except (ValueError, TypeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read the model ({e})") from None
    if len(vocab) != config.vocab_size:
        raise ValueError(f"{path}: vocab.json has {len(vocab)} entries, config says "
                         f"{config.vocab_size}")
    model = DGCNN(config)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise ValueError(f"{path}: the weights do not fit the config ({e})") from None
    model.eval()
    return model, vocab
