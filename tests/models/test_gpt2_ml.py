"""GPT2_ML: a float64 NumPy reference written from the article's equations, cache, tying."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from kexue.models import build_transformer_model

from ._hf import max_diff, padded_batch

V, H, L, NH, F, P = 50, 32, 2, 4, 64, 40
CONFIG = {
    "model_type": "gpt2_ml",
    "vocab_size": V,
    "hidden_size": H,
    "num_hidden_layers": L,
    "num_attention_heads": NH,
    "intermediate_size": F,
    "max_position_embeddings": P,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-5,
}


def _weights(seed=0):
    g = torch.Generator().manual_seed(seed)

    def r(*shape, scale=0.2):
        return scale * torch.randn(*shape, generator=g)

    w = {
        "wte.weight": r(V, H),
        "wpe.weight": r(P, H),
        "emb_ln.weight": 1 + r(H),
        "emb_ln.bias": r(H),
    }
    for i in range(L):
        for n in "qkvo":
            w[f"h.{i}.attn.{n}.weight"], w[f"h.{i}.attn.{n}.bias"] = r(H, H), r(H)
        for n in ("ln0", "ln1"):
            w[f"h.{i}.{n}.weight"], w[f"h.{i}.{n}.bias"] = 1 + r(H), r(H)
        w[f"h.{i}.mlp.fc1.weight"], w[f"h.{i}.mlp.fc1.bias"] = r(F, H), r(F)
        w[f"h.{i}.mlp.fc2.weight"], w[f"h.{i}.mlp.fc2.bias"] = r(H, F), r(H)
    return w


@pytest.fixture(scope="module")
def ml_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("gpt2_ml")
    w = _weights()
    save_file(w, str(path / "model.safetensors"))
    (path / "config.json").write_text(json.dumps(CONFIG))
    return path, {k: v.double().numpy() for k, v in w.items()}


def _ln(x, g, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def _gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


def reference(w, ids, mask):
    """GPT2_ML in float64 from nlp.md §10: emb = LN(wte[x] + wpe[p]);
    h = x + Attn(x) (causal); y = LN1(h + W2 gelu(W1 LN0(h))); logits = y wte^T."""
    b, n = ids.shape
    pos = np.clip(np.cumsum(mask, 1) - 1, 0, None)
    x = _ln(w["wte.weight"][ids] + w["wpe.weight"][pos], w["emb_ln.weight"], w["emb_ln.bias"])
    d = H // NH
    allowed = np.tril(np.ones((n, n), bool))[None] & mask.astype(bool)[:, None, :]
    for i in range(L):

        def lin(t, name, i=i):
            return t @ w[f"h.{i}.{name}.weight"].T + w[f"h.{i}.{name}.bias"]

        q, k, v = (lin(x, f"attn.{c}").reshape(b, n, NH, d).transpose(0, 2, 1, 3) for c in "qkv")
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d)
        s = np.where(allowed[:, None], s, -1e30)
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        a = (p @ v).transpose(0, 2, 1, 3).reshape(b, n, H)
        h = x + lin(a, "attn.o")
        f = lin(
            _gelu(lin(_ln(h, w[f"h.{i}.ln0.weight"], w[f"h.{i}.ln0.bias"]), "mlp.fc1")), "mlp.fc2"
        )
        x = _ln(h + f, w[f"h.{i}.ln1.weight"], w[f"h.{i}.ln1.bias"])
    return x @ w["wte.weight"].T


def test_gpt2_ml_matches_numpy_reference(ml_dir):
    path, w = ml_dir
    model = build_transformer_model(checkpoint_path=path, model="gpt2_ml", application="lm")
    ids, mask = padded_batch(V, [9, 6, 4], left=True)
    pos = (mask.cumsum(1) - 1).clamp(min=0)
    with torch.no_grad():
        out = model(ids, attention_mask=mask, position_ids=pos).logits
    ref = reference(w, ids.numpy(), mask.numpy())
    real = mask.bool()
    assert max_diff(out[real], torch.from_numpy(ref)[real]) <= 1e-5


def test_gpt2_ml_cache_and_tied_head(ml_dir):
    path, _ = ml_dir
    model = build_transformer_model(checkpoint_path=path, model="gpt2_ml", application="lm")
    assert model.token.weight.shape == (V, H)
    ids = torch.randint(1, V, (2, 7))
    with torch.no_grad():
        full = model(ids).logits
        cache = model.new_cache()
        steps = [model(ids[:, :3], cache=cache).logits]
        steps += [model(ids[:, t : t + 1], cache=cache).logits for t in range(3, 7)]
        hidden = build_transformer_model(
            checkpoint_path=path, model="gpt2_ml", application="encoder"
        )(ids).hidden
    assert max_diff(torch.cat(steps, 1), full) <= 1e-5
    assert max_diff(hidden @ model.token.weight.T, full) <= 1e-5
