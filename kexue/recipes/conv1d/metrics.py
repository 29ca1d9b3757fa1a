"""Macro-F1 as kexue.fm/archives/5505 writes it, and regression errors.

The article scores the 4-class LAMOST task with

.. math:: F = \\sum_c \\frac{1}{2}\\,\\frac{|TP_c|}{|\\mathrm{true}_c| + |\\mathrm{pred}_c|}
          \\quad(\\tfrac12 = \\tfrac{2}{4}),

i.e. for C classes :math:`\\frac1C\\sum_c \\frac{2|TP_c|}{|\\mathrm{true}_c| + |\\mathrm{pred}_c|}`,
the mean over classes of :math:`2TP/(2TP+FP+FN)`. A class that is neither true nor predicted
anywhere counts 0 (as scikit-learn's default).
"""

from __future__ import annotations

import numpy as np

__all__ = ["macro_f1", "accuracy", "rmse", "r2"]


def macro_f1(y_true, y_pred, n_classes: int) -> float:
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    if t.shape != p.shape or t.ndim != 1 or len(t) == 0:
        raise ValueError("y_true and y_pred must be non-empty 1-D arrays of equal length")
    total = 0.0
    for c in range(n_classes):
        tp = np.sum((t == c) & (p == c))
        denom = np.sum(t == c) + np.sum(p == c)
        total += 2 * tp / denom if denom else 0.0
    return float(total / n_classes)


def accuracy(y_true, y_pred) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def rmse(y_true, y_pred) -> float:
    return float(np.sqrt(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2)))


def r2(y_true, y_pred) -> float:
    t, p = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    return float(1 - np.sum((t - p) ** 2) / np.sum((t - t.mean()) ** 2))
