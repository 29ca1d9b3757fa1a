"""``kexue pretrain``: a tiny run interrupted and resumed equals the straight run; errors."""

from __future__ import annotations

import shutil

import pytest
import torch

from kexue.cli.pretrain import main as cli_main
from kexue.pretrain.config import load_config
from kexue.pretrain.run import pretrain
from tests.conftest import shared_data_path

CONFIG = """
name = "tiny"
[model]
family = "roformer"
hidden_size = 16
num_hidden_layers = 1
num_attention_heads = 2
intermediate_size = 32
max_position_embeddings = 64
[vocab]
path = "{vocab}"
[data]
train = ["{train}"]
valid = "{valid}"
max_length = 32
[objectives]
nsp = 1.0
[train]
batch_size = 4
steps = 6
lr = 1e-3
warmup_steps = 2
checkpoint_every = 3
eval_every = 3
eval_examples = 8
threads = 1
log_every = 1
"""


def _config(tmp_path, corpus_files):
    files, _ = corpus_files
    path = tmp_path / "tiny.toml"
    path.write_text(CONFIG.format(vocab=shared_data_path("vocab", "google_zh_vocab.txt"),
                                  train=files[0], valid=files[1]), encoding="utf-8")
    return path


def test_interrupted_run_resumes_exactly(tmp_path, corpus_files):
    config = load_config(_config(tmp_path, corpus_files))
    torch.manual_seed(123)  # the run seeds itself: the global state must not matter
    straight = pretrain(config, tmp_path / "a", progress=False)
    (tmp_path / "b").mkdir()
    shutil.copytree(tmp_path / "a" / "data", tmp_path / "b" / "data")  # stores: built once
    first = pretrain(config, tmp_path / "b", progress=False, steps=3)  # "interrupted"
    assert first.step == 3
    resumed = pretrain(config, tmp_path / "b", progress=False)
    assert resumed.step == 6
    for x, y in zip(straight.model.state_dict().values(), resumed.model.state_dict().values()):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    loss = [r["loss"] for r in straight.history if "loss" in r]
    loss_b = [r["loss"] for r in resumed.history if "loss" in r]
    assert loss == loss_b and len(loss) == 6
    assert any("val_mlm_acc" in r and "val_nsp_acc" in r for r in resumed.history)
    assert (tmp_path / "a" / "model" / "model.safetensors").exists()
    assert (tmp_path / "a" / "model" / "vocab.txt").exists()


def test_cli_errors(tmp_path, corpus_files, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[train]\nbatch = 3\n', encoding="utf-8")
    assert cli_main(["--config", str(bad)]) == 2
    assert "unknown key(s) ['batch'] in [train]" in capsys.readouterr().err
    config = load_config(_config(tmp_path, corpus_files))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("{}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="another config"):
        pretrain(config, tmp_path / "run", progress=False)
