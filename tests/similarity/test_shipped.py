"""The shipped kexue-sim-mini-zh reproduces the demo cosines its result records hold."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import kexue

REPO = Path(__file__).resolve().parents[2]


def test_shipped_similarity_model_reproduces_its_records():
    from kexue.similarity.encoder import SentenceEncoder
    from kexue.similarity.metrics import cosine

    if "kexue-sim-mini-zh" not in kexue.assets.available():
        pytest.skip("kexue-sim-mini-zh is not shipped in this installation")
    enc = SentenceEncoder.from_pretrained(kexue.assets.path("kexue-sim-mini-zh"))
    assert (enc.pooling, enc.maxlen) == ("P3", 32)  # from its similarity.json
    recs = [json.loads(line) for line in
            (REPO / "results" / "similarity.jsonl").read_text(encoding="utf-8").splitlines()]
    demo = {r["claim"].split(" cosine of ")[1]: r["value"] for r in recs
            if r.get("table") == "shipped-demo"}
    assert len(demo) == 6
    pairs = [k.split(" / ") for k in demo]
    got = cosine(enc.encode([a for a, _ in pairs]), enc.encode([b for _, b in pairs]))
    np.testing.assert_allclose(got, list(demo.values()), atol=2e-4)
