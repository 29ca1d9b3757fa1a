"""docs/decoding.md: the end-to-end recipe example (a recipe step and a state hook) runs."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "decoding.md"
SECTION = "## A recipe-defined step and hook, end to end"


def test_recipe_step_and_hook_example_runs():
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    code = section[section.index("```python\n") + len("```python\n") :]
    code = code[: code.index("```")]
    assert "class Brackets(StateHook)" in code and "step=CopyBonus" in code
    exec(compile(code, str(DOC), "exec"), {"__name__": "docs_example"})
