"""The well-formedness hook: every constrained output is an evaluable expression over the
question's numbers and the constants, whatever the (random) model prefers."""

from __future__ import annotations

import pytest

from kexue.recipes.mwp.constraints import question_numbers
from kexue.recipes.mwp.expression import try_evaluate

from .conftest import PROBLEMS


def test_question_numbers():
    assert question_numbers("把135本分给3个班，每本2.5元，1/3") == ["135", "3", "2.5", "1", "3"]


@pytest.mark.parametrize("beams", [1, 3])
def test_random_model_constrained_outputs_are_well_formed(solver, beams):
    questions = [q for _, q, _, _ in PROBLEMS]
    free = solver.solve(questions, beams=beams)
    assert sum(try_evaluate(e) is None for e in free) >= 1  # a random model babbles
    out = solver.solve(questions, beams=beams, constrained=True)
    for q, expression in zip(questions, out, strict=True):
        if len(solver.tokenizer.tokenize(expression)) - 2 >= solver.config.max_new_tokens:
            continue  # cut off at max_new_tokens: may be unfinished
        assert try_evaluate(expression) is not None, expression
        allowed = set(question_numbers(q)) | set(solver.config.constants)
        assert set(question_numbers(expression)) <= allowed, (q, expression)


def test_hook_walks_the_grammar(solver):
    hook, tok = solver.hook, solver.tokenizer
    state = hook.new_state([tok.encode(n)[0][1:-1] for n in ["12", "3.14", "5"]])
    ids = tok.token_to_id
    for t in ["(", "12", "+", "3", ".", "14"]:
        allowed = set(hook._allowed(state))
        assert ids(t) in allowed, t
        hook._advance(state, ids(t))
    allowed = set(hook._allowed(state))
    assert ids(")") in allowed and ids("*") in allowed
    assert solver.end_id not in allowed  # a bracket is open
    assert ids("5") not in allowed  # two numbers in a row
    hook._advance(state, ids(")"))
    assert solver.end_id in set(hook._allowed(state))
