"""The article's output standardisation rules (标准输出)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from kexue.recipes.mwp.expression import evaluate
from kexue.recipes.mwp.standardise import standardise


@pytest.mark.parametrize("question, expression, expected", [
    ("男生占全班的百分之几？", "12/48", "25%"),
    ("每辆车坐45人，460人至少要多少辆车？", "460/45", "11"),
    ("每辆车坐45人，460人需要几辆车？", "460/45", "11"),
    ("每盒装6个，50个最多装满多少盒？", "50/6", "8"),
    ("每盒装6个，50个至多装满多少盒？", "50/6", "8"),
    ("一共多少只？", "3*4", "12"),
    ("每千克2.5元，买3千克要多少元？", "2.5*3", "7.5"),
    ("还剩这批帐篷的几分之几？", "1-1/5-1/4", "11/20"),
    ("一根绳子长7/2米的3倍是多少米？", "7/2*3", "10_1/2"),
    ("平均每人分多少千克？", "7/2", "3.5"),
    ("平均每人分多少千克？", "10/3", "10/3"),
    ("一共多少元？", "(1+2)/4*4", "3"),
])
def test_rules(question, expression, expected):
    assert standardise(question, expression, evaluate(expression)) == expected


def test_float_noise_does_not_change_the_integer():
    assert standardise("要多少辆车？", "x", 9.0000000000001) == "9"
    assert standardise("要多少辆车？", "x", Fraction(9)) == "9"
    with pytest.raises(ValueError):
        standardise("q", "x", float("inf"))
