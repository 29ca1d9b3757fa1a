"""A safe evaluator for arithmetic expressions (no ``eval``): the maths recipe's one way to
turn an equation into a number.

kexue.fm/archives/7809 evaluates the model's output with Python's ``eval`` and calls a problem
solved when ``round(float(value), 6) == round(float(answer), 6)`` (:func:`is_equal`, the
article's rule, used both to filter the data and to score). ``eval`` on model output (or on a
typed problem) runs arbitrary code, and even pure arithmetic such as ``9**9**9`` never
finishes; this module parses with :mod:`ast` and walks the tree itself:

- allowed: number literals (``12``, ``3.5``, ``.5``), ``+ - * / **``, unary ``+``/``-`` and
  brackets; anything else (names, calls, attributes, subscripts, comprehensions, strings,
  comparisons, ``//``, ``%``) is an :class:`ExpressionError` naming what was found;
- exact: literals become :class:`fractions.Fraction` (``0.1`` is exactly 1/10), so
  ``+ - * /`` and integer powers are exact; a non-integer power falls back to ``float`` (the
  value is then a ``float``);
- bounded work, by construction (no timeout needed): at most ``max_chars`` characters, bracket
  and tree depth at most ``max_depth`` (checked on the characters *before* parsing, so the
  parser never recurses deeply), integer exponents at most ``max_exponent`` in size, and every
  intermediate value's numerator and denominator at most ``max_bits`` bits (a float beyond
  ``1e300`` in size is an error too). So every call does a bounded amount of arithmetic on
  bounded numbers.

Pitfall: ``Fraction`` and ``float`` give the same 6-decimal rounding on every retained
Ape210K equation (tested), but not in general: exact arithmetic is the reference here.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["ExpressionError", "Limits", "evaluate", "is_equal", "try_evaluate"]

Number = Fraction | float

_LITERAL = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_FLOAT_LIMIT = 1e300


class ExpressionError(ValueError):
    """The text is not an allowed arithmetic expression, or evaluating it is out of bounds."""


@dataclass(frozen=True)
class Limits:
    """The evaluator's bounds (see the module docstring)."""

    max_chars: int = 1000
    max_depth: int = 60
    max_exponent: int = 256
    max_bits: int = 8192


_DEFAULT = Limits()
_NAMES = {
    ast.Name: "names", ast.Call: "function calls", ast.Attribute: "attribute access",
    ast.Subscript: "subscripts", ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "comprehensions",
    ast.Lambda: "lambdas", ast.Compare: "comparisons", ast.BoolOp: "boolean operators",
    ast.IfExp: "conditional expressions", ast.Tuple: "tuples", ast.List: "lists",
    ast.Dict: "dicts", ast.Set: "sets", ast.JoinedStr: "strings", ast.NamedExpr: "assignments",
    ast.Starred: "starred expressions", ast.Await: "await", ast.Slice: "slices",
}
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


def _check_text(text: str, limits: Limits) -> None:
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be a str, got {type(text).__name__}")
    if len(text) > limits.max_chars:
        raise ExpressionError(f"expression too long: {len(text)} characters "
                              f"(at most {limits.max_chars})")
    if not text.strip():
        raise ExpressionError("empty expression")
    depth = 0
    for ch in text:  # before ast.parse: the parser itself recurses on deep nesting
        if ch in "([{":
            depth += 1
            if depth > limits.max_depth:
                raise ExpressionError(f"brackets nested deeper than {limits.max_depth}")
        elif ch in ")]}":
            depth -= 1


def _check_size(value: Number, limits: Limits) -> Number:
    if isinstance(value, Fraction):
        if (value.numerator.bit_length() > limits.max_bits
                or value.denominator.bit_length() > limits.max_bits):
            raise ExpressionError(f"a value exceeds {limits.max_bits} bits")
        return value
    if not math.isfinite(value) or abs(value) > _FLOAT_LIMIT:
        raise ExpressionError("a value is too large (or not finite)")
    return value


def _power(base: Number, exponent: Number, limits: Limits) -> Number:
    if isinstance(exponent, Fraction) and exponent.denominator == 1:
        e = exponent.numerator
        if abs(e) > limits.max_exponent:
            raise ExpressionError(f"exponent {e} is too large (at most {limits.max_exponent})")
        if isinstance(base, Fraction):
            if base == 0 and e < 0:
                raise ExpressionError("division by zero (0 to a negative power)")
            bits = max(base.numerator.bit_length(), base.denominator.bit_length())
            if bits * abs(e) > limits.max_bits:
                raise ExpressionError(f"a power exceeds {limits.max_bits} bits")
            return base**e
    b, x = float(base), float(exponent)
    if b < 0:
        raise ExpressionError("a negative number to a fractional power is not a real number")
    if b == 0 and x < 0:
        raise ExpressionError("division by zero (0 to a negative power)")
    if b > 0 and abs(x * math.log(b)) > 690:
        raise ExpressionError("a power is too large")
    return math.pow(b, x)


def _literal(node: ast.Constant, text: bytes) -> Fraction:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ExpressionError(f"only numbers are allowed, found {value!r}")
    source = text[node.col_offset: node.end_col_offset].decode("utf-8", "replace")
    if not _LITERAL.fullmatch(source):
        raise ExpressionError(f"not a plain decimal number: {source!r}")
    if isinstance(value, int):
        return Fraction(value)
    if "e" in source.lower():
        mantissa, _, exp = source.lower().partition("e")
        if abs(int(exp)) > 300:
            raise ExpressionError(f"number out of range: {source!r}")
        return Fraction(mantissa) * Fraction(10) ** int(exp)
    return Fraction(source)


def _walk(node: ast.AST, text: bytes, depth: int, limits: Limits) -> Number:
    if depth > limits.max_depth:
        raise ExpressionError(f"expression nested deeper than {limits.max_depth}")
    if isinstance(node, ast.Constant):
        return _literal(node, text)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _walk(node.operand, text, depth + 1, limits)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left = _walk(node.left, text, depth + 1, limits)
        right = _walk(node.right, text, depth + 1, limits)
        op = node.op
        if isinstance(op, ast.Add):
            out = left + right
        elif isinstance(op, ast.Sub):
            out = left - right
        elif isinstance(op, ast.Mult):
            out = left * right
        elif isinstance(op, ast.Div):
            if right == 0:
                raise ExpressionError("division by zero")
            out = left / right
        else:
            out = _power(left, right, limits)
        return _check_size(out, limits)
    if isinstance(node, ast.BinOp):
        raise ExpressionError(f"operator {type(node.op).__name__} is not allowed "
                              "(only + - * / **)")
    if isinstance(node, ast.UnaryOp):
        raise ExpressionError(f"unary operator {type(node.op).__name__} is not allowed")
    what = _NAMES.get(type(node), type(node).__name__)
    raise ExpressionError(f"{what} are not allowed in an arithmetic expression")


def evaluate(text: str, limits: Limits = _DEFAULT) -> Number:
    """The value of the arithmetic expression ``text``: a ``Fraction`` when exact, a
    ``float`` after a non-integer power. Raises :class:`ExpressionError` (a ``ValueError``)
    for anything that is not an allowed, bounded expression."""
    _check_text(text, limits)
    text = text.strip()
    if "\n" in text or "\r" in text:
        raise ExpressionError("an expression must be one line")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as err:
        raise ExpressionError(f"not a well-formed expression: {text!r} ({err.msg})") from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression nested too deeply") from None
    return _walk(tree.body, text.encode("utf-8"), 0, limits)


def try_evaluate(text: str, limits: Limits = _DEFAULT) -> Number | None:
    """:func:`evaluate`, or ``None`` when the text is not a valid expression."""
    try:
        return evaluate(text, limits)
    except ExpressionError:
        return None


def is_equal(a: Number | str, b: Number | str) -> bool:
    """The article's equality: ``round(float(a), 6) == round(float(b), 6)``; strings are
    evaluated first; a value that cannot be evaluated or converted is never equal."""
    try:
        x = evaluate(a) if isinstance(a, str) else a
        y = evaluate(b) if isinstance(b, str) else b
        return round(float(x), 6) == round(float(y), 6)
    except (ExpressionError, OverflowError, TypeError, ValueError):
        return False
