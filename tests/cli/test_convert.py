"""`kexue convert`: exit codes, messages, atomic output under a full disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from kexue.cli import convert
from tests.faults import require_mounts, run_with_full_disk

FIXTURE = Path(__file__).parents[1] / "models" / "tf_fixtures" / "bert_mlm_nsp"


def test_convert_writes_a_directory(tmp_path, capsys):
    assert convert.main([str(FIXTURE), str(tmp_path / "out"), "-q"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "config.json", "model.safetensors"]
    assert "->" in capsys.readouterr().err


def test_bad_input_is_a_clean_error(tmp_path, capsys):
    # a missing checkpoint is a usage error (2), as in every kexue command (it used to be 1)
    assert convert.main([str(tmp_path / "nope"), str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "kexue convert: error:" in err and "checkpoint not found" in err
    assert not (tmp_path / "out").exists()
    assert convert.main([str(FIXTURE), str(tmp_path / "o2"), "-q", "-m", "gpt2"]) == 1
    assert "config" in capsys.readouterr().err


def test_full_disk_leaves_nothing():
    require_mounts()
    files = {p.name: p.read_bytes() for p in FIXTURE.iterdir()}
    r = run_with_full_disk(["kexue", "convert", "{mnt}/bert_model.ckpt", "{mnt}/out", "-q"],
                           size="28k", files=files)
    assert r.returncode == 1, r.stderr
    assert "no space left" in r.stderr.lower()
    assert not any(p.startswith("out") or "kexue-tmp" in p for p in r.listing), r.listing


@pytest.mark.parametrize("flag", ["--dtype=int8"])
def test_bad_dtype_is_rejected(tmp_path, flag):
    with pytest.raises(SystemExit) as info:
        convert.main([str(FIXTURE), str(tmp_path / "o"), flag])
    assert info.value.code == 2
