"""``kexue fill-mask``: texts as arguments or stdin lines, a table or JSON, clear usage errors,
on a tiny random checkpoint written here (its answers equal ``kexue.infer.fill_mask``)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
import torch

from kexue.cli import main as kexue_main
from kexue.infer import fill_mask
from kexue.models import build_transformer_model
from kexue.text import Tokenizer
from kexue.threads import default_threads

VOCAB = Path(__file__).parents[1] / "text" / "fixtures" / "vocab.txt"
TINY = {"vocab_size": 450, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 32, "max_position_embeddings": 64}


@pytest.fixture(scope="module")
def mlm_dir(tmp_path_factory):
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("mlm") / "m"
    build_transformer_model(TINY, with_mlm=True).save_pretrained(d)
    shutil.copyfile(VOCAB, d / "vocab.txt")
    return d


def test_json_output_equals_the_python_helper(mlm_dir, capsys):
    texts = ["今天天[MASK]不错", "[MASK]学[MASK]间"]
    assert kexue_main(["fill-mask", "--model", str(mlm_dir), "--top-k", "3", "--json",
                       *texts]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    model = build_transformer_model(checkpoint_path=mlm_dir, with_mlm=True)
    ref = fill_mask(model, Tokenizer(VOCAB), texts, top_k=3)
    assert [r["text"] for r in records] == texts
    for record, per_mask in zip(records, ref):
        assert [[c["id"] for c in m] for m in record["masks"]] == [[c.id for c in m]
                                                                   for m in per_mask]
        assert record["masks"][0][0]["token"] == per_mask[0][0].token


def test_stdin_lines_and_the_table(mlm_dir, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("今天天[MASK]不错\n\n科学[MASK]间\n"))
    assert kexue_main(["fill_mask", "--model", str(mlm_dir), "-k", "2", "--threads", "1"]) == 0
    assert torch.get_num_threads() == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "今天天[MASK]不错" and "[MASK] 1" in out[1] and " 1. " in out[1]
    assert " 2. " in out[2] and out[3] == "科学[MASK]间"
    assert len(out) == 6
    torch.set_num_threads(default_threads())


@pytest.mark.parametrize("argv, message", [
    (["--model", "{m}", "no mask here"], "needs a [MASK]"),
    (["--model", "{m}/missing", "[MASK]"], "model directory not found"),
    (["--model", "{m}/config.json", "[MASK]"], "takes a directory"),
    (["--model", "{m}", "--top-k", "0", "[MASK]"], "--top-k must be >= 1"),
])
def test_usage_errors_exit_2(mlm_dir, capsys, argv, message):
    argv = [a.replace("{m}", str(mlm_dir)) for a in argv]
    assert kexue_main(["fill-mask", *argv]) == 2
    assert message in capsys.readouterr().err


def test_default_model_absent_says_what_to_do(capsys, monkeypatch):
    def absent(name):
        raise FileNotFoundError(name)

    monkeypatch.setattr("kexue.assets.path", absent)
    assert kexue_main(["fill-mask", "今天[MASK]"]) == 2
    err = capsys.readouterr().err
    assert "kexue-mini-zh is not shipped" in err and "--model DIR" in err


def test_a_checkpoint_without_an_mlm_head_is_refused(tmp_path, capsys):
    build_transformer_model(TINY).save_pretrained(tmp_path / "enc")
    shutil.copyfile(VOCAB, tmp_path / "enc" / "vocab.txt")
    assert kexue_main(["fill-mask", "--model", str(tmp_path / "enc"), "[MASK]"]) == 1
    assert "holds no MLM head" in capsys.readouterr().err
