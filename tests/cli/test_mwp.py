"""`kexue mwp`: bad input gives a clear message and a non-zero exit, solve / eval work."""

from __future__ import annotations

import pytest

from kexue.cli import main as kexue_main
from kexue.cli.mwp import MAX_PROBLEM_CHARS
from tests.recipes.mwp.conftest import PROBLEMS, tiny_solver, write_problems


@pytest.fixture(scope="module")
def solver_dir(tmp_path_factory):
    from kexue.recipes.mwp.model import save_solver

    return save_solver(tiny_solver(), tmp_path_factory.mktemp("mwp") / "solver")


@pytest.mark.parametrize("problem, message", [
    ("", "the problem is empty"),
    ("   ", "the problem is empty"),
    ("鸡" * 10_000, "10,000 characters"),
])
def test_refused_problems(problem, message, solver_dir, capsys):
    assert kexue_main(["mwp", "solve", problem, "--model", str(solver_dir)]) == 2
    assert message in capsys.readouterr().err


def test_no_model_and_missing_model(capsys, monkeypatch):
    import kexue.assets

    def not_shipped(name):
        raise FileNotFoundError(f"{name} is not shipped")

    with monkeypatch.context() as m:
        m.setattr(kexue.assets, "path", not_shipped)
        assert kexue_main(["mwp", "solve", "有3个苹果"]) == 2
        assert "--model" in capsys.readouterr().err
    assert kexue_main(["mwp", "solve", "有3个苹果", "--model", "/nonexistent/x"]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.parametrize("problem, warning", [
    ("How many apples are left if I eat 3 of 12?", "no Chinese characters"),
    ("有三个苹果，吃了两个，还剩几个？", "no numbers"),
])
def test_unusual_problems_warn_and_never_crash(problem, warning, solver_dir, capsys):
    status = kexue_main(["mwp", "solve", problem, "--model", str(solver_dir), "--beams", "2"])
    out = capsys.readouterr()
    assert warning in out.err
    assert "expression:" in out.out
    # the constrained tiny random model writes some expression; an unfinished one is exit 1
    assert status == 0 and "answer:" in out.out or status == 1 and "not an evaluable" in out.err


def test_eval_prints_kept_accuracy_and_breakdown(solver_dir, tmp_path, capsys):
    problem_file = write_problems(tmp_path / "problems.json")
    record = tmp_path / "r.jsonl"
    assert kexue_main(["mwp", "eval", str(problem_file), "--model", str(solver_dir),
                       "--record", str(record), "--predictions", str(tmp_path / "p.jsonl")]) == 0
    out = capsys.readouterr().out
    assert f"kept {len(PROBLEMS)} of {len(PROBLEMS)}" in out
    assert "accuracy" in out and "%" in out and "unparsable:" in out and "wrong value:" in out
    import json

    rec = json.loads(record.read_text(encoding="utf-8"))
    assert rec["unit"] == "%" and "mwp eval" in rec["command"]
    assert len((tmp_path / "p.jsonl").read_text(encoding="utf-8").splitlines()) == len(PROBLEMS)


def test_eval_bad_files(tmp_path, solver_dir, capsys):
    assert kexue_main(["mwp", "eval", str(tmp_path), "--model", str(solver_dir)]) == 2
    assert "is a directory" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json\n", encoding="utf-8")
    assert kexue_main(["mwp", "eval", str(bad), "--model", str(solver_dir)]) == 1
    assert "line 1" in capsys.readouterr().err
    assert MAX_PROBLEM_CHARS < 10_000


def test_the_shipped_solver_is_the_default(capsys):
    import kexue.assets

    if "kexue-mwp-mini-zh" not in kexue.assets.available():
        pytest.skip("kexue-mwp-mini-zh is not shipped in this installation")
    assert kexue_main(["mwp", "solve", "除数是5，商是28，余数是4，被除数是多少．"]) == 0
    out = capsys.readouterr().out
    assert "expression: 28*5+4" in out and "answer: 144" in out
