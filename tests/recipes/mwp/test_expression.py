"""The safe evaluator: exact values, the article's equality, and fast clear rejections."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest

from kexue.recipes.mwp.expression import ExpressionError, Limits, evaluate, is_equal


@pytest.mark.parametrize("text, value", [
    ("135/3", Fraction(45)), ("0.1+0.2", Fraction(3, 10)), ("(1+2)/4", Fraction(3, 4)),
    ("-(3)/ 4", Fraction(-3, 4)), ("2**10", Fraction(1024)), ("2**-2", Fraction(1, 4)),
    ("150*(20/100)/(5/100)-150", Fraction(450)), (".5*4", Fraction(2)), ("1e3", Fraction(1000)),
    ("-2**2", Fraction(-4)), ("2**3**2", Fraction(512)), ("+7", Fraction(7)),
])
def test_exact_values(text, value):
    out = evaluate(text)
    assert isinstance(out, Fraction) and out == value


def test_fractional_power_falls_back_to_float():
    assert evaluate("2**0.5") == pytest.approx(2**0.5)
    assert isinstance(evaluate("4**(1/2)"), float)


def test_is_equal_is_the_articles_six_decimal_rule():
    assert is_equal("1/3", "0.3333333")
    assert is_equal(Fraction(1, 3), 0.333333)
    assert not is_equal("1/3", "0.33333")
    assert not is_equal("1/0", "1")  # an error is never equal
    assert not is_equal("abs(1)", "1")


@pytest.mark.parametrize("text, message", [
    ("__import__('os').system('true')", "function calls"),
    ("x+1", "names"),
    ("(1).real", "attribute access"),
    ("[i for i in (1, 2)]", "comprehensions"),
    ("(i for i in (1, 2))", "comprehensions"),
    ("'a'*3", "only numbers"),
    ("1<2", "comparisons"),
    ("7//2", "FloorDiv"),
    ("7%2", "Mod"),
    ("1, 2", "tuples"),
    ("1/0", "division by zero"),
    ("0**-1", "division by zero"),
    ("(-8)**(1/3)", "not a real number"),
    ("0x10", "plain decimal"),
    ("1_000", "plain decimal"),
    ("1+", "well-formed"),
    ("05", "well-formed"),
    ("", "empty"),
    ("1+\n2", "one line"),
])
def test_rejections_name_the_problem(text, message):
    with pytest.raises(ExpressionError, match=message):
        evaluate(text)


@pytest.mark.parametrize("text, message", [
    ("9**9**9", "exponent"),
    ("2**256**2", "exponent"),
    ("99999999999**256", "bits"),
    ("10.5**600", "exponent"),
    ("1.5**0.5**-900", "too large"),
    ("(" * 10000 + "1" + ")" * 10000, "too long"),
    ("(" * 300 + "1" + ")" * 300, "nested deeper"),
    ("-" * 500 + "1", "nested deeper"),
    ("1" + "+1" * 200, "nested deeper"),
    ("9" * 2000, "too long"),
    ("*".join(["(9**250)"] * 12), "bits"),
])
def test_unbounded_work_is_refused_fast(text, message):
    start = time.perf_counter()
    with pytest.raises(ExpressionError, match=message):
        evaluate(text)
    assert time.perf_counter() - start < 1.0  # generous: a loaded 2-core machine


def test_limits_are_parameters():
    assert evaluate("1" + "+1" * 200, Limits(max_depth=300)) == 201
    with pytest.raises(ExpressionError, match="too long"):
        evaluate("1+1", Limits(max_chars=2))


def test_no_eval_in_the_recipe():
    import re
    from pathlib import Path

    import kexue.recipes.mwp as pkg

    builtin = re.compile(r"(?<![\w.])(eval|exec|compile)\(")  # module.eval() is nn.Module's
    for f in [*Path(pkg.__file__).parent.rglob("*.py"), Path(pkg.__file__).parents[2] / "cli"
              / "mwp.py"]:
        assert not builtin.search(f.read_text(encoding="utf-8")), f
