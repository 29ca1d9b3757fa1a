"""Write the NEZHA golden checkpoints with the last transformers that ships NEZHA (4.57.6).

Run (from the repository root, in a separate environment; transformers 5 has no NEZHA):

    python3 -m venv /tmp/venv-tf457
    /tmp/venv-tf457/bin/pip install torch==2.13.0 && /tmp/venv-tf457/bin/pip install \
        transformers==4.57.6 numpy safetensors
    /tmp/venv-tf457/bin/python tests/models/golden/make_nezha.py

It writes, for ``NezhaModel`` and ``NezhaForMaskedLM``, a tiny random checkpoint
(``save_pretrained``, float16 safetensors, to stay under 100 KB; the weights are
float16-exact, so loading them into float32/float64 loses nothing) into
``tests/models/golden/nezha/`` and ``tests/models/golden/nezha_mlm/``, plus ``io.safetensors``
with the inputs (right padding) and the outputs of the HuggingFace model run in float64.
Deterministic: seeded weights and inputs; re-running rewrites byte-identical tensors.

One deliberate change to the HF model before the float64 run: HF builds the sinusoid table of
the relative positions in float32 (``.float()``) even after ``.double()``, which would cap the
golden at ~1e-7. The script rebuilds that non-persistent buffer with the same indexing in
float64 and checks it is within 1e-6 of HF's own float32 table, so the golden is HF's
architecture at float64 precision.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import torch
import transformers
from safetensors.torch import save_file
from transformers.models.deprecated.nezha import NezhaConfig, NezhaForMaskedLM, NezhaModel

HERE = Path(__file__).resolve().parent
SEED = 20240601

CONFIG = dict(
    vocab_size=100,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=64,
    hidden_act="gelu",
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
    max_position_embeddings=64,
    max_relative_position=4,
    type_vocab_size=2,
    layer_norm_eps=1e-12,
    pad_token_id=0,
)


def randomize(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Give every parameter seeded, non-trivial values (LN gains near 1, non-zero biases),
    rounded to float16 so the float16 checkpoint holds exactly the values used in float64."""
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
                value = 0.2 * noise
            p.copy_(value.half().float())


def exact_relative_buffers(model: torch.nn.Module) -> None:
    """Replace each layer's float32-computed relative table by a float64 one (same indexing)."""
    for module in model.modules():
        if type(module).__name__ != "NezhaRelativePositionsEncoding":
            continue
        old = module.positions_encoding
        length, _, depth = old.shape
        k = CONFIG["max_relative_position"]
        rows = torch.arange(2 * k + 1, dtype=torch.float64)[:, None]
        freq = torch.exp(torch.arange(0, depth, 2, dtype=torch.float64) * (-math.log(1e4) / depth))
        table = torch.zeros(2 * k + 1, depth, dtype=torch.float64)
        table[:, 0::2] = torch.sin(rows * freq)
        table[:, 1::2] = torch.cos(rows * freq)
        pos = torch.arange(length)
        index = (pos[None, :] - pos[:, None]).clamp(-k, k) + k
        new = table[index]
        err = (new - old.double()).abs().max().item()
        if err > 1e-6:
            raise RuntimeError(f"rebuilt relative table differs from HF's by {err}")
        module.positions_encoding = new


def inputs(generator: torch.Generator, lengths: list[int], total: int) -> dict[str, torch.Tensor]:
    """Right-padded token ids (pad 0), two segments per row, and the key mask."""
    batch = len(lengths)
    token_ids = torch.randint(1, CONFIG["vocab_size"], (batch, total), generator=generator)
    segment_ids = torch.zeros(batch, total, dtype=torch.int64)
    mask = torch.zeros(batch, total, dtype=torch.int64)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
        segment_ids[b, n // 2 : n] = 1
        token_ids[b, n:] = 0
    return {"token_ids": token_ids, "segment_ids": segment_ids, "attention_mask": mask}


def write(model_cls: type, out_dir: Path, lengths: list[int], seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    config = NezhaConfig(**CONFIG)
    model = model_cls(config).eval()
    randomize(model, generator)
    out_dir.mkdir(parents=True, exist_ok=True)
    # float16 copy on disk keeps the directory under 100 KB; the live model stays float32.
    copy.deepcopy(model).half().save_pretrained(out_dir, safe_serialization=True)
    io = inputs(generator, lengths, total=12)
    model = model.double()
    exact_relative_buffers(model)
    with torch.no_grad():
        out = model(
            input_ids=io["token_ids"],
            token_type_ids=io["segment_ids"],
            attention_mask=io["attention_mask"],
        )
    if model_cls is NezhaModel:
        io["last_hidden_state"] = out.last_hidden_state.contiguous()
        io["pooler_output"] = out.pooler_output.contiguous()
    else:
        io["logits"] = out.logits.contiguous()
    # One metadata key: safetensors writes metadata from a hash map, so several keys would make
    # the file bytes depend on the process's hash seed.
    versions = f"transformers={transformers.__version__} torch={torch.__version__}"
    made_by = f"make_nezha.py seed={seed} {versions}"
    meta = {"made_by": made_by}
    save_file(io, str(out_dir / "io.safetensors"), metadata=meta)
    for path in sorted(out_dir.iterdir()):
        print(f"wrote {path.relative_to(HERE.parents[2])} ({path.stat().st_size} bytes)")
    for key, value in io.items():
        print(f"  {key}: {tuple(value.shape)} {value.dtype}")


def main() -> None:
    torch.use_deterministic_algorithms(True)
    write(NezhaModel, HERE / "nezha", lengths=[12, 9, 5], seed=SEED)
    write(NezhaForMaskedLM, HERE / "nezha_mlm", lengths=[12, 7], seed=SEED + 1)


if __name__ == "__main__":
    main()
