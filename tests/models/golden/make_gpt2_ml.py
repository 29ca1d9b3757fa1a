"""Write the GPT2_ML golden: a tiny random checkpoint and the float64 reference outputs.

Run from the repository root (NumPy + safetensors only):

    python tests/models/golden/make_gpt2_ml.py

It writes ``tests/models/golden/gpt2_ml/{config.json, model.safetensors, io.safetensors}``.
Weights are seeded (NumPy ``default_rng(SEED)``), rounded to float16 and stored as float16 (the
folder stays under 100 KB; the values are float16-exact, so a float32 model loses nothing).
``io.safetensors`` holds ``token_ids`` and ``attention_mask`` (right padding) and the outputs
of ``tests/models/reference/gpt2_ml.py`` in float64: ``last_hidden_state`` and ``logits``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SEED = 7292
OUT = HERE / "gpt2_ml"

CONFIG = {
    "model_type": "gpt2_ml",
    "vocab_size": 50,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "max_position_embeddings": 16,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-5,
}
LENGTHS = [10, 7, 4]


def load_reference():
    path = HERE.parent / "reference" / "gpt2_ml.py"
    spec = importlib.util.spec_from_file_location("gpt2_ml_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def random_weights(rng: np.random.Generator) -> dict[str, np.ndarray]:
    c = CONFIG
    hidden, ffn = c["hidden_size"], c["intermediate_size"]
    shapes: dict[str, tuple[int, ...]] = {
        "wte.weight": (c["vocab_size"], hidden),
        "wpe.weight": (c["max_position_embeddings"], hidden),
        "emb_ln.weight": (hidden,),
        "emb_ln.bias": (hidden,),
    }
    for i in range(c["num_hidden_layers"]):
        for n in "qkvo":
            shapes[f"h.{i}.attn.{n}.weight"] = (hidden, hidden)
            shapes[f"h.{i}.attn.{n}.bias"] = (hidden,)
        shapes[f"h.{i}.ln0.weight"] = shapes[f"h.{i}.ln1.weight"] = (hidden,)
        shapes[f"h.{i}.ln0.bias"] = shapes[f"h.{i}.ln1.bias"] = (hidden,)
        shapes[f"h.{i}.mlp.fc1.weight"] = (ffn, hidden)
        shapes[f"h.{i}.mlp.fc1.bias"] = (ffn,)
        shapes[f"h.{i}.mlp.fc2.weight"] = (hidden, ffn)
        shapes[f"h.{i}.mlp.fc2.bias"] = (hidden,)
    weights = {}
    for name in sorted(shapes):
        noise = rng.standard_normal(shapes[name])
        is_ln = "ln" in name.split(".")[-2] or name.startswith("emb_ln")
        if is_ln and name.endswith("weight"):
            value = 1.0 + 0.1 * noise
        elif name.endswith("bias"):
            value = 0.1 * noise
        elif name in ("wte.weight", "wpe.weight"):
            value = 0.5 * noise
        else:
            value = 0.2 * noise
        weights[name] = value.astype(np.float16)
    return weights


def inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    total = max(LENGTHS)
    token_ids = rng.integers(1, CONFIG["vocab_size"], size=(len(LENGTHS), total)).astype(np.int64)
    mask = np.zeros_like(token_ids)
    for b, n in enumerate(LENGTHS):
        mask[b, :n] = 1
        token_ids[b, n:] = 0
    return {"token_ids": token_ids, "attention_mask": mask}


def main() -> None:
    rng = np.random.default_rng(SEED)
    weights = random_weights(rng)
    io = inputs(rng)
    out = load_reference().gpt2_ml_forward(
        {k: v.astype(np.float64) for k, v in weights.items()}, CONFIG, **io
    )
    io["last_hidden_state"] = out["last_hidden_state"]
    io["logits"] = out["logits"]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "config.json").write_text(json.dumps(CONFIG, indent=2) + "\n")
    save_file(weights, str(OUT / "model.safetensors"), metadata={"format": "pt"})
    save_file(io, str(OUT / "io.safetensors"), metadata={"made_by": f"make_gpt2_ml.py seed={SEED}"})
    for path in sorted(OUT.iterdir()):
        print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size} bytes)")
    for key, value in io.items():
        print(f"  {key}: {value.shape} {value.dtype}")


if __name__ == "__main__":
    main()
