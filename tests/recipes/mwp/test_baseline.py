"""The retrieval baseline: number substitution and nearest-question lookup."""

from __future__ import annotations

from kexue.recipes.mwp.baseline import RetrievalBaseline, substitute_numbers
from kexue.recipes.mwp.data import Problem


def test_substitution_follows_question_order():
    eq = substitute_numbers("135/3+100", "学校把135本书分给3个班", "学校把90本书分给5个班")
    assert eq == "90/5+100"  # 100 is not in the question: a constant, kept
    assert substitute_numbers("2*3", "有2个和3个", "只有7个") == "7*3"  # no 2nd number: kept


def test_nearest_training_question_gives_its_equation():
    train = [Problem("1", "学校把135本练习本平均分给3个班，每班多少本？", "135/3", "45"),
             Problem("2", "一个长方形长5米宽4米，面积多少平方米？", "5*4", "20"),
             Problem("3", "小明有12个苹果，吃了5个，还剩几个？", "12-5", "7")]
    base = RetrievalBaseline(train)
    questions = ["一个长方形长8米宽2米，面积多少平方米？", "小红有20个苹果，吃了9个，还剩几个？"]
    assert base.nearest(questions) == [1, 2]
    assert base.predict(questions) == ["8*2", "20-9"]
