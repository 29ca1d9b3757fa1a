"""Decoding speed on CPU: kexue (GPT-2 + AutoRegressiveDecoder) vs transformers generate().

A GPT-2-small-sized random model (12 layers, hidden 768, 12 heads, vocab 50257) is created
with transformers, saved to a temporary directory and loaded into kexue with
``build_transformer_model``, so both sides hold the same weights. For each setting (greedy /
beam-4, batch 1 / 16) both decode ``--new-tokens`` tokens (no end token, so every row runs the
full length) from the same left-padded prompts of uneven lengths; the two competitors are
alternated and the median of ``--repeats`` timed runs is reported after one warm-up each.
Tokens/s counts ``batch * new_tokens`` (the returned best hypothesis per input). The script also
checks that both produced the same tokens (last timed run). ``--ablate-dense`` adds a third
competitor, kexue with every dense product on ``F.linear`` (``kexue.layers.dense`` blocked path
off), to show what that path contributes.

    python benchmarks/decoding.py                    # the table in docs/decoding.md
    python benchmarks/decoding.py --layers 2 --repeats 1 --new-tokens 8   # smoke run
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kexue.decoding import AutoRegressiveDecoder  # noqa: E402
from kexue.layers import dense  # noqa: E402
from kexue.models import build_transformer_model  # noqa: E402


def make_models(layers: int, hidden: int, heads: int, vocab: int):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    cfg = GPT2Config(
        vocab_size=vocab, n_positions=1024, n_embd=hidden, n_layer=layers, n_head=heads,
        bos_token_id=None, eos_token_id=None, pad_token_id=0,
    )  # fmt: skip
    hf = GPT2LMHeadModel(cfg).eval()
    with tempfile.TemporaryDirectory() as tmp:
        hf.save_pretrained(tmp)
        kx = build_transformer_model(checkpoint_path=tmp, model="gpt2", application="lm").eval()
    return hf, kx


def make_prompts(batch: int, prompt_len: int, vocab: int) -> list[list[int]]:
    g = torch.Generator().manual_seed(batch)
    lengths = torch.randint(max(1, prompt_len // 2), prompt_len + 1, (batch,), generator=g)
    lengths[0] = prompt_len
    return [torch.randint(1, vocab, (int(n),), generator=g).tolist() for n in lengths]


def left_pad(prompts: list[list[int]]):
    longest = max(map(len, prompts))
    ids = torch.tensor([[0] * (longest - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (longest - len(p)) + [1] * len(p) for p in prompts])
    return ids, mask


def run_kexue(dec, prompts, beams: int, new: int) -> list[list[int]]:
    if beams == 1:
        out = dec.greedy(prompts, max_new_tokens=new)
    else:
        out = dec.beam_search(prompts, num_beams=beams, max_new_tokens=new)
    return [rows[0] for rows in out.tolist()]


def run_hf(hf, ids, mask, beams: int, new: int) -> list[list[int]]:
    with torch.inference_mode():
        seq = hf.generate(
            ids, attention_mask=mask, max_new_tokens=new, min_new_tokens=new, num_beams=beams,
            do_sample=False, pad_token_id=0, eos_token_id=None,
        )  # fmt: skip
    return seq[:, ids.shape[1] :].tolist()


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--prompt-len", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--beams", default="1,4")
    ap.add_argument("--ablate-dense", action="store_true", help="also time kexue on F.linear")
    args = ap.parse_args(argv)
    blocked_rows = dense.MAX_BLOCKED_ROWS

    hf, kx = make_models(args.layers, args.hidden, args.heads, args.vocab)
    dec = AutoRegressiveDecoder(kx, end_id=None, pad_id=0)
    new = args.new_tokens
    print(
        f"GPT-2 {args.layers}L/{args.hidden}H/{args.heads} heads, vocab {args.vocab}, "
        f"{new} new tokens, prompts {args.prompt_len // 2}-{args.prompt_len} tokens (left-padded), "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"median of {args.repeats} alternated runs\n"
    )
    extra = " kexue on F.linear tok/s |" if args.ablate_dense else ""
    print(
        f"| decoding | batch | kexue tok/s |{extra} transformers tok/s | kexue / transformers "
        "| same tokens |"
    )
    print("|---|---|---|---|---|---|" + ("---|" if args.ablate_dense else ""))
    who_all = ("kx", "plain", "hf") if args.ablate_dense else ("kx", "hf")
    for beams in [int(b) for b in args.beams.split(",")]:
        for batch in [int(b) for b in args.batches.split(",")]:
            prompts = make_prompts(batch, args.prompt_len, args.vocab)
            ids, mask = left_pad(prompts)
            # short warm-up of both, then alternated timed runs
            run_kexue(dec, prompts, beams, 2)
            run_hf(hf, ids, mask, beams, 2)
            times: dict[str, list[float]] = {who: [] for who in who_all}
            outs = {}
            for rep in range(args.repeats):
                for who in who_all if rep % 2 == 0 else who_all[::-1]:
                    if who == "hf":
                        t, outs[who] = timed(run_hf, hf, ids, mask, beams, new)
                    else:
                        dense.MAX_BLOCKED_ROWS = 0 if who == "plain" else blocked_rows
                        t, outs[who] = timed(run_kexue, dec, prompts, beams, new)
                        dense.MAX_BLOCKED_ROWS = blocked_rows
                    times[who].append(t)
            assert all(len(r) == new for out in outs.values() for r in out)
            tps = {who: batch * new / statistics.median(ts) for who, ts in times.items()}
            same = all(out == outs["hf"] for out in outs.values())
            name = "greedy" if beams == 1 else f"beam-{beams}"
            plain = f" {tps['plain']:.1f} |" if args.ablate_dense else ""
            print(
                f"| {name} | {batch} | {tps['kx']:.1f} |{plain} {tps['hf']:.1f} "
                f"| {tps['kx'] / tps['hf']:.2f}x | {'yes' if same else 'no'} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
