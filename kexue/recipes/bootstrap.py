"""Percentile bootstrap interval of a mean (Efron & Tibshirani, *An Introduction to the
Bootstrap*, 1993, ch. 13): resample the per-example scores with replacement ``resamples``
times and take the ``(1-level)/2`` and ``(1+level)/2`` quantiles of the resampled means.
Pitfall: it describes the spread over *examples* (which test pairs happened to be drawn), not
over training seeds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["bootstrap_interval"]


def bootstrap_interval(values: Sequence[float], *, resamples: int = 1000, level: float = 0.95,
                       seed: int = 0) -> dict[str, float]:
    """``{"point": mean, "low": ..., "high": ...}`` of ``values`` (the record format of a
    spread)."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError("bootstrap_interval needs a non-empty 1-D sequence of scores")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return {"point": float(x.mean()), "low": float(low), "high": float(high)}
