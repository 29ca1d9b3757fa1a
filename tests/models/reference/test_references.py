"""The float64 NumPy references are right: they match transformers (where a class exists) and
the golden tensors, and they have the properties their papers state.

Every golden directory under ``tests/models/golden/`` is checked here against a reference that
was written independently from the paper, so a golden tensor is trusted because two
independent implementations agree on it to 1e-10 in float64.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from safetensors.numpy import load_file

HERE = Path(__file__).resolve().parent
GOLDEN = HERE.parent / "golden"
TOL = 1e-10


def load_reference(name: str) -> ModuleType:
    """Import ``tests/models/reference/<name>.py`` by path (no package needed)."""
    spec = importlib.util.spec_from_file_location(f"kexue_reference_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_golden(name: str) -> tuple[dict, dict[str, np.ndarray], dict[str, np.ndarray]]:
    folder = GOLDEN / name
    config = json.loads((folder / "config.json").read_text())
    weights = load_file(str(folder / "model.safetensors"))
    return config, weights, load_file(str(folder / "io.safetensors"))


def max_abs(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max())


# --------------------------------------------------------------------------------------- NEZHA


@pytest.mark.parametrize(
    "name, keys",
    [("nezha", ["last_hidden_state", "pooler_output"]), ("nezha_mlm", ["logits"])],
)
def test_nezha_reference_matches_transformers_457_golden(name, keys):
    nezha = load_reference("nezha")
    config, weights, io = load_golden(name)
    assert config["model_type"] == "nezha"
    out = nezha.nezha_forward(
        weights, config, io["token_ids"], io["segment_ids"], io["attention_mask"]
    )
    assert io["attention_mask"].min() == 0, "the golden inputs must contain padding"
    for key in keys:
        assert io[key].dtype == np.float64
        assert max_abs(out[key], io[key]) <= TOL, key


def test_nezha_golden_depends_on_clipping_and_relative_values():
    """The golden is sensitive to what it should pin down: clipping at K=4 at length 12, and
    the relative encoding added to the values (not only to the keys)."""
    nezha = load_reference("nezha")
    config, weights, io = load_golden("nezha")
    args = (io["token_ids"], io["segment_ids"], io["attention_mask"])
    assert io["token_ids"].shape[1] > 2 * config["max_relative_position"]
    unclipped = nezha.nezha_forward(weights, dict(config, max_relative_position=20), *args)
    assert max_abs(unclipped["last_hidden_state"], io["last_hidden_state"]) > 1e-2

    no_value = nezha.nezha_forward(weights, config, *args, relative_values=False)
    assert max_abs(no_value["last_hidden_state"], io["last_hidden_state"]) > 1e-2


def test_nezha_relative_table_closed_form():
    """Row r of the table is [sin(r w_0), cos(r w_0), sin(r w_1), ...], w_k = 10000^(-2k/d);
    a_ij depends only on clip(j - i, -K, K)."""
    nezha = load_reference("nezha")
    table = nezha.relative_position_table(4, 8)
    assert table.shape == (9, 8)
    np.testing.assert_allclose(table[3, 2], np.sin(3 * 10000 ** (-2 / 8)), rtol=0, atol=1e-15)
    np.testing.assert_allclose(table[3, 3], np.cos(3 * 10000 ** (-2 / 8)), rtol=0, atol=1e-15)
    a = nezha.relative_positions(12, 4, 8)
    np.testing.assert_array_equal(a[0, 11], a[0, 4])  # j - i = 11 and 4 clip to the same row
    np.testing.assert_array_equal(a[2, 5], a[7, 10])  # same offset, same encoding
    assert not np.array_equal(a[0, 3], a[0, 4])


# ------------------------------------------------------------------------------------- GPT2_ML


def _gpt2_ml_one_token_at_a_time(w: dict, config: dict, ids: list[int], keep: list[int]):
    """A second, independent GPT2_ML: token by token with a key/value cache, scalar softmax
    over the cached keys, loops over heads. Returns the hidden state of each position."""
    eps = config["layer_norm_eps"]
    heads = config["num_attention_heads"]
    d = config["hidden_size"] // heads

    def ln(v, name):
        mu = sum(v) / len(v)
        var = sum((x - mu) ** 2 for x in v) / len(v)
        return (v - mu) / math.sqrt(var + eps) * w[name + ".weight"] + w[name + ".bias"]

    def lin(v, name):
        return w[name + ".weight"] @ v + w[name + ".bias"]

    caches = [([], [], []) for _ in range(config["num_hidden_layers"])]  # keys, values, keep
    outputs = []
    for t, token in enumerate(ids):
        x = ln(w["wte.weight"][token] + w["wpe.weight"][t], "emb_ln")
        for n, (keys, values, kept) in enumerate(caches):
            p = f"h.{n}"
            q, k, v = (lin(x, f"{p}.attn.{m}") for m in "qkv")
            keys.append(k)
            values.append(v)
            kept.append(keep[t])
            z = np.zeros_like(x)
            for head in range(heads):
                s = slice(head * d, (head + 1) * d)
                logits = [float(q[s] @ kk[s]) / math.sqrt(d) for kk, ok in zip(keys, kept) if ok]
                vs = [vv[s] for vv, ok in zip(values, kept) if ok]
                top = max(logits)
                e = [math.exp(a - top) for a in logits]
                z[s] = sum(ei * vi for ei, vi in zip(e, vs)) / sum(e)
            h = x + lin(z, f"{p}.attn.o")
            u = lin(ln(h, f"{p}.ln0"), f"{p}.mlp.fc1")
            u = np.array([0.5 * a * (1.0 + math.erf(a / math.sqrt(2.0))) for a in u])
            x = ln(h + lin(u, f"{p}.mlp.fc2"), f"{p}.ln1")
        outputs.append(x)
    return np.stack(outputs)


def test_gpt2_ml_golden_matches_reference_and_a_token_by_token_implementation():
    gpt2_ml = load_reference("gpt2_ml")
    config, weights, io = load_golden("gpt2_ml")
    assert config["model_type"] == "gpt2_ml"
    w = {k: v.astype(np.float64) for k, v in weights.items()}
    out = gpt2_ml.gpt2_ml_forward(w, config, io["token_ids"], io["attention_mask"])
    assert max_abs(out["last_hidden_state"], io["last_hidden_state"]) <= TOL
    assert max_abs(out["logits"], io["logits"]) <= TOL
    assert io["attention_mask"].min() == 0
    for b in range(io["token_ids"].shape[0]):
        ids = io["token_ids"][b].tolist()
        keep = io["attention_mask"][b].tolist()
        hidden = _gpt2_ml_one_token_at_a_time(w, config, ids, keep)
        assert max_abs(hidden, io["last_hidden_state"][b]) <= TOL


def test_gpt2_ml_properties():
    """Causal (logits at t ignore tokens after t), padded keys ignored, LM head tied to wte with
    no bias, and the last op is LN_1 (no extra final LayerNorm)."""
    gpt2_ml = load_reference("gpt2_ml")
    config, weights, io = load_golden("gpt2_ml")
    w = {k: v.astype(np.float64) for k, v in weights.items()}
    ids, mask = io["token_ids"][:1].copy(), np.ones_like(io["token_ids"][:1])
    base = gpt2_ml.gpt2_ml_forward(w, config, ids, mask)
    changed = ids.copy()
    changed[0, 6:] = (changed[0, 6:] + 1) % config["vocab_size"]
    after = gpt2_ml.gpt2_ml_forward(w, config, changed, mask)
    assert max_abs(after["logits"][:, :6], base["logits"][:, :6]) == 0.0
    assert max_abs(after["logits"][:, 6:], base["logits"][:, 6:]) > 1e-3

    holed = mask.copy()
    holed[0, 2] = 0  # a masked key in the middle: changing its token changes nothing elsewhere
    a = gpt2_ml.gpt2_ml_forward(w, config, ids, holed)["logits"]
    other = ids.copy()
    other[0, 2] = (other[0, 2] + 7) % config["vocab_size"]
    b = gpt2_ml.gpt2_ml_forward(w, config, other, holed)["logits"]
    rest = [0, 1, *range(3, ids.shape[1])]
    assert max_abs(a[:, rest], b[:, rest]) <= 1e-12
    assert max_abs(a[:, rest], base["logits"][:, rest]) > 1e-3  # the mask did something

    np.testing.assert_allclose(
        io["logits"], io["last_hidden_state"] @ w["wte.weight"].T, rtol=0, atol=1e-12
    )
    last = config["num_hidden_layers"] - 1
    g, beta = w[f"h.{last}.ln1.weight"], w[f"h.{last}.ln1.bias"]
    normalised = (io["last_hidden_state"] - beta) / g
    np.testing.assert_allclose(normalised.mean(-1), 0.0, atol=1e-10)
    np.testing.assert_allclose(normalised.var(-1), 1.0, atol=1e-4)  # 1 - eps/var


# ------------------------------------------------------------------------ BERT and RealFormer


def _hf_bert_float64(folder: Path, io: dict[str, np.ndarray]):
    import torch  # lazily: only this check needs torch and transformers
    import transformers
    model = transformers.BertModel.from_pretrained(
        folder, dtype=torch.float64, attn_implementation="eager"
    ).eval()
    with torch.no_grad():
        return model(
            input_ids=torch.from_numpy(io["token_ids"]),
            token_type_ids=torch.from_numpy(io["segment_ids"]),
            attention_mask=torch.from_numpy(io["attention_mask"]),
        )


def test_numpy_bert_without_residual_equals_transformers_bert_model():
    bert = load_reference("bert")
    config, weights, io = load_golden("realformer")
    ours = bert.bert_forward(
        weights, config, io["token_ids"], io["segment_ids"], io["attention_mask"]
    )
    theirs = _hf_bert_float64(GOLDEN / "realformer", io)
    assert max_abs(ours["last_hidden_state"], theirs.last_hidden_state.numpy()) <= TOL
    assert max_abs(ours["pooler_output"], theirs.pooler_output.numpy()) <= TOL
    np.testing.assert_array_equal(ours["scores"], ours["raw_scores"])  # no residual: A_n = S_n


def test_realformer_golden_matches_reference():
    bert = load_reference("bert")
    config, weights, io = load_golden("realformer")
    args = (io["token_ids"], io["segment_ids"], io["attention_mask"])
    real = bert.bert_forward(weights, config, *args, residual_attention=True)
    for key in ("last_hidden_state", "pooler_output", "scores", "raw_scores"):
        assert io[key].dtype == np.float64
        assert max_abs(real[key], io[key]) <= TOL, key
    vanilla = bert.bert_forward(weights, config, *args)
    assert max_abs(vanilla["last_hidden_state"], io["last_hidden_state"]) > 1e-2


def test_realformer_properties():
    """Layer n sees S_1 + ... + S_n (the cumulative sum, not bert4keras' one-step S_n + S_{n-1});
    one layer equals vanilla attention; padded keys get zero weight in every layer and padding
    does not leak into real positions through the residual."""
    bert = load_reference("bert")
    config, weights, io = load_golden("realformer")
    scores, raw = io["scores"], io["raw_scores"]
    for n in range(config["num_hidden_layers"]):
        np.testing.assert_allclose(scores[n], raw[: n + 1].sum(0), rtol=0, atol=1e-12)
    assert np.isfinite(scores).all()  # the mask is never accumulated
    one_step = raw[2] + raw[1]
    assert np.abs(scores[2] - one_step).max() > 1e-2

    args = (io["token_ids"], io["segment_ids"], io["attention_mask"])
    one = dict(config, num_hidden_layers=1)
    a = bert.bert_forward(weights, one, *args, residual_attention=True)["last_hidden_state"]
    b = bert.bert_forward(weights, one, *args)["last_hidden_state"]
    np.testing.assert_array_equal(a, b)

    mask = io["attention_mask"]
    probs = bert.softmax(scores + np.where(mask[None, :, None, None, :] > 0, 0.0, -np.inf))
    padded = mask == 0
    assert padded.any()
    for n in range(config["num_hidden_layers"]):
        assert (probs[n].transpose(0, 3, 1, 2)[padded] == 0.0).all()

    other = io["token_ids"].copy()
    other[padded] = (other[padded] + 11) % config["vocab_size"]
    moved = bert.bert_forward(
        weights, config, other, io["segment_ids"], mask, residual_attention=True
    )["last_hidden_state"]
    real = mask == 1
    assert max_abs(moved[real], io["last_hidden_state"][real]) <= 1e-12
    assert max_abs(moved[padded], io["last_hidden_state"][padded]) > 1e-3


# ------------------------------------------------------------------------- the golden folders


def _load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"kexue_golden_{name}", GOLDEN / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["nezha", "nezha_mlm", "gpt2_ml", "realformer"])
def test_golden_folders_are_small_and_complete(name):
    folder = GOLDEN / name
    files = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "io.safetensors"} <= files
    assert sum(p.stat().st_size for p in folder.iterdir()) < 100 * 1024


def test_make_gpt2_ml_reproduces_the_checked_in_golden():
    script = _load_script("make_gpt2_ml")
    rng = np.random.default_rng(script.SEED)
    weights = script.random_weights(rng)
    io = script.inputs(rng)
    config, stored_weights, stored_io = load_golden("gpt2_ml")
    assert config == script.CONFIG
    assert sorted(weights) == sorted(stored_weights)
    for key, value in weights.items():
        np.testing.assert_array_equal(value, stored_weights[key])
    for key, value in io.items():
        np.testing.assert_array_equal(value, stored_io[key])


def test_make_realformer_reproduces_the_checked_in_weights():
    import torch
    import transformers

    script = _load_script("make_realformer")
    generator = torch.Generator().manual_seed(script.SEED)
    model = transformers.BertModel(transformers.BertConfig(**script.CONFIG))
    script.randomize(model, generator)
    io = script.inputs(generator)
    _, stored_weights, stored_io = load_golden("realformer")
    state = model.state_dict()
    assert sorted(state) == sorted(stored_weights)
    for key, value in state.items():
        np.testing.assert_array_equal(value.half().numpy(), stored_weights[key])
    for key, value in io.items():
        np.testing.assert_array_equal(value, stored_io[key])
