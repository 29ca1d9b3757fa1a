"""Float64 NumPy BERT with optional RealFormer residual attention scores.

BERT (Devlin et al., arXiv 1810.04805), post-LN encoder:

    e = LN(word[x] + position[t] + segment[s])
    per layer:  h = LN(x + MHA(x) W_O + b_O),   y = LN(h + W_2 gelu(W_1 h + b_1) + b_2)
    pooler = tanh(W_p y_0 + b_p)

with MHA_n = softmax(A_n + M) V_n per head, the padding mask M (0 for real keys, -inf for
padded keys) and erf GELU.

RealFormer (He et al., "RealFormer: Transformer Likes Residual Attention", arXiv 2012.11747;
kexue.fm/archives/8027) keeps the post-LN block but carries the pre-softmax scores across
layers:

    S_n = Q_n K_n^T / sqrt(d)          (raw scores of layer n)
    A_n = S_n + A_{n-1},   A_0 = 0     (so A_n = S_1 + ... + S_n)
    MHA_n = softmax(A_n + M) V_n

As in the official code (google-research ``realformer.py``, ``residual_attention_layer``) the
padding mask is added *after* the sum, at every layer, and is **never accumulated**: the next
layer receives A_n without M. Known pitfall: bert4keras since 2023 passes on only S_n (a one-
step residual, not the cumulative sum), and its 2020 version accumulated the mask fill too.
With ``residual_attention=False`` this is plain BERT (A_n = S_n).

Weights are read by their HuggingFace ``BertModel`` names (``nn.Linear`` weights ``[out, in]``);
a leading ``bert.`` prefix is accepted.
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


def bert_forward(
    weights: dict[str, np.ndarray],
    config: dict,
    token_ids: np.ndarray,
    segment_ids: np.ndarray | None = None,
    attention_mask: np.ndarray | None = None,
    *,
    residual_attention: bool = False,
) -> dict[str, np.ndarray]:
    """Run BERT (or RealFormer with ``residual_attention=True``).

    Returns ``last_hidden_state`` (B, L, H), ``pooler_output`` (B, H) when the pooler weights
    exist, ``raw_scores`` (N, B, heads, L, L): S_n of every layer, and ``scores``
    (N, B, heads, L, L): the pre-softmax scores A_n each layer's softmax sees, before the
    padding mask is added (A_n = S_n without the residual).
    """
    if config.get("hidden_act", "gelu") != "gelu":
        raise ValueError(f"only the erf GELU is modelled, got hidden_act={config['hidden_act']!r}")
    w = {
        (k[len("bert.") :] if k.startswith("bert.") else k): np.asarray(v, dtype=np.float64)
        for k, v in weights.items()
    }
    token_ids = np.asarray(token_ids)
    batch, length = token_ids.shape
    if segment_ids is None:
        segment_ids = np.zeros_like(token_ids)
    if attention_mask is None:
        attention_mask = np.ones_like(token_ids)
    eps = config["layer_norm_eps"]
    heads = config["num_attention_heads"]
    hidden = config["hidden_size"]
    d = hidden // heads
    # M: 0 for real keys, -inf for padded keys; added at every layer, never carried over.
    mask = np.where(np.asarray(attention_mask)[:, None, None, :] > 0, 0.0, -np.inf)

    x = (
        w["embeddings.word_embeddings.weight"][token_ids]
        + w["embeddings.position_embeddings.weight"][np.arange(length)]
        + w["embeddings.token_type_embeddings.weight"][np.asarray(segment_ids)]
    )
    x = _ln(x, w, "embeddings.LayerNorm", eps)

    def split(t: np.ndarray) -> np.ndarray:
        return t.reshape(batch, length, heads, d).transpose(0, 2, 1, 3)

    previous = np.zeros((batch, heads, length, length))
    raw_scores, scores = [], []
    for n in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{n}"
        q, k, v = (
            split(_linear(x, w, f"{p}.attention.self.{m}")) for m in ("query", "key", "value")
        )
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d)
        a = s + previous if residual_attention else s
        raw_scores.append(s)
        scores.append(a)
        previous = a
        probs = softmax(a + mask)
        z = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        h = _ln(
            x + _linear(z, w, f"{p}.attention.output.dense"),
            w,
            f"{p}.attention.output.LayerNorm",
            eps,
        )
        f = _linear(gelu(_linear(h, w, f"{p}.intermediate.dense")), w, f"{p}.output.dense")
        x = _ln(h + f, w, f"{p}.output.LayerNorm", eps)

    out = {"last_hidden_state": x, "raw_scores": np.stack(raw_scores), "scores": np.stack(scores)}
    if "pooler.dense.weight" in w:
        out["pooler_output"] = np.tanh(_linear(x[:, 0], w, "pooler.dense"))
    return out
