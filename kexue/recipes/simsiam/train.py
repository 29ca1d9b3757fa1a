r"""A small SimSiam / BYOL on the 8x8 digits: does the embedding collapse?

The article's claim (kexue.fm/archives/7980): SimSiam avoids the collapsed solution because of
the optimisation *dynamics* — stop-gradient removes the encoder's direct path to a constant
output, and the fast predictor drives :math:`\partial l/\partial h` to zero before the slow
encoder gets there. Without stop-gradient (or without the predictor) the paper reports collapse.

Variants (:data:`VARIANTS`), all with the same MLP encoder (backbone + projector) and
augmentations (1-pixel shifts, pixel dropout, intensity scaling, Gaussian noise):

- ``simsiam``: predictor + stop-gradient (the method);
- ``no_stop_gradient``: predictor, gradient through both branches;
- ``no_predictor``: stop-gradient, no predictor (p = z);
- ``byol``: predictor + an EMA target network (τ = 0.99), BYOL's normalised MSE.

Collapse is read off the per-dimension standard deviation of the ℓ2-normalised projector
output over the report images: about :math:`1/\sqrt d` when the outputs spread over the
sphere, 0 when every image gets the same vector (SimSiam paper, Fig. 2). The representation
quality is a linear probe (multinomial logistic regression) on the frozen backbone features
(and, to see the collapse in accuracy too, on the projector outputs z).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kexue.objectives.siamese import byol_loss, simsiam_loss
from kexue.train import Callback, fit

__all__ = ["VARIANTS", "Siamese", "VariantResult", "augment", "embedding_std",
           "linear_probe", "train_variant"]

VARIANTS = ("simsiam", "no_stop_gradient", "no_predictor", "byol")


def augment(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A random view of each ``(B, 64)`` digit in [0, 1]: shift by up to one pixel each way,
    drop 15 % of the pixels, scale the intensity by U(0.7, 1.3), add N(0, 0.05²) noise."""
    b = x.shape[0]
    img = F.pad(x.view(b, 1, 8, 8), (1, 1, 1, 1))
    dx = torch.randint(0, 3, (b,), generator=generator)
    dy = torch.randint(0, 3, (b,), generator=generator)
    rows = (dy.view(b, 1) + torch.arange(8).view(1, 8))  # (b, 8)
    cols = (dx.view(b, 1) + torch.arange(8).view(1, 8))
    img = img[torch.arange(b).view(b, 1, 1), 0, rows.view(b, 8, 1), cols.view(b, 1, 8)]
    out = img.reshape(b, 64)
    keep = torch.rand(out.shape, generator=generator) >= 0.15
    scale = 0.7 + 0.6 * torch.rand(b, 1, generator=generator)
    noise = 0.05 * torch.randn(out.shape, generator=generator)
    return (out * keep * scale + noise).clamp(0.0, 1.0)


def _mlp(sizes: Sequence[int], last_bn: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, bias=False))
        last = i == len(sizes) - 2
        if not last or last_bn:
            layers.append(nn.BatchNorm1d(b))
        if not last:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Siamese(nn.Module):
    """Backbone (64→256→256), projector (256→64, ending in BatchNorm as in SimSiam), and an
    optional bottleneck predictor (64→32→64); ``ema`` adds a BYOL target network."""

    def __init__(self, variant: str, dim: int = 64, hidden: int = 256,
                 ema: float = 0.99, projector_bn: bool = False) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        self.variant = variant
        self.backbone = nn.Sequential(_mlp([64, hidden, hidden], last_bn=True), nn.ReLU())
        self.projector = _mlp([hidden, dim], last_bn=projector_bn)
        self.predictor = None if variant == "no_predictor" else _mlp([dim, dim // 2, dim],
                                                                     last_bn=False)
        self.ema = ema
        self.target: nn.Module | None = None
        if variant == "byol":
            self.target = copy.deepcopy(nn.Sequential(self.backbone, self.projector))
            for p in self.target.parameters():
                p.requires_grad_(False)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The projector output z."""
        return self.projector(self.backbone(x))

    def loss(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        z1, z2 = self.embed(x1), self.embed(x2)
        p1, p2 = (z1, z2) if self.predictor is None else (self.predictor(z1),
                                                           self.predictor(z2))
        if self.target is not None:
            with torch.no_grad():
                t1, t2 = self.target(x1), self.target(x2)
            return byol_loss(p1, p2, t1, t2)
        return simsiam_loss(p1, p2, z1, z2,
                            stop_gradient=self.variant != "no_stop_gradient")

    @torch.no_grad()
    def update_target(self) -> None:
        """ξ ← τ ξ + (1 − τ) θ (BYOL's EMA; buffers such as BatchNorm statistics copied)."""
        if self.target is None:
            return
        online = nn.Sequential(self.backbone, self.projector)
        for t, o in zip(self.target.parameters(), online.parameters()):
            t.mul_(self.ema).add_(o.detach(), alpha=1.0 - self.ema)
        for t, o in zip(self.target.buffers(), online.buffers()):
            t.copy_(o)


@torch.no_grad()
def embedding_std(model: Siamese, x: torch.Tensor) -> float:
    """Mean over dimensions of the std over ``x`` of ``z/‖z‖`` (eval mode): ≈ 1/√d healthy,
    → 0 collapsed."""
    was = model.training
    model.eval()
    z = F.normalize(model.embed(x), dim=-1)
    model.train(was)
    return float(z.std(0).mean())


@torch.no_grad()
def features(model: Siamese, x: torch.Tensor, where: str = "backbone") -> np.ndarray:
    """Backbone features or projector outputs z (``where="projector"``), eval mode, as float64
    NumPy."""
    was = model.training
    model.eval()
    h = model.backbone(x) if where == "backbone" else model.embed(x)
    model.train(was)
    return h.double().numpy()


def linear_probe(f_train: np.ndarray, y_train: np.ndarray, f_test: np.ndarray,
                 y_test: np.ndarray) -> float:
    """Accuracy on the report split of a logistic regression fitted on standardised train
    features (scikit-learn, lbfgs, C = 1, at most 2,000 iterations)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(f_train)
    clf = LogisticRegression(max_iter=2000).fit(scaler.transform(f_train), y_train)
    return float(clf.score(scaler.transform(f_test), y_test))


@dataclass
class VariantResult:
    variant: str
    std_per_epoch: list[float] = field(default_factory=list)
    loss_per_epoch: list[float] = field(default_factory=list)
    probe_accuracy: float = math.nan
    projector_probe_accuracy: float = math.nan

    @property
    def final_std(self) -> float:
        return self.std_per_epoch[-1]


class _Track(Callback):
    def __init__(self, model: Siamese, x_eval: torch.Tensor, result: VariantResult) -> None:
        self.model, self.x_eval, self.result = model, x_eval, result
        self._losses: list[float] = []

    def on_train_begin(self, trainer) -> None:
        self.result.std_per_epoch.append(embedding_std(self.model, self.x_eval))

    def on_batch_end(self, trainer, step, logs) -> None:
        self.model.update_target()
        self._losses.append(float(logs["loss"]))

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        self.result.std_per_epoch.append(embedding_std(self.model, self.x_eval))
        self.result.loss_per_epoch.append(float(np.mean(self._losses)))
        self._losses = []


def train_variant(variant: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                  y_test: np.ndarray, *, epochs: int = 60, batch_size: int = 128,
                  lr: float = 0.05, seed: int = 0) -> tuple[Siamese, VariantResult]:
    """Train one variant with SGD (momentum 0.9, weight decay 1e-4, the SimSiam recipe; the
    predictor at a fixed learning rate, the rest cosine-decayed) through ``kexue.train.fit``;
    returns the model and its std curve and probe accuracy."""
    torch.manual_seed(seed)
    model = Siamese(variant)
    gen = torch.Generator().manual_seed(seed + 1)
    encoder = [p for n, p in model.named_parameters() if not n.startswith(("predictor",
                                                                            "target"))]
    groups = [{"params": encoder, "fix_lr": False}]
    if model.predictor is not None:
        groups.append({"params": list(model.predictor.parameters()), "fix_lr": True})
    opt = torch.optim.SGD(groups, lr=lr, momentum=0.9, weight_decay=1e-4)
    xt = torch.from_numpy(x_train)
    steps = epochs * math.ceil(len(xt) / batch_size)
    decay = [lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))]
    lam = [(lambda s: 1.0) if g["fix_lr"] else decay[0] for g in groups]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lam)
    result = VariantResult(variant)

    def loss_fn(m: Siamese, batch: torch.Tensor) -> torch.Tensor:
        return m.loss(augment(batch, gen), augment(batch, gen))

    fit(model, loss_fn, list(xt), optimizer=opt, scheduler=sched, batch_size=batch_size,
        epochs=epochs, seed=seed, drop_last=True, progress=False, log_every=10_000,
        callbacks=[_Track(model, torch.from_numpy(x_test), result)])
    xs = torch.from_numpy(x_test)
    result.probe_accuracy = linear_probe(features(model, xt), y_train, features(model, xs),
                                         y_test)
    result.projector_probe_accuracy = linear_probe(
        features(model, xt, "projector"), y_train, features(model, xs, "projector"), y_test)
    return model, result
