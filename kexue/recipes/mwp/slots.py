"""Number slots for the solver: the question's numbers become ``[N0]``, ``[N1]``, ... and the
equation is written over those slots.

kexue.fm/archives/7809 lets the model copy numbers token by token (``1260`` is ``126 ##0``)
and names a copy mechanism as the next step. Slots are the classic form of it (Wang et al.
2017, "Deep Neural Solver for Math Word Problems", number mapping): the ``k``-th distinct
number of the question, in order of first appearance, is written ``[Nk]`` in the question
and wherever the equation uses that value; numbers the question does not write (``1``,
``100``, ``3.14``) stay literal. The model then learns templates over slots, and the decoded
expression gets its numbers back by :func:`fill_slots`.

Values are compared exactly (``Fraction`` of the decimal text), so ``3.50`` in the question
fills the equation's ``3.5``. A question with more distinct numbers than slots keeps the rest
literal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction

from kexue.recipes.mwp.constraints import question_numbers

__all__ = ["SLOT", "slot_tokens", "mask_question", "mask_equation", "fill_slots"]

#: a slot token as the text writes it
SLOT = re.compile(r"\[N(\d+)\]")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def slot_tokens(n: int) -> list[str]:
    """The ``n`` slot tokens ``[N0]`` ... ``[N{n-1}]``."""
    if n < 0:
        raise ValueError(f"the number of slots must be >= 0, got {n}")
    return [f"[N{k}]" for k in range(n)]


def mask_question(question: str, slots: int) -> tuple[str, list[str]]:
    """``question`` with its first ``slots`` distinct numbers replaced by their slots, and
    those numbers (slot ``k`` holds ``numbers[k]``)."""
    values: dict[Fraction, int] = {}
    numbers: list[str] = []
    for text in question_numbers(question):
        v = Fraction(text)
        if v not in values and len(numbers) < slots:
            values[v] = len(numbers)
            numbers.append(text)
    return _write_slots(question, values), numbers


def mask_equation(equation: str, numbers: Sequence[str]) -> str:
    """``equation`` with every number equal in value to ``numbers[k]`` written ``[Nk]``."""
    return _write_slots(equation, {Fraction(n): k for k, n in reversed(list(enumerate(numbers)))})


def _write_slots(text: str, values: dict[Fraction, int]) -> str:
    """``text`` with each number whose value has slot ``k`` in ``values`` written ``[Nk]``."""

    def sub(m: re.Match) -> str:
        k = values.get(Fraction(m.group()))
        return m.group() if k is None else f"[N{k}]"

    return _NUMBER.sub(sub, text)


def fill_slots(expression: str, numbers: Sequence[str]) -> str:
    """``expression`` with each ``[Nk]`` replaced by ``numbers[k]``; a slot the question has
    no number for stays as it is (the expression is then unparsable, and counted so)."""

    def sub(m: re.Match) -> str:
        k = int(m.group(1))
        return numbers[k] if k < len(numbers) else m.group()

    return SLOT.sub(sub, expression)
