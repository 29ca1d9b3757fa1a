import numpy as np
import pytest
import torch

from kexue.objectives import mitchell_divide, mitchell_multiply


def _bits_multiply_f32(a, b):
    return (
        (a.view(np.int32).astype(np.int64) + b.view(np.int32) - 0x3F800000)
        .astype(np.int32)
        .view(np.float32)
    )


def _bits_divide_f32(a, b):
    return (
        (a.view(np.int32).astype(np.int64) - b.view(np.int32) + 0x3F800000)
        .astype(np.int32)
        .view(np.float32)
    )


def _log_antilog(a, b, op):
    # Reference: Mitchell's log / antilog in float64 with the integer part n and the fraction
    # x of log2(p) ~ n + x kept apart (so nothing rounds), p = 2^n (1 + x).
    a, b = a.astype(np.float64), b.astype(np.float64)
    m1, e1 = np.frexp(a)
    m2, e2 = np.frexp(b)
    n1, n2, x1, x2 = e1 - 1, e2 - 1, 2 * m1 - 1, 2 * m2 - 1
    if op == "mul":
        frac, n = x1 + x2, n1 + n2  # log2 ~ n + frac
    else:
        frac, n = x1 - x2, n1 - n2
    carry = np.floor(frac).astype(np.int64)  # -1, 0 or 1
    return np.ldexp(1 + (frac - carry), n + carry)


def _random_pairs(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    # positive normal numbers over a wide exponent range
    e = rng.integers(-60, 60, size=(2, n))
    m = rng.random((2, n)) + 1.0
    v = (m * 2.0**e).astype(dtype)
    return v[0], v[1]


def test_million_pair_ratio_bounds_float32():
    a, b = _random_pairs(1_000_000, np.float32)
    exact = a.astype(np.float64) * b
    r = mitchell_multiply(a, b).astype(np.float64) / exact
    assert r.min() >= 8 / 9 - 1e-7 and r.max() <= 1.0 + 1e-7
    assert r.min() < 8 / 9 + 1e-3  # the bound is attained
    q = mitchell_divide(a, b).astype(np.float64) / (a.astype(np.float64) / b)
    assert q.min() >= 1.0 - 1e-7 and q.max() <= 9 / 8 + 1e-7
    assert q.max() > 9 / 8 - 1e-3


def test_float64_ratio_bounds_torch():
    a, b = _random_pairs(100_000, np.float64, seed=1)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    r = mitchell_multiply(ta, tb) / (ta * tb)
    q = mitchell_divide(ta, tb) / (ta / tb)
    assert float(r.min()) >= 8 / 9 - 1e-12 and float(r.max()) <= 1 + 1e-12
    assert float(q.min()) >= 1 - 1e-12 and float(q.max()) <= 9 / 8 + 1e-12


def test_bit_trick_and_log_antilog_equivalence():
    a, b = _random_pairs(200_000, np.float32, seed=2)
    m, d = mitchell_multiply(a, b), mitchell_divide(a, b)
    np.testing.assert_array_equal(m, _bits_multiply_f32(a, b))
    np.testing.assert_array_equal(d, _bits_divide_f32(a, b))
    np.testing.assert_array_equal(m, _log_antilog(a, b, "mul").astype(np.float32))
    np.testing.assert_array_equal(d, _log_antilog(a, b, "div").astype(np.float32))
    # and the direct float64 log2 route agrees to float32 rounding
    direct = np.exp2(np.log2(a.astype(np.float64)))
    np.testing.assert_allclose(direct, a, rtol=1e-7)
    a64, b64 = _random_pairs(50_000, np.float64, seed=3)
    np.testing.assert_array_equal(mitchell_multiply(a64, b64), _log_antilog(a64, b64, "mul"))
    np.testing.assert_array_equal(mitchell_divide(a64, b64), _log_antilog(a64, b64, "div"))


def test_worst_cases_golden_value_and_exact_powers_of_two():
    assert mitchell_multiply(1.5, 1.5) == 2.0  # ratio 8/9
    assert mitchell_divide(1.0, 1.5) == 0.75  # ratio 9/8
    assert mitchell_multiply(np.float32(12.3), np.float32(4.56)) == np.float32(53.68)
    x = np.float32(3.7)
    assert mitchell_multiply(x, np.float32(8.0)) == x * 8
    assert mitchell_divide(x, np.float32(0.25)) == x * 4


def test_signs_zeros_and_non_finite():
    a = np.array([-2.0, 2.0, -2.0, 0.0, -0.0, np.inf, np.inf, np.nan, 3.0], dtype=np.float32)
    b = np.array([3.0, -3.0, -3.0, 5.0, 5.0, 2.0, 0.0, 1.0, -np.inf], dtype=np.float32)
    m = mitchell_multiply(a, b)
    np.testing.assert_array_equal(m[:3], np.array([-6.0, -6.0, 6.0], dtype=np.float32))
    assert m[3] == 0 and not np.signbit(m[3]) and np.signbit(m[4])
    assert m[5] == np.inf and np.isnan(m[6]) and np.isnan(m[7]) and m[8] == -np.inf
    d = mitchell_divide(
        np.array([1.0, 0.0, -1.0, 5.0, np.inf], dtype=np.float32),
        np.array([0.0, 0.0, 0.0, np.inf, np.inf], dtype=np.float32),
    )
    assert d[0] == np.inf and np.isnan(d[1]) and d[2] == -np.inf and d[3] == 0 and np.isnan(d[4])


def test_overflow_underflow_and_subnormals():
    big = np.float32(3e38)
    assert mitchell_multiply(big, big) == np.inf
    assert mitchell_multiply(-big, big) == -np.inf
    assert mitchell_divide(big, np.float32(1e-30)) == np.inf
    tiny = mitchell_multiply(np.float32(1e-30), np.float32(1e-15))  # exact 1e-45: subnormal
    assert 0 < tiny <= np.float32(1e-45) * 1.0001
    assert mitchell_multiply(np.float32(1e-30), np.float32(1e-30)) == 0  # below subnormals
    sub = np.float32(1e-40)  # subnormal input, result normal
    r = mitchell_multiply(sub, np.float32(1e10)) / (np.float64(sub) * 1e10)
    assert 8 / 9 - 1e-6 <= r <= 1 + 1e-6
    s64 = mitchell_divide(5e-324, 2.0)
    assert s64 in (0.0, 5e-324)


def test_kinds_and_errors():
    t = mitchell_multiply(torch.tensor([1.5, 3.0]), torch.tensor(1.5))
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float32 and t.shape == (2,)
    assert isinstance(mitchell_divide(3.0, 2.0), float)
    with pytest.raises(TypeError, match="share a dtype"):
        mitchell_multiply(np.float32(1), np.float64(1))
    with pytest.raises(TypeError, match="float32 or float64"):
        mitchell_multiply(
            torch.tensor([1.0], dtype=torch.float16), torch.tensor([1.0], dtype=torch.float16)
        )
    with pytest.raises(TypeError, match="mix"):
        mitchell_multiply(np.float32(1), torch.tensor(1.0))
    with pytest.raises(TypeError):
        mitchell_multiply(3, 4)
