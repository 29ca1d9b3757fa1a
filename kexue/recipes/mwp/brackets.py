"""Redundant-bracket removal (the article's ``remove_bucket``, kexue.fm/archives/7809).

Ape210K equations carry many brackets that do not change the value (``(1+2)+3``,
``(3/100)``); shorter targets are easier to generate. For each matched bracket pair, inner
pairs first (in the order their ``)`` appears), the pair is deleted when the expression without
it still parses and has exactly the same value (the article compares at 6 decimals; exact
:class:`~fractions.Fraction` equality here, so the value is preserved exactly). The pass is
repeated until nothing more can be removed, so the result is a fixed point:
``remove_brackets(remove_brackets(e)) == remove_brackets(e)``.

Pitfall: value equality is a property of this one expression, not of its structure: a pair
can be removable only because of the numbers in it (``0*(1+2)`` keeps its brackets, but
``(2-1)*(1)`` loses both), which is exactly what the article does.
"""

from __future__ import annotations

from kexue.recipes.mwp.expression import ExpressionError, evaluate

__all__ = ["bracket_pairs", "remove_brackets"]


def bracket_pairs(text: str) -> list[tuple[int, int]]:
    """``(open, close)`` index pairs of the round brackets of ``text`` in the order of their
    closing bracket. Raises ``ValueError`` for unbalanced brackets."""
    stack: list[int] = []
    pairs: list[tuple[int, int]] = []
    for i, ch in enumerate(text):
        if ch == "(":
            stack.append(i)
        elif ch == ")":
            if not stack:
                raise ValueError(f"unbalanced ')' at {i} in {text!r}")
            pairs.append((stack.pop(), i))
    if stack:
        raise ValueError(f"unbalanced '(' at {stack[-1]} in {text!r}")
    return pairs


def _one_pass(text: str, value) -> str:
    keep = [True] * len(text)
    for left, right in bracket_pairs(text):
        keep[left] = keep[right] = False
        trial = "".join(c for c, k in zip(text, keep, strict=True) if k)
        try:
            same = evaluate(trial) == value
        except ExpressionError:
            same = False
        if not same:
            keep[left] = keep[right] = True
    return "".join(c for c, k in zip(text, keep, strict=True) if k)


def remove_brackets(text: str) -> str:
    """``text`` without the brackets that do not change its value (see the module
    docstring). Raises :class:`~kexue.recipes.mwp.expression.ExpressionError` when ``text``
    itself is not a valid expression."""
    value = evaluate(text)
    while True:
        shorter = _one_pass(text, value)
        if shorter == text:
            return text
        text = shorter
