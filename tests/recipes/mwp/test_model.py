"""The solver: batched decoding equals one-at-a-time, save/load round trip, training runs and
resumes, and it learns (overfits) a few problems."""

from __future__ import annotations

import torch

from kexue.recipes.mwp.data import Problem
from kexue.recipes.mwp.model import load_solver, save_solver
from kexue.recipes.mwp.train import TrainOptions, accuracy, train_solver

from .conftest import PROBLEMS, tiny_solver


def _problems():
    from kexue.recipes.mwp.data import preprocess

    return [Problem(i, *preprocess(q, e, a)) for i, q, e, a in PROBLEMS]


def test_batched_equals_one_at_a_time(solver):
    questions = [q for _, q, _, _ in PROBLEMS]
    for beams in (1, 2):
        batched = solver.solve(questions, beams=beams, batch_size=4)
        single = [solver.solve([q], beams=beams)[0] for q in questions]
        assert batched == single


def test_save_and_load_round_trip(solver, tmp_path):
    save_solver(solver, tmp_path / "s")
    again = load_solver(tmp_path / "s")
    assert again.config == solver.config
    questions = [q for _, q, _, _ in PROBLEMS]
    assert again.solve(questions, beams=2) == solver.solve(questions, beams=2)


def test_training_learns_and_resumes(tmp_path):
    problems = _problems()
    solver = tiny_solver()
    opts = TrainOptions(epochs=4, batch_size=16, lr=3e-3, warmup=5, checkpoint_every=100)
    trainer = train_solver(solver, problems * 40, problems, tmp_path / "run", opts,
                           log=lambda s: None)
    losses = [h["loss"] for h in trainer.history if "loss" in h]
    assert losses[0] > 3 and losses[-1] < 1.2  # it learns ...
    assert accuracy(solver, problems) >= 0.5  # ... enough to solve training problems
    assert (tmp_path / "run" / "best" / "mwp.json").is_file()
    steps = trainer.step
    again = tiny_solver(seed=1)
    trainer = train_solver(again, problems * 40, problems, tmp_path / "run", opts,
                           log=lambda s: None)
    assert trainer.step == steps  # finished run: resumes at its end, no extra step
    for a, b in zip(again.model.parameters(), solver.model.parameters(), strict=True):
        torch.testing.assert_close(a, b)
