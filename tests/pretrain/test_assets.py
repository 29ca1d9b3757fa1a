"""kexue.assets: the loader shortcut of the shipped models."""

from __future__ import annotations

import pytest

import kexue


def test_assets_names_and_messages():
    assert kexue.assets.family("kexue-mini-zh") == "roformer"
    assert kexue.assets.family("kexue-gpt-mini-zh") == "gpt2"
    with pytest.raises(ValueError, match="unknown kexue model 'nope'"):
        kexue.assets.path("nope")
    for name in kexue.assets.MODELS:
        if name in kexue.assets.available():
            assert (kexue.assets.path(name) / "config.json").is_file()
        else:
            with pytest.raises(FileNotFoundError, match="not shipped"):
                kexue.assets.path(name)
