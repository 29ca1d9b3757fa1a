r"""The geometric checks of the article: where do the codes lie, and do they fill N(0, I)?

- :func:`code_stats`: the **aggregated posterior** :math:`q(z) = \mathbb E_x\,\mathcal N(\mu(x),
  \mathrm{diag}\,\sigma^2(x))` has mean :math:`\mathbb E_x\mu(x)` and covariance
  :math:`\mathrm{Cov}_x\mu(x) + \mathbb E_x\mathrm{diag}\,\sigma^2(x)` (law of total covariance);
  a VAE pulls them towards 0 and I.
- :func:`coverage`: the share of :math:`\mathcal N(0, I)` samples whose nearest code
  :math:`\mu(x)` of a training image lies within ``radius`` — how much of the prior's mass is
  "known" to the decoder, which is what sampling from the prior needs.
- :func:`nearest_distance`: the mean distance from each decoded prior sample to its nearest
  real image — low when the decoder turns N(0, I) samples into digit-like images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CodeStats", "code_stats", "coverage", "nearest_distance"]


@dataclass(frozen=True)
class CodeStats:
    """``mean``: (d,), ``cov``: (d, d) of the aggregated posterior; ``mean_sigma``: (d,) mean
    posterior std per axis (0 for an AE)."""

    mean: np.ndarray
    cov: np.ndarray
    mean_sigma: np.ndarray

    @property
    def cov_error(self) -> float:
        """``max |cov − I|`` over the entries."""
        return float(np.abs(self.cov - np.eye(len(self.cov))).max())


def code_stats(mu: np.ndarray, log_var: np.ndarray | None = None) -> CodeStats:
    """Moments of the aggregated posterior from per-image ``mu`` (n, d) and ``log_var``
    (n, d; ``None``: point codes, σ = 0)."""
    mu = np.asarray(mu, dtype=np.float64)
    if mu.ndim != 2 or len(mu) < 2:
        raise ValueError(f"mu must be (n >= 2, d), got shape {mu.shape}")
    var = np.zeros_like(mu) if log_var is None else np.exp(np.asarray(log_var, np.float64))
    cov = np.cov(mu, rowvar=False, bias=True).reshape(mu.shape[1], mu.shape[1])
    cov = cov + np.diag(var.mean(0))
    return CodeStats(mu.mean(0), cov, np.sqrt(var).mean(0))


def coverage(codes: np.ndarray, radius: float, n: int = 2000, seed: int = 0) -> float:
    """Share of ``n`` samples of N(0, I) within ``radius`` of their nearest row of ``codes``."""
    codes = np.asarray(codes, dtype=np.float64)
    z = np.random.default_rng(seed).standard_normal((n, codes.shape[1]))
    d2 = (np.square(z).sum(1)[:, None] - 2 * z @ codes.T + np.square(codes).sum(1)[None, :])
    return float((np.sqrt(np.maximum(d2.min(1), 0.0)) <= radius).mean())


def nearest_distance(samples: np.ndarray, reference: np.ndarray) -> float:
    """Mean over ``samples`` (n, p) of the RMS pixel distance to the nearest row of
    ``reference`` (m, p)."""
    a = np.asarray(samples, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    d2 = np.square(a).sum(1)[:, None] - 2 * a @ b.T + np.square(b).sum(1)[None, :]
    return float(np.sqrt(np.maximum(d2.min(1), 0.0) / a.shape[1]).mean())
