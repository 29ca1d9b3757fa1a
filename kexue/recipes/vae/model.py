r"""An MLP auto-encoder whose codes are points (AE) or ellipses (VAE), on the 8x8 digits.

The article (kexue.fm/archives/7725) builds the VAE from an AE in two steps:

1. map each x to an axis-aligned ellipse :math:`\mathcal N(\mu(x), \mathrm{diag}\,\sigma^2(x))`
   and reconstruct from anywhere inside it,
   :math:`\|x - D(\mu(x) + \varepsilon\otimes\sigma(x))\|^2`,
   :math:`\varepsilon\sim\mathcal N(0, I)`
   ("cover the code space with areas, not points");
2. make the union of the ellipses fill the unit ball: the naive regulariser
   :math:`\|\mu\|^2 + \|\sigma - 1\|^2`, or the standard Gaussian KL.

Variants (:data:`VARIANTS`): ``"ae"`` (σ = 0, no regulariser), ``"vae"`` (KL) and ``"naive"``
(the naive regulariser). The loss is the article's final formula with the squared error
weighted as a Gaussian decoder of pixel std ``s`` would weight it,
:math:`\|x - D(z)\|^2/(2s^2) + \text{regulariser}`. Pitfall: the article's unweighted sum is
``s² = 1/2``, far noisier than pixels in [0, 1]; on the 64-pixel digits most code axes then
collapse to the prior (σ → 1, the decoder ignores them). ``s = 0.1`` is the default here.
"""

from __future__ import annotations

import torch
from torch import nn

from kexue.objectives.vae import gaussian_kl, naive_code_regularizer
from kexue.train import fit

__all__ = ["VARIANTS", "CodeAutoEncoder", "train_autoencoder"]

VARIANTS = ("ae", "vae", "naive")


class CodeAutoEncoder(nn.Module):
    """Encoder 64→256→128→(μ, log σ²), decoder dim→128→256→64 (sigmoid: pixels in [0, 1])."""

    def __init__(self, variant: str, dim: int = 2, hidden: int = 256,
                 pixel_std: float = 0.1) -> None:
        super().__init__()
        if not pixel_std > 0:
            raise ValueError(f"pixel_std must be > 0, got {pixel_std}")
        self.rec_weight = 1.0 / (2.0 * pixel_std**2)
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        self.variant, self.dim = variant, dim
        self.encoder = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(),
                                     nn.Linear(hidden, hidden // 2), nn.ReLU())
        self.mu = nn.Linear(hidden // 2, dim)
        self.log_var = nn.Linear(hidden // 2, dim) if variant != "ae" else None
        self.decoder = nn.Sequential(nn.Linear(dim, hidden // 2), nn.ReLU(),
                                     nn.Linear(hidden // 2, hidden), nn.ReLU(),
                                     nn.Linear(hidden, 64), nn.Sigmoid())

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(μ, log σ²)``; ``log σ²`` is ``None`` for the plain AE."""
        h = self.encoder(x)
        return self.mu(h), None if self.log_var is None else self.log_var(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """Batch mean of ``‖x − D(μ + ε⊗σ)‖² + regulariser``."""
        mu, log_var = self.encode(x)
        if log_var is None:
            return self.rec_weight * (x - self.decode(mu)).square().sum(-1).mean()
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * log_var)  # reparameterisation
        rec = self.rec_weight * (x - self.decode(z)).square().sum(-1).mean()
        reg = gaussian_kl if self.variant == "vae" else naive_code_regularizer
        return rec + reg(mu, log_var)


def train_autoencoder(variant: str, x_train, *, dim: int = 2, epochs: int = 100,
                      batch_size: int = 64, lr: float = 1e-3, pixel_std: float = 0.1,
                      seed: int = 0) -> CodeAutoEncoder:
    """Train one variant with Adam through ``kexue.train.fit``; returns it in eval mode."""
    torch.manual_seed(seed)
    model = CodeAutoEncoder(variant, dim, pixel_std=pixel_std)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    data = list(torch.as_tensor(x_train))
    fit(model, lambda m, batch: m.loss(batch), data, optimizer=opt, batch_size=batch_size,
        epochs=epochs, seed=seed, progress=False, log_every=10_000)
    return model.eval()
