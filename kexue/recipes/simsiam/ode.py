r"""The article's scalar toy of SimSiam's gradient flow, integrated in float64.

With a scalar "encoder" θ, a scalar "predictor" φ and the loss
:math:`l = \tfrac12(\varphi\theta - \theta)^2` (the prediction :math:`\varphi\theta` regresses
the target :math:`\theta`), the gradient flow is

.. math::

    \dot\varphi = -(\varphi\theta - \theta)\,\theta, \qquad
    \dot\theta = -(\varphi\theta - \theta)\,\varphi \;[\,+\,(\varphi\theta - \theta)\,]

where the bracketed term is the gradient through the *target*, which stop-gradient deletes.
Modes:

- ``"stop_gradient"``: without the bracket. Then :math:`\tfrac{d}{dt}(\varphi^2-\theta^2) = 0`
  exactly, so from :math:`(\varphi_0, \theta_0) = (0.6, 0.1)` the predictor goes to
  :math:`\varphi\to1` and the encoder stops at :math:`\theta_\infty=\sqrt{1-0.35}=\sqrt{0.65}`:
  no collapse.
- ``"full_gradient"``: with the bracket: :math:`\dot\theta = -(\varphi-1)^2\theta`, so
  :math:`\theta\to0` (collapse) while φ stalls below 1.
- ``"target_only"``: only the bracket (the "fast lane" alone): θ → 0 as well.

Integrated with classic fourth-order Runge–Kutta (the article used Euler; RK4 keeps the
invariant to ~1e-12 at ``dt = 1e-3``, where Euler drifts by ~1e-4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MODES", "ToyTrajectory", "conserved", "simulate", "vector_field"]

MODES = ("stop_gradient", "full_gradient", "target_only")


def vector_field(phi: float, theta: float, mode: str) -> tuple[float, float]:
    """``(dφ/dt, dθ/dt)`` of the toy under ``mode``."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    r = phi * theta - theta  # the residual: prediction minus target
    dphi = -r * theta
    through_prediction = -r * phi
    through_target = r
    if mode == "stop_gradient":
        dtheta = through_prediction
    elif mode == "full_gradient":
        dtheta = through_prediction + through_target
    else:
        dtheta = through_target
    return dphi, dtheta


def conserved(phi: np.ndarray | float, theta: np.ndarray | float) -> np.ndarray | float:
    """φ² − θ², constant along the stop-gradient flow."""
    return np.square(phi) - np.square(theta)


@dataclass(frozen=True)
class ToyTrajectory:
    """Samples of one run: times ``t`` and the values ``phi``, ``theta`` (float64 arrays)."""

    mode: str
    t: np.ndarray
    phi: np.ndarray
    theta: np.ndarray


def simulate(mode: str, *, phi0: float = 0.6, theta0: float = 0.1, t_end: float = 50.0,
             dt: float = 1e-3, every: int = 100) -> ToyTrajectory:
    """Integrate the toy from ``(phi0, theta0)`` to ``t_end`` with RK4 steps of ``dt``,
    keeping every ``every``-th step (and the last)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not (dt > 0 and t_end > 0 and every >= 1):
        raise ValueError("dt and t_end must be > 0 and every >= 1")
    n = int(round(t_end / dt))
    y = np.array([phi0, theta0], dtype=np.float64)

    def f(v: np.ndarray) -> np.ndarray:
        return np.array(vector_field(float(v[0]), float(v[1]), mode))

    ts, ys = [0.0], [y.copy()]
    for i in range(1, n + 1):
        k1 = f(y)
        k2 = f(y + 0.5 * dt * k1)
        k3 = f(y + 0.5 * dt * k2)
        k4 = f(y + dt * k3)
        y = y + (dt / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
        if i % every == 0 or i == n:
            ts.append(i * dt)
            ys.append(y.copy())
    arr = np.array(ys)
    return ToyTrajectory(mode, np.array(ts), arr[:, 0], arr[:, 1])
