r"""BERT-whitening: a fitted linear map that makes sentence vectors isotropic
(kexue.fm/archives/8069, 你可能不需要BERT-flow：一个线性变换媲美BERT-flow; Su et al.,
"Whitening Sentence Representations for Better Semantics and Faster Retrieval",
arXiv:2103.15316).

Fit on vectors :math:`x_1..x_N` (rows of ``X``):

.. math::

    \mu = \tfrac1N\sum_i x_i,\qquad
    \Sigma = \tfrac1{N-1}\sum_i (x_i-\mu)^\top(x_i-\mu) = U\Lambda U^\top\ \text{(SVD)},\qquad
    W = U\Lambda^{-1/2},

and transform :math:`\tilde x = (x-\mu)\,W_{[:, :k]}`: the covariance of :math:`\tilde x` is the
identity, and keeping the first ``k`` columns (the largest singular values) is the dimension
reduction ("whitening-256" in the tables of 8321 and 8454). Cosines are then taken between the
whitened vectors (:func:`kexue.similarity.metrics.cosine` normalises).

The fit runs in float64 (``np.cov``'s unbiased estimate, as Su's ``compute_kernel_bias``);
the transform returns float32. Pitfalls: fewer vectors than dimensions, or a degenerate
direction (a constant coordinate), leave singular values ≈ 0 whose inverse square root is
huge: :meth:`Whitening.fit` refuses them and says to keep fewer components
(``drop_degenerate=True`` drops them instead). Every post-LN Transformer output has one such
direction by construction: LayerNorm's normalised vector sums to zero, so its outputs
``γ ⊙ z + β`` lie in a ``(d − 1)``-dimensional affine plane, and so do P1, P3 and P4; full
``d``-dimensional whitening then divides rounding noise by ≈ 0 (measured on kexue-mini-zh:
singular value 256 of 256 was 2.5e-14 against 9.0 for the largest). Fit on training text,
not on the pairs you report.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np

from kexue.io.atomic import atomic_write

__all__ = ["Whitening"]

_FORMAT = "kexue-whitening-1"


class Whitening:
    """The whitening map ``x -> (x - mean) @ kernel`` (``kernel`` is ``(d, k)``).

    Build it with :meth:`fit` (``n_components=None`` keeps all ``d``), apply with
    :meth:`transform`, keep it with :meth:`save` / :meth:`load` (one ``.npz`` file).
    """

    def __init__(self, mean: np.ndarray, kernel: np.ndarray) -> None:
        mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        kernel = np.asarray(kernel, dtype=np.float64)
        if kernel.ndim != 2 or kernel.shape[0] != mean.shape[0] or kernel.shape[1] < 1:
            raise ValueError(f"kernel must be (dim, k) with dim = {mean.shape[0]} and k >= 1, "
                             f"got {kernel.shape}")
        if not (np.isfinite(mean).all() and np.isfinite(kernel).all()):
            raise ValueError("whitening mean/kernel hold NaN or inf")
        self.mean = mean
        self.kernel = kernel

    @property
    def dim(self) -> int:
        """Input dimension ``d``."""
        return int(self.kernel.shape[0])

    @property
    def n_components(self) -> int:
        """Output dimension ``k``."""
        return int(self.kernel.shape[1])

    @classmethod
    def fit(cls, vectors: np.ndarray, n_components: int | None = None, *,
            rcond: float = 1e-10, drop_degenerate: bool = False) -> Whitening:
        """Fit on ``vectors`` ``(N, d)``, keeping ``n_components`` directions (all by default).

        ``rcond``: a kept singular value below ``rcond`` times the largest is refused, or with
        ``drop_degenerate`` left out (the map then keeps fewer than ``n_components``)."""
        x = np.asarray(vectors, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 2:
            raise ValueError(f"fit needs (N >= 2, d) vectors, got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("the vectors hold NaN or inf")
        d = x.shape[1]
        k = d if n_components is None else int(n_components)
        if not 1 <= k <= d:
            raise ValueError(f"n_components must be in 1..{d}, got {n_components}")
        mean = x.mean(axis=0)
        cov = np.cov(x.T).reshape(d, d)
        u, s, _ = np.linalg.svd(cov)
        if drop_degenerate:
            k = max(1, min(k, int((s > rcond * s[0]).sum())))
        if not s[k - 1] > rcond * max(s[0], np.finfo(np.float64).tiny):
            raise ValueError(
                f"the covariance of {x.shape[0]} vectors is (near) singular in the kept "
                f"directions (singular value {k} is {s[k - 1]:.3g}, the largest {s[0]:.3g}); "
                f"fit on more vectors or keep fewer components (n_components < {k})")
        return cls(mean, u[:, :k] / np.sqrt(s[:k]))

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """``(vectors - mean) @ kernel`` as float32 ``(N, k)``."""
        x = np.asarray(vectors, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected (N, {self.dim}) vectors, got shape {x.shape}")
        return ((x - self.mean) @ self.kernel).astype(np.float32)

    __call__ = transform

    def save(self, path: str | os.PathLike) -> None:
        """Write ``mean`` and ``kernel`` (float64) to one ``.npz`` file, atomically."""
        buf = io.BytesIO()
        np.savez(buf, format=np.array(_FORMAT), mean=self.mean, kernel=self.kernel)
        with atomic_write(path, "wb") as f:
            f.write(buf.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Whitening:
        """Read a file written by :meth:`save`; a clear ``ValueError`` for anything else."""
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"whitening file not found: {p}")
        if not zipfile.is_zipfile(p):
            raise ValueError(f"{p} is not a kexue whitening file (not an .npz archive)")
        try:
            with np.load(p, allow_pickle=False) as z:
                if "format" not in z.files or str(z["format"]) != _FORMAT:
                    raise ValueError(f"{p} is not a kexue whitening file (no {_FORMAT!r} tag)")
                return cls(z["mean"], z["kernel"])
        except (zipfile.BadZipFile, EOFError, KeyError, OSError) as e:
            raise ValueError(f"{p} is not a readable whitening file: {e}") from None

    def __repr__(self) -> str:
        return f"Whitening(dim={self.dim}, n_components={self.n_components})"
