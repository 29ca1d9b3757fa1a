"""Write the RealFormer golden: a tiny random transformers-5 BertModel checkpoint and the
float64 outputs of the same weights with residual attention scores (RealFormer).

Run from the repository root (shared venv: torch, transformers 5, numpy, safetensors):

    python tests/models/golden/make_realformer.py

It writes ``tests/models/golden/realformer/{config.json, model.safetensors, io.safetensors}``.
The checkpoint is a plain ``BertModel`` (``save_pretrained``; weights seeded, rounded to
float16 and stored as float16 to stay under 100 KB); RealFormer changes no weight, only the
forward pass. ``io.safetensors`` holds the inputs (right padding) and, from
``tests/models/reference/bert.py`` with ``residual_attention=True`` in float64:
``last_hidden_state``, ``pooler_output``, ``scores`` (N, B, heads, L, L: the accumulated
pre-softmax scores A_n = S_1 + ... + S_n each layer's softmax sees, before the padding mask)
and ``raw_scores`` (the S_n of the same run). The script also checks that the reference with
the residual off equals HF ``BertModel`` (eager, float64) on these inputs.
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import numpy as np
import torch
import transformers
from safetensors.numpy import save_file
from transformers import BertConfig, BertModel

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SEED = 8027
OUT = HERE / "realformer"
LENGTHS = [8, 5]

CONFIG = dict(
    vocab_size=50,
    hidden_size=32,
    num_hidden_layers=3,
    num_attention_heads=4,
    intermediate_size=64,
    hidden_act="gelu",
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
    max_position_embeddings=16,
    type_vocab_size=2,
    layer_norm_eps=1e-12,
    pad_token_id=0,
)


def load_reference():
    path = HERE.parent / "reference" / "bert.py"
    spec = importlib.util.spec_from_file_location("bert_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def randomize(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Seeded, non-trivial, float16-exact values for every parameter."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=generator, dtype=torch.float32)
            if "LayerNorm.weight" in name:
                value = 1.0 + 0.1 * noise
            elif name.endswith("bias"):
                value = 0.1 * noise
            elif "embeddings" in name:
                value = 0.5 * noise
            else:
                value = 0.3 * noise
            p.copy_(value.half().float())


def inputs(generator: torch.Generator) -> dict[str, np.ndarray]:
    total = max(LENGTHS)
    token_ids = torch.randint(1, CONFIG["vocab_size"], (len(LENGTHS), total), generator=generator)
    segment_ids = torch.zeros_like(token_ids)
    mask = torch.zeros_like(token_ids)
    for b, n in enumerate(LENGTHS):
        mask[b, :n] = 1
        segment_ids[b, n // 2 : n] = 1
        token_ids[b, n:] = 0
    return {
        "token_ids": token_ids.numpy(),
        "segment_ids": segment_ids.numpy(),
        "attention_mask": mask.numpy(),
    }


def main() -> None:
    generator = torch.Generator().manual_seed(SEED)
    config = BertConfig(**CONFIG)
    model = BertModel(config).eval()
    randomize(model, generator)
    io = inputs(generator)
    OUT.mkdir(parents=True, exist_ok=True)
    copy.deepcopy(model).half().save_pretrained(OUT)

    bert = load_reference()
    weights = {k: v.double().numpy() for k, v in model.state_dict().items()}
    real = bert.bert_forward(weights, CONFIG, **io, residual_attention=True)
    vanilla = bert.bert_forward(weights, CONFIG, **io, residual_attention=False)

    hf = BertModel.from_pretrained(OUT, dtype=torch.float64, attn_implementation="eager").eval()
    with torch.no_grad():
        out = hf(
            input_ids=torch.from_numpy(io["token_ids"]),
            token_type_ids=torch.from_numpy(io["segment_ids"]),
            attention_mask=torch.from_numpy(io["attention_mask"]),
        )
    err = float(np.abs(out.last_hidden_state.numpy() - vanilla["last_hidden_state"]).max())
    if err > 1e-10:
        raise RuntimeError(f"NumPy BERT (residual off) differs from HF BertModel by {err}")
    print(f"check: NumPy BERT (residual off) vs HF BertModel float64: max abs diff {err:.2e}")

    for key in ("last_hidden_state", "pooler_output", "scores", "raw_scores"):
        io[key] = np.ascontiguousarray(real[key])
    made_by = f"make_realformer.py seed={SEED} transformers={transformers.__version__}"
    save_file(io, str(OUT / "io.safetensors"), metadata={"made_by": made_by})
    for path in sorted(OUT.iterdir()):
        print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size} bytes)")
    for key, value in io.items():
        print(f"  {key}: {value.shape} {value.dtype}")


if __name__ == "__main__":
    main()
