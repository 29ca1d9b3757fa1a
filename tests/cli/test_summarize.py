"""kexue summarize: a tiny random summarizer directory, and the bad-input messages."""

from __future__ import annotations

import io
import json

import pytest
import torch

import kexue.assets
from kexue.cli import main as kexue_main
from kexue.cli._exitcodes import OK, RUNTIME_ERROR, USAGE_ERROR


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from safetensors.torch import save

    from kexue.decoding.copy import BIOHead
    from kexue.io.atomic import write_bytes
    from kexue.models import build_transformer_model
    from kexue.models.saving import save_pretrained

    torch.manual_seed(0)
    asset = kexue.assets.path("kexue-mini-zh")
    cfg = json.loads((asset / "config.json").read_text())
    cfg.update(hidden_size=16, embedding_size=16, num_hidden_layers=1, num_attention_heads=2,
               intermediate_size=32, head_size=8)
    model = build_transformer_model(cfg, model="roformer", application="unilm")
    d = tmp_path_factory.mktemp("summ") / "model"
    save_pretrained(model, d, vocab=asset / "vocab.txt")
    (d / "summarizer.json").write_text(json.dumps(
        {"family": "roformer", "maxlen": 24, "sparse_k": 10, "copy": True}))
    write_bytes(d / "copy_head.safetensors", save(BIOHead(16).state_dict()))
    return d


def test_summarizes_and_notes_truncation(model_dir, tmp_path, capsys, monkeypatch):
    doc = tmp_path / "doc.txt"
    doc.write_text("本文提出一种新的文本摘要方法，实验表明效果很好。" * 3, encoding="utf-8")
    status = kexue_main(["summarize", "--model", str(model_dir), str(doc), "--json",
                         "--max-new-tokens", "6"])
    out, err = capsys.readouterr()
    assert status == OK, err
    record = json.loads(out)
    assert record["truncated"] is True and "reads only the first 22" in err
    assert isinstance(record["summary"], str) and record["source_tokens"] > 24
    monkeypatch.setattr("sys.stdin", io.StringIO("   \n"))
    assert kexue_main(["summarize", "--model", str(model_dir)]) == RUNTIME_ERROR
    assert "the document is empty" in capsys.readouterr().err


def test_bad_model_directory_is_a_usage_error(tmp_path, capsys):
    assert kexue_main(["summarize", "--model", str(tmp_path / "nope"), "-"]) == USAGE_ERROR
    assert "not found" in capsys.readouterr().err
    assert kexue_main(["summarize", "--model", str(tmp_path), "-"]) == USAGE_ERROR
    assert "not a summarizer directory" in capsys.readouterr().err
