"""Number slots: masking is exact and reversible, the solver reads and writes slots, and the
constrained decoder allows only the question's slots and the constants."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
import torch

from kexue.recipes.mwp.constraints import question_numbers
from kexue.recipes.mwp.data import Problem, preprocess
from kexue.recipes.mwp.expression import evaluate, is_equal
from kexue.recipes.mwp.model import load_solver, save_solver
from kexue.recipes.mwp.slots import SLOT, fill_slots, mask_equation, mask_question, slot_tokens
from kexue.recipes.mwp.train import TrainOptions, accuracy, train_solver

from .conftest import PROBLEMS, tiny_solver


def test_mask_question_by_first_appearance_and_value():
    q, nums = mask_question("有12个苹果，吃了5个，又买了12.0个，还剩几个？", 20)
    assert q == "有[N0]个苹果，吃了[N1]个，又买了[N0]个，还剩几个？"
    assert nums == ["12", "5"]
    assert mask_equation("12+12-5*1", nums) == "[N0]+[N0]-[N1]*1"  # 1 is a constant
    assert mask_equation("3.5*2", ["3.50"]) == "[N0]*2"  # equal values, different text


def test_more_numbers_than_slots_stay_literal():
    q, nums = mask_question("3个班，每班4组，每组5人", 2)
    assert (q, nums) == ("[N0]个班，每班[N1]组，每组5人", ["3", "4"])
    assert slot_tokens(3) == ["[N0]", "[N1]", "[N2]"]
    with pytest.raises(ValueError, match=">= 0"):
        slot_tokens(-1)


def test_fill_slots_inverts_masking_on_random_equations():
    rng = random.Random(0)
    for _ in range(300):
        numbers = [str(rng.choice([rng.randint(1, 999), rng.randint(1, 99) / 4]))
                   for _ in range(rng.randint(1, 6))]
        question = "，".join(f"第{k}个数是{n}" for k, n in enumerate(numbers))
        masked, slotted = mask_question(question, rng.randint(1, 6))
        assert question_numbers(SLOT.sub(" ", masked)) == [
            n for n in question_numbers(question) if Fraction(n) not in map(Fraction, slotted)]
        eq = rng.choice(numbers)
        for _ in range(rng.randint(0, 4)):
            eq = f"({eq}){rng.choice('+-*')}{rng.choice([*numbers, '1', '100'])}"
        written = mask_equation(eq, slotted)
        literal = {Fraction(n) for n in question_numbers(SLOT.sub(" ", written))}
        assert not literal & {Fraction(n) for n in slotted}  # every slotted value is a slot
        assert is_equal(evaluate(fill_slots(written, slotted)), evaluate(eq))


def test_fill_slots_leaves_a_missing_slot_unparsable():
    assert fill_slots("[N0]+[N3]", ["7"]) == "7+[N3]"


def test_solver_reads_slots_not_digits():
    solver = tiny_solver(slots=4)
    ex = solver.example("有12个苹果，吃了5个，还剩几个？", "12-5")
    tokens = solver.tokenizer.ids_to_tokens(ex["token_ids"])
    assert tokens.count("[N0]") == 2 and tokens.count("[N1]") == 2
    assert "12" not in tokens and "5" not in tokens
    assert solver.tokenizer.ids_to_tokens(solver.prompt("有12个苹果")) == [
        "[CLS]", "有", "[N0]", "个", "苹", "果", "[SEP]"]


def test_solver_needs_a_tokenizer_that_keeps_its_slots():
    from kexue.recipes.mwp.model import Solver
    from kexue.text import Tokenizer

    s = tiny_solver(slots=2)
    plain = Tokenizer(s.tokenizer.token_dict)
    with pytest.raises(ValueError, match=r"\[N0\] whole"):
        Solver(s.model, plain, s.config)


def test_constrained_slots_use_only_the_questions_numbers_and_constants(tmp_path):
    solver = tiny_solver(seed=3, slots=6)
    questions = [q for _, q, _, _ in PROBLEMS]
    outs = solver.solve(questions, beams=2, constrained=True)
    for q, out in zip(questions, outs, strict=True):
        assert "[N" not in out
        evaluate(out)  # well-formed
        assert set(question_numbers(out)) <= set(question_numbers(q)) | {"1", "100"}
    save_solver(solver, tmp_path / "s")
    again = load_solver(tmp_path / "s")
    assert again.config.number_slots == 6
    assert again.solve(questions, beams=2, constrained=True) == outs


def test_training_with_slots_solves_new_numbers(tmp_path):
    problems = [Problem(i, *preprocess(q, e, a)) for i, q, e, a in PROBLEMS]
    solver = tiny_solver(slots=4)
    opts = TrainOptions(epochs=4, batch_size=16, lr=3e-3, warmup=5, checkpoint_every=1000)
    torch.manual_seed(0)
    train_solver(solver, problems * 40, problems, tmp_path / "run", opts, log=lambda s: None)
    assert accuracy(solver, problems) >= 0.5
    # the same templates over numbers never seen in training: slots carry them over
    fresh = [Problem("n1", "有17个苹果，吃了9个，还剩几个？", "17-9", "8"),
             Problem("n2", "长方形长13米宽6米，面积是多少？", "13*6", "78")]
    assert accuracy(solver, fresh) >= 0.5



def test_every_real_training_problem_round_trips_through_slots():
    from kexue.recipes.mwp.data import fixed_splits, read_default
    from tests.conftest import shared_data_path

    ape, math23k = read_default(shared_data_path("ape210k", "valid.ape.json").parents[1])
    train = fixed_splits(ape, math23k).train
    assert len(train) == 9710
    slotted = 0
    for p in train:
        q, numbers = mask_question(p.question, 20)
        eq = mask_equation(p.equation, numbers)
        assert is_equal(evaluate(fill_slots(eq, numbers)), p.answer), p.id
        slotted += "[N" in eq
    assert slotted > 0.95 * len(train)  # nearly every equation uses a question number
