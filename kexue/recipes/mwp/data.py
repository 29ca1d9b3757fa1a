"""Math word problems: the article's preprocessing, the Ape210K and Math23K readers, the
fixed splits (kexue.fm/archives/7809; ``../shared/CONVENTIONS.md`` §4).

Preprocessing (the article's ``load_data``, in its order):

1. mixed numbers ``a(b/c)`` become ``(a+b/c)`` in the question, the equation and the answer;
   a digit still followed by ``(`` in the equation or answer gets a ``+`` (``3(1/2`` typos);
2. a proper fraction written ``(a/b)`` loses its brackets in the question only;
3. percentages ``a%`` become ``(a/100)`` in the equation and answer (a leftover ``%`` becomes
   ``/100``), the ratio colon ``:`` becomes ``/``;
4. a leading ``x=`` is stripped;
5. the problem is kept only when the equation's value equals the answer's at 6 decimals
   (:func:`~kexue.recipes.mwp.expression.is_equal`);
6. redundant brackets are removed from the equation
   (:func:`~kexue.recipes.mwp.brackets.remove_brackets`).

On Ape210K's validation file this keeps 4,999 of 5,000 problems (the article's count; tested).

Math23K (``../shared/data/math23k/``, two releases with their own fields) is read into the
same :class:`Problem` form; its ``[ ]`` brackets become ``( )`` and ``^`` becomes ``**``
first. Splits (:func:`fixed_splits`): held-out = the last 1,000 retained Ape210K problems by
numeric id; train = the other retained Ape210K problems plus Math23K deduplicated by question
text (NFKC, whitespace removed), minus every Math23K question equal to an Ape210K one and every
question equal to a held-out one.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kexue.recipes.mwp.brackets import remove_brackets
from kexue.recipes.mwp.expression import evaluate, is_equal

__all__ = ["Problem", "ReadResult", "Splits", "preprocess", "read_ape210k", "read_math23k",
           "question_key", "fixed_splits", "read_default", "HELDOUT_SIZE"]

HELDOUT_SIZE = 1000

_MIXED = re.compile(r"(\d+)\((\d+/\d+)\)")
_DIGIT_BRACKET = re.compile(r"(\d+)\(")
_FRACTION = re.compile(r"\((\d+/\d+)\)")
_PERCENT = re.compile(r"([\.\d]+)%")


@dataclass(frozen=True)
class Problem:
    """One preprocessed problem: ``equation`` is evaluable, ``answer`` its reference value
    as an expression string (``"45"``, ``"(1+1/2)"``)."""

    id: str
    question: str
    equation: str
    answer: str
    source: str = "ape210k"


@dataclass
class ReadResult:
    """The problems a reader kept, how many it read, and why it dropped the rest."""

    problems: list[Problem]
    total: int
    dropped: list[tuple[str, str]] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)  # every question read, as read


def _numbers(text: str) -> str:
    return _PERCENT.sub(r"(\1/100)", text).replace(":", "/").replace("%", "/100")


def preprocess(question: str, equation: str, answer: str) -> tuple[str, str, str]:
    """The article's rules 1–6 on one problem: ``(question, equation, answer)``. Raises
    ``ValueError`` (an :class:`~kexue.recipes.mwp.expression.ExpressionError` when a text does
    not evaluate) when the problem is not kept, with the reason."""
    question = _MIXED.sub(r"(\1+\2)", question)
    equation = _DIGIT_BRACKET.sub(r"\1+(", _MIXED.sub(r"(\1+\2)", equation))
    answer = _DIGIT_BRACKET.sub(r"\1+(", _MIXED.sub(r"(\1+\2)", answer))
    question = _FRACTION.sub(r"\1", question)
    equation, answer = _numbers(equation), _numbers(answer)
    if equation[:2] == "x=":
        equation = equation[2:]
    value, reference = evaluate(equation), evaluate(answer)
    if not is_equal(value, reference):
        raise ValueError(f"equation {equation!r} = {float(value):.6g} but the answer "
                         f"{answer!r} = {float(reference):.6g}")
    return question, remove_brackets(equation), answer


def _convert(items: Iterable[tuple[str, str, str, str]], source: str) -> ReadResult:
    kept: list[Problem] = []
    dropped: list[tuple[str, str]] = []
    questions: list[str] = []
    total = 0
    for pid, question, equation, answer in items:
        total += 1
        questions.append(question)
        try:
            q, e, a = preprocess(question, equation, answer)
        except ValueError as err:  # ExpressionError included
            dropped.append((pid, str(err)))
            continue
        kept.append(Problem(pid, q, e, a, source))
    return ReadResult(kept, total, dropped, questions)


def _field(record: dict, name: str, where: str):
    if name not in record:
        raise ValueError(f"{where}: the record has no {name!r} field")
    return record[name]


def read_ape210k(path: str | os.PathLike) -> ReadResult:
    """Read an Ape210K JSON-lines file (``id``, ``original_text``, ``equation``, ``ans``) and
    preprocess it. Raises ``ValueError`` naming the line for malformed JSON or a missing
    field."""
    def items():
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                where = f"{path}, line {n}"
                try:
                    r = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{where}: not JSON ({err.msg})") from None
                if not isinstance(r, dict):
                    raise ValueError(f"{where}: a record must be a JSON object")
                yield (str(_field(r, "id", where)), str(_field(r, "original_text", where)),
                       str(_field(r, "equation", where)), str(_field(r, "ans", where)))
    return _convert(items(), "ape210k")


def _math23k_answer(r: dict, where: str) -> str:
    if "ans" in r:
        return str(r["ans"])
    value = _field(r, "answer", where)
    return repr(float(value))


def read_math23k(path: str | os.PathLike) -> ReadResult:
    """Read a Math23K JSON array (the CogSolver or MWPToolkit release) and preprocess it."""
    name = f"math23k:{Path(path).parent.name}/{Path(path).name}"
    with open(path, encoding="utf-8") as f:
        try:
            records = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not a JSON array ({err.msg})") from None
    if not isinstance(records, list):
        raise ValueError(f"{path}: expected a JSON array of problems")

    def items():
        for n, r in enumerate(records):
            where = f"{path}, problem {n}"
            equation = str(_field(r, "equation", where))
            equation = equation.replace("[", "(").replace("]", ")").replace("^", "**")
            yield (str(_field(r, "id", where)), str(_field(r, "original_text", where)),
                   equation, _math23k_answer(r, where))
    return _convert(items(), name)


def question_key(text: str) -> str:
    """The text two problems are compared by: NFKC-normalised, all whitespace removed."""
    return "".join(unicodedata.normalize("NFKC", text).split())


@dataclass
class Splits:
    """The fixed splits: ``train`` (fit), ``dev`` (a slice of train for selection),
    ``heldout`` (report), and how many problems each rule removed."""

    train: list[Problem]
    dev: list[Problem]
    heldout: list[Problem]
    counts: dict[str, int]


def fixed_splits(ape: ReadResult, math23k: Sequence[ReadResult] = (), *,
                 heldout: int = HELDOUT_SIZE, dev: int = 300) -> Splits:
    """The convention's splits: held-out = the last ``heldout`` retained Ape210K problems by
    numeric id; dev = the ``dev`` retained Ape210K problems just before them; train = the
    remaining Ape210K problems plus Math23K deduplicated by :func:`question_key` (first
    occurrence kept), minus Math23K questions equal to any Ape210K question (read or kept),
    and minus any question equal to a held-out or dev one."""
    def order(p: Problem):
        return (int(p.id), p.id) if p.id.isdigit() else (float("inf"), p.id)

    ranked = sorted(ape.problems, key=order)
    if len(ranked) <= heldout + dev:
        raise ValueError(f"{len(ranked)} retained Ape210K problems are too few for a held-out "
                         f"set of {heldout} and a dev set of {dev}")
    held = ranked[len(ranked) - heldout:]
    dev_part = ranked[len(ranked) - heldout - dev: len(ranked) - heldout]
    fit = ranked[: len(ranked) - heldout - dev]
    ape_keys = {question_key(p.question) for p in ape.problems}
    ape_keys |= {question_key(q) for q in ape.questions}
    closed = {question_key(p.question) for p in held + dev_part}
    counts = {"ape210k_train": 0, "math23k_duplicate": 0, "math23k_in_ape210k": 0,
              "math23k_train": 0, "equal_to_heldout_or_dev": 0}
    train: list[Problem] = []
    for p in fit:
        if question_key(p.question) in closed:
            counts["equal_to_heldout_or_dev"] += 1
            continue
        train.append(p)
        counts["ape210k_train"] += 1
    seen: set[str] = set()
    for result in math23k:
        for p in result.problems:
            key = question_key(p.question)
            if key in seen:
                counts["math23k_duplicate"] += 1
                continue
            seen.add(key)
            if key in ape_keys:
                counts["math23k_in_ape210k"] += 1
                continue
            train.append(p)
            counts["math23k_train"] += 1
    return Splits(train, dev_part, held, counts)


def read_default(root: str | os.PathLike) -> tuple[ReadResult, list[ReadResult]]:
    """Ape210K validation and the four Math23K files under a ``shared/data`` folder."""
    root = Path(root)
    ape = read_ape210k(root / "ape210k" / "valid.ape.json")
    names = ["cogsolver/test23k_processed.json", "cogsolver/valid23k_processed.json",
             "mwptoolkit/testset.json", "mwptoolkit/validset.json"]
    return ape, [read_math23k(root / "math23k" / n) for n in names]
