"""scikit-learn's bundled 8x8 digits with the project's fixed 80/20 split.

The split (``../shared/CONVENTIONS.md`` §4), stratified without any random numbers: the images
of each class are counted in file order, and every fifth one (the 5th, 10th, ... of its class)
goes to the report split (355 images), the rest to the train split (1,442). Every recipe and
every scikit-learn version sees the same split, with each class 80/20. Pixels are scaled from
0..16 to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DigitsSplit", "load_digits_split", "require_sklearn"]


def require_sklearn():
    """The ``sklearn`` module, or ``ImportError`` saying how to install it."""
    try:
        import sklearn
    except ImportError:
        raise ImportError("this recipe needs scikit-learn: pip install 'kexue[recipes]'") from None
    return sklearn


@dataclass(frozen=True)
class DigitsSplit:
    """``x_*``: ``(n, 64)`` float32 in [0, 1]; ``y_*``: ``(n,)`` int64 labels 0..9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits_split() -> DigitsSplit:
    """The digits, split 80/20: the report split is every fifth image of each class."""
    require_sklearn()
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    rank = np.zeros(len(y), dtype=np.int64)  # the position of each image within its class
    for c in np.unique(y):
        rank[y == c] = np.arange(int((y == c).sum()))
    test = rank % 5 == 4
    return DigitsSplit(x[~test], y[~test], x[test], y[test])
