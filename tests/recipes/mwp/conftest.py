"""A tiny random UniLM solver (a few thousand parameters) built by the tests themselves."""

from __future__ import annotations

import pytest
import torch

CHARS = "学校把本练习平均分给个班每多少有苹果吃了还剩几长方形宽米面积是鸡兔同笼共头脚只问，？"
PROBLEMS = [
    ("1", "学校把135本练习本平均分给3个班，每班多少本？", "x=135/3", "45"),
    ("2", "长方形长5米宽4米，面积是多少？", "x=5*4", "20"),
    ("3", "有12个苹果，吃了5个，还剩几个？", "x=12-5", "7"),
    ("4", "长方形长8米宽2米，面积是多少？", "x=8*2", "16"),
]


def tiny_vocab() -> list[str]:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    numbers = [str(i) for i in range(20)] + ["100", "135", "3.14"]
    return specials + numbers + list("+-*/().") + list(dict.fromkeys(CHARS))


def tiny_solver(seed: int = 0, slots: int = 0):
    """With ``slots``, the solver writes numbers as ``[N0]``... (the vocab's last rows)."""
    from kexue.models import build_transformer_model
    from kexue.recipes.mwp.model import Solver, SolverConfig
    from kexue.recipes.mwp.slots import slot_tokens
    from kexue.text import Tokenizer

    vocab = tiny_vocab() + slot_tokens(slots)
    torch.manual_seed(seed)
    config = {"vocab_size": len(vocab), "hidden_size": 64, "num_hidden_layers": 2,
              "num_attention_heads": 4, "intermediate_size": 128, "max_position_embeddings": 128,
              "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    model = build_transformer_model(config, model="bert", application="unilm")
    tokenizer = Tokenizer({t: i for i, t in enumerate(vocab)}, extra_specials=slot_tokens(slots))
    return Solver(model, tokenizer, SolverConfig(family="bert", maxlen=96, max_new_tokens=24,
                                                 constants=["1", "100"], number_slots=slots))


@pytest.fixture
def solver():
    return tiny_solver()


def write_problems(f):
    """``PROBLEMS`` as an Ape210K JSON-lines file at ``f``."""
    import json

    f.write_text("".join(json.dumps({"id": i, "original_text": q, "equation": e, "ans": a},
                                    ensure_ascii=False) + "\n" for i, q, e, a in PROBLEMS),
                 encoding="utf-8")
    return f


@pytest.fixture
def problem_file(tmp_path):
    return write_problems(tmp_path / "problems.json")
