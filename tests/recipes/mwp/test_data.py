"""The article's preprocessing on the real Ape210K validation file, Math23K, the splits."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from kexue.recipes.mwp.data import (
    Problem,
    ReadResult,
    fixed_splits,
    preprocess,
    question_key,
    read_ape210k,
    read_math23k,
)
from kexue.recipes.mwp.expression import evaluate


@pytest.fixture(scope="module")
def ape(request):
    from tests.conftest import shared_data_path

    return read_ape210k(shared_data_path("ape210k", "valid.ape.json"))


def test_keeps_exactly_4999_of_5000(ape):
    assert ape.total == 5000
    assert len(ape.problems) == 4999  # the article's count (kexue.fm/archives/7809)
    assert [pid for pid, _ in ape.dropped] == ["1219785"]
    mean = sum(len(p.equation) for p in ape.problems) / len(ape.problems)
    assert 13.1 < mean < 13.3  # spec: about 13.2 characters after bracket removal


def test_retained_equations_agree_with_exact_arithmetic(ape):
    from sympy import Rational
    from sympy.parsing.sympy_parser import parse_expr, rationalize, standard_transformations

    transformations = standard_transformations + (rationalize,)
    for p in ape.problems[::10]:  # a tenth of them: sympy is slow
        value = evaluate(p.equation)
        reference = parse_expr(p.equation, transformations=transformations)
        if isinstance(value, Fraction):
            assert reference == Rational(value.numerator, value.denominator), p
        else:
            assert float(reference) == pytest.approx(value, rel=1e-12), p


@pytest.mark.parametrize("raw, expected", [
    (("q", "x=150*20%/5%-150", "450"), ("q", "150*20/100/(5/100)-150", "450")),
    (("吃了(1/3)和2(1/2)个", "x=2(1/2)-1/3", "2(1/6)"),
     ("吃了1/3和(2+1/2)个", "2+1/2-1/3", "(2+1/6)")),
    (("q", "x=3:4", "0.75"), ("q", "3/4", "0.75")),
    (("q", "x=12.5%*8", "1"), ("q", "12.5/100*8", "1")),
    (("q", "x=1(2+3)", "6"), ("q", "1+2+3", "6")),  # a digit before "(" gets a "+"
])
def test_hand_cases(raw, expected):
    assert preprocess(*raw) == expected


def test_preprocess_rejects_with_a_reason():
    with pytest.raises(ValueError, match="answer"):
        preprocess("q", "x=1+1", "3")
    with pytest.raises(ValueError, match="well-formed"):
        preprocess("q", "x=1+", "1")


def test_reader_names_the_bad_line(tmp_path):
    f = tmp_path / "bad.json"
    f.write_text(json.dumps({"id": "1", "original_text": "q", "equation": "x=1", "ans": "1"})
                 + "\n{oops\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        read_ape210k(f)
    f.write_text(json.dumps({"id": "1", "equation": "x=1", "ans": "1"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="original_text"):
        read_ape210k(f)


def test_math23k_both_releases(tmp_path):
    from tests.conftest import shared_data_path

    cog = read_math23k(shared_data_path("math23k", "cogsolver", "test23k_processed.json"))
    assert cog.total == 989 and len(cog.problems) == 989
    tool = read_math23k(shared_data_path("math23k", "mwptoolkit", "testset.json"))
    assert tool.total == 2271 and len(tool.problems) == 2270  # one equation holds 千米小时
    f = tmp_path / "m.json"
    f.write_text(json.dumps([{"id": "7", "original_text": "q", "equation": "x=[2+1]^2",
                              "answer": 9.0}]), encoding="utf-8")
    assert read_math23k(f).problems[0].equation == "(2+1)**2"


def _p(pid: str, q: str, source: str = "ape210k") -> Problem:
    return Problem(pid, q, "1", "1", source)


def test_fixed_splits_rules():
    ape = ReadResult([_p(str(i), f"问题{i}") for i in (5, 40, 3, 100, 21, 7)], 7,
                     questions=[f"问题{i}" for i in (5, 40, 3, 100, 21, 7)] + ["丢掉 的"])
    m1 = ReadResult([_p("a", "问题 5", "m"), _p("b", "新的", "m"), _p("c", "丢掉的", "m")], 3)
    m2 = ReadResult([_p("d", "新 的", "m"), _p("e", "另一个", "m")], 2)
    s = fixed_splits(ape, [m1, m2], heldout=2, dev=1)
    assert [p.id for p in s.heldout] == ["40", "100"]  # numeric id order, not file order
    assert [p.id for p in s.dev] == ["21"]
    assert [p.id for p in s.train] == ["3", "5", "7", "b", "e"]
    assert s.counts["math23k_in_ape210k"] == 2 and s.counts["math23k_duplicate"] == 1
    assert question_key("问 题\u3000１") == "问题1"
    with pytest.raises(ValueError, match="too few"):
        fixed_splits(ape, [], heldout=5, dev=1)


def test_real_splits_sizes(ape):
    s = fixed_splits(ape, [])
    assert len(s.heldout) == 1000 and len(s.dev) == 300 and len(s.train) == 3699
    ids = [int(p.id) for p in s.heldout]
    assert min(ids) > max(int(p.id) for p in s.train + s.dev)
