"""Scoring predicted expressions: the article's accuracy and a per-error-type breakdown.

A prediction is ``correct`` when its value equals the answer at 6 decimals (kexue.fm/archives/
7809's ``is_equal``); otherwise it is ``unparsable`` (not an allowed, bounded expression, or
division by zero: :mod:`kexue.recipes.mwp.expression`) or a ``wrong value``.
"""

from __future__ import annotations

from collections.abc import Sequence

from kexue.recipes.mwp.expression import is_equal, try_evaluate

__all__ = ["score", "judge"]


def judge(prediction: str, answer: str) -> str:
    """``"correct"``, ``"unparsable"`` or ``"wrong value"``."""
    value = try_evaluate(prediction)
    if value is None:
        return "unparsable"
    return "correct" if is_equal(value, answer) else "wrong value"


def score(problems: Sequence, predictions: Sequence[str]) -> dict:
    """``{"n", "correct", "accuracy", "errors": {"unparsable": k, "wrong value": k},
    "per_problem": [judgement...]}`` for ``predictions`` of ``problems`` (with ``answer``)."""
    if len(problems) != len(predictions):
        raise ValueError(f"{len(predictions)} predictions for {len(problems)} problems")
    verdicts = [judge(e, p.answer) for p, e in zip(problems, predictions, strict=True)]
    correct = verdicts.count("correct")
    n = len(verdicts)
    return {"n": n, "correct": correct, "accuracy": correct / n if n else 0.0,
            "errors": {k: verdicts.count(k) for k in ("unparsable", "wrong value")},
            "per_problem": verdicts}
