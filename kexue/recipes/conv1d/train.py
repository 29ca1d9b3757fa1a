"""Training the Conv1D classifier (and its regression variant) with ``kexue.train.fit``.

The article's schedule (kexue.fm/archives/5505): stage 1 categorical cross-entropy with Adam
1e-3, keeping the weights with the best select macro-F1; stage 2 reloads them and trains
with Adam 1e-4 on ``−log(soft macro-F1 + ε)`` (:func:`kexue.objectives.smooth_macro_f1`),
again keeping the best. Class-balanced batches: the article draws fixed class fractions;
here each class is repeated to the size of the largest one every epoch (``balance=True``).
The regression variant (Tecator) has one output, mean-squared error on standardised targets,
and keeps the weights with the lowest select RMSE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from kexue.data.batching import PadCollate
from kexue.objectives import smooth_macro_f1
from kexue.recipes.conv1d.data import SeriesSet
from kexue.recipes.conv1d.metrics import accuracy, macro_f1, r2, rmse
from kexue.recipes.conv1d.model import DEFAULT_FILTERS, Conv1DNet
from kexue.train import Evaluator, fit

__all__ = ["Conv1DOptions", "Scaler", "train_conv1d", "predict_conv1d", "save_conv1d",
           "load_conv1d", "score_conv1d"]

_COLLATE = PadCollate(mask_field="x")


@dataclass
class Conv1DOptions:
    epochs: int = 40
    epochs_f1: int = 10
    lr: float = 1e-3
    batch_size: int = 32
    filters: tuple[int, ...] = DEFAULT_FILTERS
    scale: str = "global"
    balance: bool = True
    dropout: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.scale not in ("global", "series", "none"):
            raise ValueError(f"scale must be 'global', 'series' or 'none', got {self.scale!r}")
        if self.epochs < 1 or self.epochs_f1 < 0 or self.batch_size < 1:
            raise ValueError("epochs >= 1, epochs_f1 >= 0 and batch_size >= 1 are needed")
        self.filters = tuple(self.filters)


class Scaler:
    """Input scaling fitted on the training series: ``global`` (one mean and standard
    deviation over every value), ``series`` (each series z-normalised), ``none``."""

    def __init__(self, kind: str, values: Sequence[np.ndarray]) -> None:
        self.kind = kind
        allv = np.concatenate(list(values))
        self.mean, self.std = float(allv.mean()), float(allv.std() or 1.0)

    def __call__(self, v: np.ndarray) -> np.ndarray:
        if self.kind == "global":
            return (v - self.mean) / self.std
        if self.kind == "series":
            return (v - v.mean()) / (v.std() or 1.0)
        return v


def _examples(data: SeriesSet, scaler: Scaler, y: np.ndarray) -> list[dict]:
    return [{"x": scaler(v).astype(np.float32), "y": t} for v, t in zip(data.values, y)]


@torch.no_grad()
def predict_conv1d(model: Conv1DNet, data: SeriesSet, scaler: Scaler,
                   batch_size: int = 64) -> np.ndarray:
    """Logits (classification) or outputs (regression, standardised) of every series."""
    was = model.training
    model.eval()
    ex = _examples(data, scaler, np.zeros(len(data), dtype=np.int64))
    outs = []
    for i in range(0, len(ex), batch_size):
        b = _COLLATE(ex[i:i + batch_size])
        outs.append(model(b["x"], b["attention_mask"]))
    model.train(was)
    return torch.cat(outs).numpy()


def _balanced(ex: list[dict], y: np.ndarray, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    counts = np.bincount(y)
    top = counts.max()
    out = []
    for c, n in enumerate(counts):
        idx = np.flatnonzero(y == c)
        if n == 0:
            continue
        reps = np.concatenate([np.tile(idx, top // n), rng.permutation(idx)[: top % n]])
        out += [ex[i] for i in reps]
    return out


def train_conv1d(fit_set: SeriesSet, select_set: SeriesSet,
                 options: Conv1DOptions | None = None, *, progress: bool = False,
                 log=None) -> tuple[Conv1DNet, Scaler, dict]:
    """Train on ``fit_set``, select on ``select_set``; returns the model (best weights), the
    input scaler and a summary (select metrics, and for regression the target scale)."""
    o = options or Conv1DOptions()
    if len(fit_set) == 0 or len(select_set) == 0:
        raise ValueError("the fit and select sets must not be empty")
    torch.manual_seed(o.seed)
    scaler = Scaler(o.scale, fit_set.values)
    regression = fit_set.task == "regression"
    if regression:
        y_mean, y_std = float(fit_set.y.mean()), float(fit_set.y.std() or 1.0)
        y = ((fit_set.y - y_mean) / y_std).astype(np.float32)
        n_out = 1
    else:
        y, n_out = fit_set.y, len(fit_set.classes)
    model = Conv1DNet(n_out, filters=o.filters, dropout=o.dropout)
    data = _examples(fit_set, scaler, y)
    if o.balance and not regression:
        data = _balanced(data, fit_set.y, o.seed)

    def eval_fn(m):
        out = predict_conv1d(m, select_set, scaler)
        if regression:
            pred = out[:, 0] * y_std + y_mean
            r = {"rmse": rmse(select_set.y, pred), "r2": r2(select_set.y, pred)}
        else:
            pred = out.argmax(-1)
            r = {"macro_f1": macro_f1(select_set.y, pred, n_out),
                 "accuracy": accuracy(select_set.y, pred)}
        if log is not None:
            log(" ".join(f"{k} {v:.4f}" for k, v in r.items()))
        return r

    def ce_loss(m, b):
        out = m(b["x"], b["attention_mask"])
        if regression:
            return F.mse_loss(out[:, 0], b["y"])
        return F.cross_entropy(out, b["y"])

    def f1_loss(m, b):
        return -torch.log(smooth_macro_f1(m(b["x"], b["attention_mask"]), b["y"]) + 1e-7)

    monitor, mode = ("rmse", "min") if regression else ("macro_f1", "max")
    stages = [(o.epochs, o.lr, ce_loss), (o.epochs_f1, o.lr / 10,
                                          ce_loss if regression else f1_loss)]
    history: list[dict] = []
    best: tuple[float, dict] | None = None  # over the stages
    for stage, (epochs, lr, loss_fn) in enumerate(stages):
        if epochs == 0:
            continue
        ev = Evaluator(eval_fn, monitor=monitor, mode=mode, restore_best=True)
        trainer = fit(model, loss_fn, data, optimizer=torch.optim.Adam(model.parameters(), lr=lr),
                      batch_size=o.batch_size, epochs=epochs, collate_fn=_COLLATE,
                      lengths=[len(x["x"]) for x in data], seed=o.seed + stage,
                      progress=progress, callbacks=[ev])
        history += [dict(h, stage=stage) for h in trainer.history if monitor in h]
        if ev.best is not None:
            sign = 1 if mode == "max" else -1
            if best is None or sign * ev.best > sign * best[0]:
                best = (ev.best, ev.best_weights)
            else:  # this stage found nothing better: back to the earlier stage's best
                model.load_state_dict(best[1])
    summary = {"select": eval_fn(model), "history": history,
               "parameters": sum(p.numel() for p in model.parameters())}
    if regression:
        summary["target_scale"] = (y_mean, y_std)
    return model, scaler, summary


def save_conv1d(path, model: Conv1DNet, scaler: Scaler, data: SeriesSet, summary: dict, *,
                overwrite: bool = False) -> None:
    """A directory (``config.json`` + ``model.safetensors``) that appears whole or not at all."""
    import json
    from pathlib import Path

    from safetensors.torch import save as st_save

    from kexue.io.atomic import atomic_directory, write_bytes, write_text

    config = {"task": data.task, "classes": list(data.classes), "problem": data.name,
              "n_out": model.out.out_features, "filters": [b.layers[0].filters
                                                           for b in model.blocks],
              "hidden": model.dense.out_features, "dropout": model.dropout,
              "scale": scaler.kind, "scale_mean": scaler.mean, "scale_std": scaler.std,
              "target_scale": summary.get("target_scale"), "select": summary.get("select")}
    with atomic_directory(path, overwrite=overwrite) as tmp:
        write_text(Path(tmp) / "config.json", json.dumps(config, indent=1) + "\n")
        tensors = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
        write_bytes(Path(tmp) / "model.safetensors", st_save(tensors, metadata={"format": "pt"}))


def load_conv1d(path) -> tuple[Conv1DNet, Scaler, dict]:
    """Load a directory written by :func:`save_conv1d`; ``ValueError`` naming what is wrong."""
    import json
    from pathlib import Path

    from safetensors.torch import load as st_load

    p = Path(path)
    for name in ("config.json", "model.safetensors"):
        if not (p / name).is_file():
            raise ValueError(f"{path} is not a Conv1D model directory: {name} is missing")
    try:
        config = json.loads((p / "config.json").read_text("utf-8"))
        model = Conv1DNet(config["n_out"], filters=tuple(config["filters"]),
                          hidden=config["hidden"], dropout=config["dropout"])
        model.load_state_dict(st_load((p / "model.safetensors").read_bytes()))
    except (ValueError, KeyError, TypeError, RuntimeError) as e:
        raise ValueError(f"{path}: cannot read the model ({type(e).__name__}: {e})") from None
    scaler = Scaler.__new__(Scaler)
    scaler.kind, scaler.mean, scaler.std = (config["scale"], config["scale_mean"],
                                            config["scale_std"])
    model.eval()
    return model, scaler, config


def score_conv1d(model: Conv1DNet, scaler: Scaler, config: dict, data: SeriesSet) -> dict:
    """Metrics of a loaded model on ``data`` (checked against the model's task and classes)."""
    if data.task != config["task"]:
        raise ValueError(f"the model is for {config['task']}, the data for {data.task}")
    out = predict_conv1d(model, data, scaler)
    if data.task == "regression":
        mean, std = config["target_scale"]
        pred = out[:, 0] * std + mean
        return {"rmse": rmse(data.y, pred), "r2": r2(data.y, pred), "n": len(data)}
    if list(data.classes) != list(config["classes"]):
        raise ValueError(f"the data's classes {list(data.classes)} differ from the model's "
                         f"{config['classes']}")
    pred = out.argmax(-1)
    return {"macro_f1": macro_f1(data.y, pred, len(data.classes)),
            "accuracy": accuracy(data.y, pred), "n": len(data)}
