"""Float64 NumPy NEZHA, written from the paper, as an independent reference.

NEZHA (Wei et al., "NEZHA: Neural Contextualized Representation for Chinese Language
Understanding", arXiv 1909.00204, §3.2) is BERT without absolute position embeddings; instead
every attention layer adds *functional relative position encodings* to the keys and to the
values:

    e_ij = (x_i W^Q) (x_j W^K + a_ij)^T / sqrt(d_z)
    alpha_ij = softmax_j(e_ij + mask_j)
    z_i = sum_j alpha_ij (x_j W^V + a_ij)

with one fixed sinusoidal table shared by keys and values (per head, width d_z = head size):

    a_ij[2k] = sin(r_ij / 10000^(2k/d_z)),   a_ij[2k+1] = cos(r_ij / 10000^(2k/d_z)).

Pitfall (checkpoint convention): the released NEZHA code, and every port that loads its
checkpoints, evaluates the sinusoid at the *shifted, clipped* index
``r_ij = clip(j - i, -K, K) + K`` (``K = max_relative_position``, a row of a (2K+1)-row
table), not at the signed distance ``j - i`` written in the paper. This reference follows the
checkpoint convention, so distances beyond K share one row ("clipping").

The rest is post-LN BERT: embeddings = LN(word + segment); per layer
h = LN(x + Attn(x) W^O), y = LN(h + W2 gelu(W1 h)), erf GELU; pooler tanh(W h_0 + b);
MLM head LN(gelu(W h + b)) E^T + bias with the word embeddings E tied.

Weights are read by their HuggingFace names (``embeddings.word_embeddings.weight``, ...;
``nn.Linear`` weights are ``[out, in]``); a leading ``nezha.`` prefix is accepted.
Only NumPy and ``math.erf`` are used, so this file shares no code with any model library.
"""

from __future__ import annotations

import math

import numpy as np

_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU: x * Phi(x)."""
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis with the biased variance."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def relative_position_table(max_relative_position: int, depth: int) -> np.ndarray:
    """The (2K+1, depth) sinusoid table: row r holds sin/cos(r / 10000^(2k/depth)) interleaved."""
    rows = np.arange(2 * max_relative_position + 1, dtype=np.float64)[:, None]
    freq = 10000.0 ** (-np.arange(0, depth, 2, dtype=np.float64) / depth)
    table = np.zeros((rows.shape[0], depth))
    table[:, 0::2] = np.sin(rows * freq)
    table[:, 1::2] = np.cos(rows * freq)
    return table


def relative_positions(length: int, max_relative_position: int, depth: int) -> np.ndarray:
    """a_ij for i, j < length: (length, length, depth), row index clip(j - i, -K, K) + K."""
    pos = np.arange(length)
    index = np.clip(pos[None, :] - pos[:, None], -max_relative_position, max_relative_position)
    return relative_position_table(max_relative_position, depth)[index + max_relative_position]


def _linear(x: np.ndarray, w: dict[str, np.ndarray], name: str) -> np.ndarray:
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def _strip(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for key, value in weights.items():
        name = key[len("nezha.") :] if key.startswith("nezha.") else key
        out[name] = np.asarray(value, dtype=np.float64)
    return out


def attention(
    x: np.ndarray,
    w: dict[str, np.ndarray],
    prefix: str,
    mask: np.ndarray,
    config: dict,
    relative_values: bool = True,
) -> np.ndarray:
    """One NEZHA self-attention (before the output projection): (B, L, H) -> (B, L, H).

    ``relative_values=False`` drops a_ij from the values (keys only); tests use it to show the
    golden pins the value term down."""
    heads = config["num_attention_heads"]
    batch, length, hidden = x.shape
    d = hidden // heads

    def split(t: np.ndarray) -> np.ndarray:
        return t.reshape(batch, length, heads, d).transpose(0, 2, 1, 3)

    q = split(_linear(x, w, prefix + ".query"))
    k = split(_linear(x, w, prefix + ".key"))
    v = split(_linear(x, w, prefix + ".value"))
    a = relative_positions(length, config["max_relative_position"], d)  # (L, L, d)
    # e_ij = q_i . (k_j + a_ij) / sqrt(d)
    scores = (q @ k.transpose(0, 1, 3, 2) + np.einsum("bhid,ijd->bhij", q, a)) / math.sqrt(d)
    scores = np.where(mask[:, None, None, :] > 0, scores, -np.inf)
    probs = softmax(scores)
    # z_i = sum_j alpha_ij (v_j + a_ij)
    z = probs @ v
    if relative_values:
        z = z + np.einsum("bhij,ijd->bhid", probs, a)
    return z.transpose(0, 2, 1, 3).reshape(batch, length, hidden)


def nezha_forward(
    weights: dict[str, np.ndarray],
    config: dict,
    token_ids: np.ndarray,
    segment_ids: np.ndarray | None = None,
    attention_mask: np.ndarray | None = None,
    relative_values: bool = True,
) -> dict[str, np.ndarray]:
    """Run NEZHA; returns ``last_hidden_state`` and, when their weights exist,
    ``pooler_output`` and ``logits`` (MLM head). ``attention_mask`` masks keys (1 = real)."""
    w = _strip(weights)
    token_ids = np.asarray(token_ids)
    if segment_ids is None:
        segment_ids = np.zeros_like(token_ids)
    if attention_mask is None:
        attention_mask = np.ones_like(token_ids)
    eps = config["layer_norm_eps"]
    x = w["embeddings.word_embeddings.weight"][token_ids]
    x = x + w["embeddings.token_type_embeddings.weight"][np.asarray(segment_ids)]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    mask = np.asarray(attention_mask)
    for n in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{n}"
        z = attention(x, w, p + ".attention.self", mask, config, relative_values)
        h = _linear(z, w, p + ".attention.output.dense") + x
        h = layer_norm(
            h,
            w[p + ".attention.output.LayerNorm.weight"],
            w[p + ".attention.output.LayerNorm.bias"],
            eps,
        )
        f = _linear(gelu(_linear(h, w, p + ".intermediate.dense")), w, p + ".output.dense")
        x = layer_norm(
            f + h, w[p + ".output.LayerNorm.weight"], w[p + ".output.LayerNorm.bias"], eps
        )
    out = {"last_hidden_state": x}
    if "pooler.dense.weight" in w:
        out["pooler_output"] = np.tanh(_linear(x[:, 0], w, "pooler.dense"))
    if "cls.predictions.bias" in w:
        t = gelu(_linear(x, w, "cls.predictions.transform.dense"))
        t = layer_norm(
            t,
            w["cls.predictions.transform.LayerNorm.weight"],
            w["cls.predictions.transform.LayerNorm.bias"],
            eps,
        )
        out["logits"] = t @ w["embeddings.word_embeddings.weight"].T + w["cls.predictions.bias"]
    return out
