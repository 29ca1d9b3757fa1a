"""The models kexue ships are the models their cards describe (issue 24).

experiments/pretrain_ship.py writes each shipped MLM model's fixed evaluation slice (padded
inputs, labels and the accuracy the card reports) to ``tests/pretrain/data/NAME-slice.npz``.
Here the shipped directory is loaded strictly, through the public loader, and the slice's
masked-token accuracy is recomputed: a different file, a lossy conversion or a loader that
silently re-initialises a head would all change it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import kexue
from kexue.models import build_transformer_model
from kexue.pretrain.model import BertPretrainer

DATA = Path(__file__).parent / "data"
MLM_MODELS = ["kexue-mini-zh", "kexue-mini-zh-char"]


def _shipped(name: str) -> Path:
    if name not in kexue.assets.available():
        pytest.skip(f"{name} is not shipped in this checkout yet (its pretraining has not "
                    f"finished; see docs/pretraining.md)")
    return kexue.assets.path(name)


@pytest.mark.parametrize("name", MLM_MODELS)
def test_shipped_mlm_model_reproduces_its_card(name: str) -> None:
    path = _shipped(name)
    for f in ("config.json", "model.safetensors", "vocab.txt", "README.md"):
        assert (path / f).is_file(), f"{name} ships without {f}"
    assert (path / "model.safetensors").stat().st_size <= 25_000_000
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    assert config["model_type"] == kexue.assets.family(name)

    model = build_transformer_model(checkpoint_path=path, with_mlm=True, with_nsp=True)
    report = model.load_report
    assert not report.initialised, f"heads initialised fresh: {report.initialised}"
    assert not report.unused, f"checkpoint keys left unused: {report.unused}"
    from safetensors import safe_open

    with safe_open(path / "model.safetensors", "pt") as f:  # shipped as float16
        assert {f.get_slice(k).get_dtype() for k in f.keys()} == {"F16"}

    data = np.load(DATA / f"{name}-slice.npz")
    batch = {k: torch.from_numpy(data[k]).long() for k in ("token_ids", "segment_ids",
                                                            "labels")}
    pre = BertPretrainer(model.float(), nsp=True).eval()
    torch.set_num_threads(min(torch.get_num_threads(), 2))
    right = total = 0
    with torch.no_grad():
        for i in range(0, len(batch["labels"]), 64):
            part = {k: v[i:i + 64] for k, v in batch.items()}
            pred, _ = pre.predict(**part)
            labels = part["labels"][part["labels"] != -100]
            right += int((pred == labels).sum())
            total += int(labels.numel())
    card_value = float(data["accuracy"])
    # the same computation as the card's: equal up to one flipped argmax at most
    assert abs(right / total - card_value) <= 1.0 / total, (right / total, card_value)
    card = (path / "README.md").read_text(encoding="utf-8")
    assert f"{card_value:.4f}" in card
    assert card_value >= 0.20  # the floor (the 3x-unigram floor is in the card)


def test_shipped_gpt_reproduces_its_card() -> None:
    name = "kexue-gpt-mini-zh"
    path = _shipped(name)
    for f in ("config.json", "model.safetensors", "vocab.txt", "README.md"):
        assert (path / f).is_file(), f"{name} ships without {f}"
    assert (path / "model.safetensors").stat().st_size <= 25_000_000
    model = build_transformer_model(checkpoint_path=path, model=kexue.assets.family(name),
                                    application="lm")
    report = model.load_report
    assert not report.initialised, f"weights initialised fresh: {report.initialised}"
    assert not report.unused, f"checkpoint keys left unused: {report.unused}"

    data = np.load(DATA / f"{name}-slice.npz")
    ids, labels, mask = (torch.from_numpy(data[k]).long()
                         for k in ("token_ids", "labels", "attention_mask"))
    model = model.float().eval()
    torch.set_num_threads(min(torch.get_num_threads(), 2))
    nll = 0.0
    count = 0
    with torch.no_grad():
        for i in range(0, len(ids), 64):
            logits = model(ids[i:i + 64], attention_mask=mask[i:i + 64]).logits
            y = labels[i:i + 64]
            picked = y != -100
            nll += float(torch.nn.functional.cross_entropy(logits[picked], y[picked],
                                                           reduction="sum"))
            count += int(picked.sum())
    ppl = float(np.exp(nll / count))
    card_value = float(data["perplexity"])
    assert abs(ppl - card_value) <= 1e-3 * card_value, (ppl, card_value)
    card = (path / "README.md").read_text(encoding="utf-8")
    assert f"{card_value:.4f}" in card
    # the card's floor: below the bigram baseline fitted on the same training tokens
    import re

    floor = re.search(r"lower perplexity than the bigram's: ([0-9.]+) < ([0-9]+\.[0-9]+)", card)
    model_ppl, bigram_ppl = (float(x) for x in floor.groups())
    assert model_ppl < bigram_ppl
