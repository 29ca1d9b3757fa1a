"""Mitchell's approximate multiplication and division via the IEEE-754 bit patterns.

Article: https://kexue.fm/archives/7991 (Mitchell近似: 乘法变为加法, 误差不超过1/9).
Paper: J. N. Mitchell, "Computer Multiplication and Division Using Binary Logarithms",
IRE Trans. Electronic Computers, 1962. Follow-up: Mogami, "Deep Neural Network Training
without Multiplications", arXiv:2012.03458.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["mitchell_multiply", "mitchell_divide"]

# (int view dtype, mantissa bits, exponent bias, max biased exponent of finite numbers)
_LAYOUT = {
    torch.float32: (torch.int32, 23, 127, 254),
    torch.float64: (torch.int64, 52, 1023, 2046),
}


def _as_tensors(a, b) -> tuple[Tensor, Tensor, str]:
    numpy_in = isinstance(a, (np.ndarray, np.floating)) or isinstance(b, (np.ndarray, np.floating))
    torch_in = isinstance(a, Tensor) or isinstance(b, Tensor)
    if numpy_in and torch_in:
        raise TypeError("mix of numpy and torch inputs; convert one side first")
    kind = "numpy" if numpy_in else "torch" if torch_in else "float"

    def conv(x, name):
        if isinstance(x, Tensor):
            t = x
        elif isinstance(x, (np.ndarray, np.floating)):
            t = torch.from_numpy(np.asarray(x))
        elif isinstance(x, float):
            t = torch.tensor(x, dtype=torch.float64)
        else:
            raise TypeError(
                f"{name} must be a float32/float64 array, tensor or float, got {type(x).__name__}"
            )
        if t.dtype not in _LAYOUT:
            raise TypeError(f"{name} must be float32 or float64, got {t.dtype}")
        return t

    ta, tb = conv(a, "a"), conv(b, "b")
    if ta.dtype != tb.dtype:
        raise TypeError(f"a and b must share a dtype, got {ta.dtype} and {tb.dtype}")
    ta, tb = torch.broadcast_tensors(ta, tb)
    return ta, tb, kind


def _split(x: Tensor) -> tuple[Tensor, Tensor]:
    """Biased exponent and mantissa field (int64) of positive finite non-zero ``x``.

    Subnormals are first scaled by an exact power of two so they become normal; the
    exponent returned is then below 1 (i.e. it is the *unbounded* biased exponent).
    """
    int_dtype, mbits, _, _ = _LAYOUT[x.dtype]
    tiny = torch.finfo(x.dtype).tiny
    shift = mbits + 2
    sub = x < tiny
    x = torch.where(sub, x * float(2.0**shift), x)
    bits = x.view(int_dtype).to(torch.int64)
    exp = (bits >> mbits) - torch.where(sub, shift, 0)
    man = bits & ((1 << mbits) - 1)
    return exp, man


def _join(exp: Tensor, man: Tensor, dtype: torch.dtype) -> Tensor:
    """Antilog ``2**(exp - bias) * (1 + man / 2**mbits)`` with overflow to inf and gradual
    underflow handled explicitly (the plain bit splice would carry into the sign bit)."""
    int_dtype, mbits, bias, emax = _LAYOUT[dtype]
    normal = (exp >= 1) & (exp <= emax)
    safe_exp = exp.clamp(1, emax)
    spliced = ((safe_exp << mbits) | man).to(int_dtype).view(dtype)
    frac = 1.0 + man.to(torch.float64) / float(1 << mbits)
    small = torch.ldexp(frac, (exp - bias).clamp(min=-1100).to(torch.float64)).to(dtype)
    out = torch.where(normal, spliced, small)
    return torch.where(exp > emax, torch.full_like(out, float("inf")), out)


def _finish(approx: Tensor, exact: Tensor, ok: Tensor, sign_neg: Tensor, kind: str):
    out = torch.where(sign_neg, -approx, approx)
    out = torch.where(ok, out, exact)  # zeros, infinities and NaNs follow IEEE exactly
    if kind == "numpy":
        arr = out.numpy()
        return arr if arr.ndim else arr[()]
    if kind == "float":
        return float(out)
    return out


def mitchell_multiply(a, b):
    r"""Mitchell's approximate product: add the approximate base-2 logarithms.

    Writing :math:`p=2^{n}(1+x)`, :math:`\log_2 p\approx n+x` is exactly the IEEE exponent and
    mantissa fields read as one integer, so for positive normal float32 the product is
    ``bits(a) + bits(b) - 0x3F800000`` reinterpreted (float64 bias ``0x3FF0000000000000``):
    :math:`2^{n_1+n_2}(1+x_1+x_2)` or, on mantissa carry, :math:`2^{n_1+n_2+1}(x_1+x_2)`.
    The result **never overestimates**; the ratio to the exact product lies in [8/9, 1], worst
    at :math:`x_1=x_2=\tfrac12` (1.5 × 1.5 → 2.0), exact when a mantissa is zero.
    12.3 × 4.56 gives 53.68 (float32) against 56.088.

    Handling beyond the bare bit trick: signs are XORed and the magnitudes used; zeros,
    infinities and NaNs give the IEEE result of the exact operation; subnormal inputs are
    renormalised exactly; results beyond the largest finite value give ±inf and results below
    the smallest normal are rounded into the subnormal range (no carry into the sign bit).

    Args:
        a, b: float32 or float64 NumPy arrays/scalars or torch tensors (same dtype,
            broadcastable), or Python floats (treated as float64).
    Returns the same kind (NumPy in, NumPy out; float in, float out). Not differentiable.
    """
    ta, tb, kind = _as_tensors(a, b)
    with torch.no_grad():
        exact = ta * tb
        ok = torch.isfinite(ta) & torch.isfinite(tb) & (ta != 0) & (tb != 0)
        one = torch.ones_like(ta)
        xa, xb = torch.where(ok, ta.abs(), one), torch.where(ok, tb.abs(), one)
        _, mbits, bias, _ = _LAYOUT[ta.dtype]
        ea, ma = _split(xa)
        eb, mb = _split(xb)
        man = ma + mb
        exp = ea + eb - bias + (man >> mbits)
        man = man & ((1 << mbits) - 1)
        approx = _join(exp, man, ta.dtype)
        return _finish(approx, exact, ok, torch.signbit(ta) ^ torch.signbit(tb), kind)


def mitchell_divide(a, b):
    r"""Mitchell's approximate quotient ``a / b``: subtract the approximate logarithms,
    ``bits(a) - bits(b) + 0x3F800000`` for float32.

    :math:`2^{n_1-n_2}(1+x_1-x_2)` if :math:`x_1\ge x_2`, else
    :math:`2^{n_1-n_2-1}(2+x_1-x_2)`. The result **never underestimates**; the ratio to the
    exact quotient lies in [1, 9/8], worst at :math:`x_1=0, x_2=\tfrac12` (1 / 1.5 → 0.75).
    Signs, zeros, infinities, NaNs, subnormals, overflow and underflow are handled as in
    :func:`mitchell_multiply` (x / 0 gives ±inf and 0 / 0 NaN, as IEEE division does).
    """
    ta, tb, kind = _as_tensors(a, b)
    with torch.no_grad():
        exact = ta / tb
        ok = torch.isfinite(ta) & torch.isfinite(tb) & (ta != 0) & (tb != 0)
        one = torch.ones_like(ta)
        xa, xb = torch.where(ok, ta.abs(), one), torch.where(ok, tb.abs(), one)
        _, mbits, bias, _ = _LAYOUT[ta.dtype]
        ea, ma = _split(xa)
        eb, mb = _split(xb)
        man = ma - mb
        borrow = (man < 0).to(torch.int64)
        exp = ea - eb + bias - borrow
        man = man + (borrow << mbits)
        approx = _join(exp, man, ta.dtype)
        return _finish(approx, exact, ok, torch.signbit(ta) ^ torch.signbit(tb), kind)
