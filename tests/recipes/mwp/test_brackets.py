"""Redundant-bracket removal: idempotent, value-preserving, and it removes what it should."""

from __future__ import annotations

import random

import pytest

from kexue.recipes.mwp.brackets import bracket_pairs, remove_brackets
from kexue.recipes.mwp.expression import evaluate


@pytest.mark.parametrize("text, expected", [
    ("(1+2)+3", "1+2+3"),
    ("150*(20/100)/(5/100)-150", "150*20/100/(5/100)-150"),
    ("1-(2-3)", "1-(2-3)"),
    ("2*((3+4))", "2*(3+4)"),
    ("0*(1+2)", "0*(1+2)"),
    ("((((7))))", "7"),
    ("(2-1)*(1)", "2-1*1"),
    # one pass gives 2+(2-2)*3/3; only the second finds (2-2) removable (value coincidence)
    ("(2)+((((2-2)*(3))/(3)))", "2+2-2*3/3"),
])
def test_known_cases(text, expected):
    assert remove_brackets(text) == expected


def _random_expression(rng: random.Random, depth: int = 0) -> str:
    if depth > 3 or rng.random() < 0.3:
        return rng.choice(["1", "2", "3", "0.5", "10", "7", "100", "4"])
    left, right = _random_expression(rng, depth + 1), _random_expression(rng, depth + 1)
    op = rng.choice("+-*/")
    text = f"{left}{op}{right}" if rng.random() < 0.3 else f"({left}){op}({right})"
    return f"({text})" if rng.random() < 0.2 else text


def test_property_idempotent_and_value_preserving():
    rng = random.Random(0)
    removed = 0
    for _ in range(400):
        text = _random_expression(rng)
        try:
            value = evaluate(text)
        except ValueError:  # division by zero
            continue
        out = remove_brackets(text)
        assert evaluate(out) == value, (text, out)
        assert remove_brackets(out) == out, (text, out)
        assert len(out) <= len(text)
        removed += len(text) - len(out)
    assert removed > 400  # it does remove brackets


def test_unbalanced():
    with pytest.raises(ValueError, match="unbalanced"):
        bracket_pairs("(1+2")
    assert bracket_pairs("(1)+(2*(3))") == [(0, 2), (7, 9), (4, 10)]
