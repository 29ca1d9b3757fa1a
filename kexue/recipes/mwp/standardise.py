"""Output standardisation: the article's "标准输出" (kexue.fm/archives/7809), as an option.

The DataFountain contest wanted an answer in the form the question asks for, not a raw value.
The article decides the form from keywords of the question and the shape of the expression;
the rules here, in order:

1. ``百分之几`` in the question: a percentage (``0.25`` -> ``25%``);
2. ``多少`` or ``几`` followed by a counting classifier (辆 人 个 只 箱 包 本 束 头 盒 张): an
   integer, rounded down when the question says ``至多``/``最多`` and up otherwise (``至少``,
   ``最少`` and the default: a 10.2-bus trip needs 11 buses);
3. a decimal point in the expression (or an inexact value): a decimal (at most 6 places, no
   trailing zeros);
4. otherwise the exact value (:class:`fractions.Fraction`, the article used SymPy for this):
   an integer, or a fraction ``a/b``; an improper fraction is written as a mixed number
   ``a_b/c`` when the question itself contains fractions (``几分之几`` questions and the like),
   and as a decimal when it has none and the decimal terminates within 6 places.

Pitfall: the rules read the question, not the model; a wrong expression is still wrong after
standardisation, and a right one can be "wrong" in form (the article scored ~38 % online with
them).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

__all__ = ["standardise"]

_COUNT = re.compile(r"(多少|几)[辆人个只箱包本束头盒张]")
_AT_MOST = re.compile(r"至多|最多")
_FRACTION = re.compile(r"\d+/\d+|几分之几|分之")


def _decimal(value: float | Fraction) -> str:
    text = f"{round(float(value), 6):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _terminates(value: Fraction, places: int = 6) -> bool:
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1 and value.denominator <= 10**places


def _fraction(value: Fraction, mixed: bool) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    a = abs(value)
    whole, rest = divmod(a.numerator, a.denominator)
    if mixed and whole:
        return f"{sign}{whole}_{rest}/{a.denominator}"
    return f"{sign}{a.numerator}/{a.denominator}"


def standardise(question: str, expression: str, value: Fraction | float) -> str:
    """The answer to ``question`` in the form it asks for (rules in the module docstring),
    given the solver's ``expression`` and its ``value``."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"no standard form for {value!r}")
    if "百分之几" in question:
        return f"{_decimal(Fraction(value) * 100 if isinstance(value, Fraction) else value * 100)}%"
    if _COUNT.search(question):
        x = value if isinstance(value, Fraction) else round(value, 6)  # no float noise
        rounded = math.floor(x) if _AT_MOST.search(question) else math.ceil(x)
        return str(int(rounded))
    if "." in expression or isinstance(value, float):
        return _decimal(value)
    if value.denominator == 1:
        return str(value.numerator)
    if _FRACTION.search(question):
        return _fraction(value, mixed=True)
    if _terminates(value):
        return _decimal(value)
    return _fraction(value, mixed=False)
