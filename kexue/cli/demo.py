"""Run the main demonstration: build a model, load a checkpoint, encode text, decode."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

SENTENCES = ("科学空间是苏剑林的博客。", "我们把文章里的方法写成经过测试的代码。")
SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def _char_vocab(texts: tuple[str, ...]) -> dict[str, int]:
    """A tiny character vocabulary, enough for the demo sentences."""
    chars = sorted({c for t in texts for c in t})
    return {tok: i for i, tok in enumerate([*SPECIAL, *chars])}


def _encode(texts: tuple[str, ...], tokenizer):
    """Right-padded ``(token_ids, attention_mask)`` for ``texts``, through ``kexue.text``."""
    import torch

    rows = [tokenizer.encode(t)[0] for t in texts]
    n = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), n, dtype=torch.long)
    mask = torch.zeros(len(rows), n, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return ids, mask, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kexue demo", description=__doc__)
    parser.add_argument("--seed", type=int, default=0, help="random seed of the weights")
    args = parser.parse_args(argv)

    import torch

    from kexue import __version__
    from kexue.decoding import AutoRegressiveDecoder
    from kexue.models import ModelOutput, build_transformer_model
    from kexue.text import Tokenizer
    from kexue.threads import set_threads

    set_threads()  # the default rule of kexue/threads.py
    start = time.perf_counter()
    torch.manual_seed(args.seed)
    vocab = _char_vocab(SENTENCES)
    config = {
        "vocab_size": len(vocab),
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 128,
        "max_position_embeddings": 64,
        "type_vocab_size": 2,
        "hidden_act": "gelu",
    }
    print(f"kexue {__version__} demo: a small BERT, saved and reloaded in HuggingFace format")
    print(f"config: {json.dumps(config)}")
    source = build_transformer_model(config, with_pool=True, with_nsp=True, with_mlm=True)
    n_params = sum(p.numel() for p in source.parameters())
    print(f"parameters: {n_params:,}")

    with tempfile.TemporaryDirectory() as tmp:
        vocab_path = Path(tmp) / "vocab.txt"
        vocab_path.write_text("".join(f"{tok}\n" for tok in vocab), encoding="utf-8")
        tokenizer = Tokenizer(str(vocab_path))
        ids, mask, rows = _encode(SENTENCES, tokenizer)
        saved = source.save_pretrained(Path(tmp) / "bert", vocab=vocab_path)
        files = sorted(p.name for p in saved.iterdir())
        print(f"saved a random checkpoint (save_pretrained): {files}")
        model = build_transformer_model(
            checkpoint_path=saved, with_pool=True, with_nsp=True, with_mlm=True
        )
        print(
            "load report:\n  "
            + model.load_report.summary().replace(tmp, "<tmp>").replace("\n", "\n  ")
        )
        seq2seq = build_transformer_model(checkpoint_path=saved, application="unilm")
    with torch.no_grad():
        out = model(ids, attention_mask=mask)
        ref = source(ids, attention_mask=mask)
    assert isinstance(out, ModelOutput)
    diff = (out.hidden - ref.hidden).abs().max().item()
    print(
        f"input: {len(SENTENCES)} sentences, token_ids {tuple(ids.shape)}, "
        f"lengths {mask.sum(1).tolist()}"
    )
    for text in SENTENCES:
        print(f"  {text}")
    print(
        f"hidden {tuple(out.hidden.shape)}, pooled {tuple(out.pooled.shape)}, "
        f"nsp_logits {tuple(out.nsp_logits.shape)}, mlm_logits {tuple(out.mlm_logits.shape)}"
    )
    real = mask.bool()
    checksum = out.logits[real].double().sum().item()
    print(f"checksum (sum of MLM logits at real tokens): {checksum:.6f}")
    print(f"reloaded model == built model: max abs diff {diff:.1e}")

    # The same checkpoint as a UniLM seq2seq model, decoded greedily through the KV cache.
    sep = tokenizer.token_to_id("[SEP]")
    cached = AutoRegressiveDecoder(seq2seq, end_id=sep, pad_id=0)
    plain = AutoRegressiveDecoder(seq2seq, end_id=sep, pad_id=0, use_cache=False)
    with torch.no_grad():
        fast = cached.greedy(rows, max_new_tokens=6, min_new_tokens=6).tolist()
        slow = plain.greedy(rows, max_new_tokens=6, min_new_tokens=6).tolist()
    print("UniLM greedy decoding, 6 new tokens (random weights: the text means nothing):")
    for text, gen in zip(SENTENCES, fast):
        print(f"  {text} -> {tokenizer.decode(gen[0])!r} ids {gen[0]}")
    same = fast == slow
    print(f"KV-cached decoding == uncached decoding: {'yes' if same else 'NO'}")
    # ---- kexue sky (issue 21): this month's celestial events, as the blog lists them ----
    from kexue.cli.sky import demo_section

    demo_section()
    print(f"done in {time.perf_counter() - start:.2f} s")
    return 0 if diff <= 1e-6 and same else 1
