"""Float64 NumPy GPT2_ML, written from the block equations, as an independent reference.

GPT2_ML (imcaspar/gpt2-ml, after Grover; kexue.fm/archives/7292) differs from both OpenAI
GPT-2 and BERT:

    e   = LN_emb(wte[x_t] + wpe[t])                       (no segment embedding, eps 1e-5)
    per layer:
      h = x + Attn(x)                                     (causal; no LayerNorm around it)
      y = LN_1(h + W_2 gelu(W_1 LN_0(h) + b_1) + b_2)     (LN_0 pre-norm on the FFN input,
                                                           the residual adds the raw h,
                                                           LN_1 post-norm on the sum)
    logits = y wte^T                                      (tied, no bias, no final LN)

Attn is multi-head scaled dot-product attention, softmax(Q K^T / sqrt(d) + mask) V W_O, where
the mask removes future keys (j > i) and padded keys (attention_mask == 0). GELU is the erf
form. Pitfall: there is no final LayerNorm after the last block (unlike HF GPT2Model's
``ln_f``), and the FFN residual adds the *un-normalised* h.

Weights use the kexue GPT2_ML layout (``nn.Linear`` weights ``[out, in]``): ``wte.weight``,
``wpe.weight``, ``emb_ln.{weight,bias}``, ``h.{i}.attn.{q,k,v,o}.{weight,bias}``,
``h.{i}.ln0.*``, ``h.{i}.mlp.fc1.*``, ``h.{i}.mlp.fc2.*``, ``h.{i}.ln1.*``.
"""

from __future__ import annotations

import math

import numpy as np

_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU: x * Phi(x)."""
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _linear(x: np.ndarray, w: dict[str, np.ndarray], name: str) -> np.ndarray:
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def _ln(x: np.ndarray, w: dict[str, np.ndarray], name: str, eps: float) -> np.ndarray:
    return layer_norm(x, w[name + ".weight"], w[name + ".bias"], eps)


def causal_attention(
    x: np.ndarray, w: dict[str, np.ndarray], prefix: str, mask: np.ndarray, heads: int
) -> np.ndarray:
    """Masked multi-head attention including the output projection: (B, L, H) -> (B, L, H)."""
    batch, length, hidden = x.shape
    d = hidden // heads

    def split(t: np.ndarray) -> np.ndarray:
        return t.reshape(batch, length, heads, d).transpose(0, 2, 1, 3)

    q, k, v = (split(_linear(x, w, f"{prefix}.{n}")) for n in "qkv")
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d)
    allowed = np.tril(np.ones((length, length), dtype=bool))[None, None] & (
        mask[:, None, None, :] > 0
    )
    probs = softmax(np.where(allowed, scores, -np.inf))
    z = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
    return _linear(z, w, prefix + ".o")


def gpt2_ml_forward(
    weights: dict[str, np.ndarray],
    config: dict,
    token_ids: np.ndarray,
    attention_mask: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Returns ``last_hidden_state`` (B, L, H) and ``logits`` (B, L, V); positions 0..L-1."""
    if config.get("hidden_act", "gelu") != "gelu":
        raise ValueError(f"only the erf GELU is modelled, got hidden_act={config['hidden_act']!r}")
    w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    token_ids = np.asarray(token_ids)
    if attention_mask is None:
        attention_mask = np.ones_like(token_ids)
    mask = np.asarray(attention_mask)
    eps = config["layer_norm_eps"]
    length = token_ids.shape[1]
    x = w["wte.weight"][token_ids] + w["wpe.weight"][np.arange(length)]
    x = _ln(x, w, "emb_ln", eps)
    for n in range(config["num_hidden_layers"]):
        p = f"h.{n}"
        h = x + causal_attention(x, w, p + ".attn", mask, config["num_attention_heads"])
        f = _linear(gelu(_linear(_ln(h, w, p + ".ln0", eps), w, p + ".mlp.fc1")), w, p + ".mlp.fc2")
        x = _ln(h + f, w, p + ".ln1", eps)
    return {"last_hidden_state": x, "logits": x @ w["wte.weight"].T}
