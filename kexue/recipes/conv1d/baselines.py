"""Baselines on the same split as the Conv1D model: logistic regression and 1-nearest
neighbour (Euclidean) for classification; ridge regression and 1-NN for the regression
variant. Series are standardised per time step (statistics of the fit part); a
variable-length set is first resampled to its median length by linear interpolation.

Logistic and ridge regression come from scikit-learn (the optional ``recipes`` extra:
``pip install kexue[recipes]``); 1-NN is plain NumPy.
"""

from __future__ import annotations

import numpy as np

from kexue.recipes.conv1d.data import SeriesSet, resample
from kexue.recipes.conv1d.metrics import accuracy, macro_f1, r2, rmse

__all__ = ["fixed_length", "nearest_neighbour", "run_baselines"]


def fixed_length(fit_set: SeriesSet) -> int:
    return int(np.median([len(v) for v in fit_set.values]))


def nearest_neighbour(train_x: np.ndarray, test_x: np.ndarray) -> np.ndarray:
    """Index of the nearest training row (Euclidean) for every test row."""
    d = (test_x ** 2).sum(1)[:, None] - 2 * test_x @ train_x.T + (train_x ** 2).sum(1)[None]
    return d.argmin(1)


def _sklearn():
    try:
        import sklearn.linear_model as lm
        import sklearn.preprocessing as pp
    except ImportError:
        raise RuntimeError("the logistic/ridge baselines need scikit-learn: pip install "
                           "'kexue[recipes]' (or scikit-learn>=1.3)") from None
    return lm, pp


def run_baselines(fit_set: SeriesSet, select_set: SeriesSet) -> dict[str, dict[str, float]]:
    """``{baseline name: metrics on select_set}``."""
    lm, pp = _sklearn()
    n = fixed_length(fit_set)
    xa, xb = resample(fit_set.values, n), resample(select_set.values, n)
    scaler = pp.StandardScaler().fit(xa)
    xa, xb = scaler.transform(xa), scaler.transform(xb)
    nn_pred = fit_set.y[nearest_neighbour(xa, xb)]
    out: dict[str, dict[str, float]] = {}
    if fit_set.task == "regression":
        best = None
        for alpha in (0.01, 0.1, 1.0, 10.0):  # chosen by leave-one-out on the fit part
            cv = lm.RidgeCV(alphas=[alpha]).fit(xa, fit_set.y)
            score = cv.best_score_
            if best is None or score > best[0]:
                best = (score, alpha)
        ridge = lm.Ridge(alpha=best[1]).fit(xa, fit_set.y)
        pred = ridge.predict(xb)
        out["ridge regression"] = {"rmse": rmse(select_set.y, pred), "r2": r2(select_set.y, pred)}
        out["1-NN"] = {"rmse": rmse(select_set.y, nn_pred), "r2": r2(select_set.y, nn_pred)}
        return out
    k = len(fit_set.classes)
    clf = lm.LogisticRegression(max_iter=5000, C=1.0).fit(xa, fit_set.y)
    pred = clf.predict(xb)
    out["logistic regression"] = {"macro_f1": macro_f1(select_set.y, pred, k),
                                  "accuracy": accuracy(select_set.y, pred)}
    out["1-NN"] = {"macro_f1": macro_f1(select_set.y, nn_pred, k),
                   "accuracy": accuracy(select_set.y, nn_pred)}
    return out
