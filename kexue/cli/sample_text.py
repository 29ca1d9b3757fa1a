"""Keyword-constrained sentences by MCMC sampling with a masked LM (kexue.fm/archives/8194)."""

from __future__ import annotations

import argparse
import json
import math
import sys

from kexue.cli._exitcodes import OK, RUNTIME_ERROR, USAGE_ERROR, UsageError, positive_int

DEFAULT_MODEL = "kexue-mini-zh"

_EPILOG = """\
CGMH (Miao et al., AAAI 2019) as in 【搜出来的文本】·（四）: start from the keywords, then repeat
STEPS times: pick replace / insert / delete, a position, and (replace, insert) a token among
the masked LM's top-K at that position; accept with the exact Metropolis-Hastings ratio of
the target rho(x) = exp(gamma * PLL(x)), PLL the masked LM's pseudo-log-likelihood
(kexue/decoding/mcmc.py, kexue/decoding/mlm_text.py). Keywords are never replaced or deleted,
so they stay, in order, by construction. --anneal cools the target to rho^(1/T) with T going
linearly from 1 to 0.05 (simulated annealing: a search for the best sentence rather than a
sample). Keywords with characters outside the model's vocabulary are an error.

examples:
  kexue sample-text --keywords 科学 空间
  kexue sample-text --keywords 广州 美食 开幕 --steps 256 --anneal --seed 1 --json
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kexue sample-text", description=__doc__, epilog=_EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--keywords", nargs="+", required=True, metavar="WORD",
                   help="words the sentence must contain, in this order")
    p.add_argument("--model", default=None, metavar="DIR",
                   help=f"HF-format masked LM directory (default: the shipped {DEFAULT_MODEL})")
    p.add_argument("--steps", type=positive_int, default=128, metavar="N",
                   help="MCMC steps (default 128, as the CGMH reference)")
    p.add_argument("--top-k", type=positive_int, default=16, metavar="K",
                   help="proposal candidates per position (default 16)")
    p.add_argument("--gamma", type=float, default=0.8, help="target exponent (default 0.8)")
    p.add_argument("--max-len", type=positive_int, default=24, metavar="N",
                   help="longest sentence in tokens (default 24)")
    p.add_argument("--anneal", action="store_true", help="simulated annealing (module notes)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true",
                   help="print {sentence, log_target, acceptance, steps} as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        words = [w.strip() for w in args.keywords]
        if any(not w for w in words):
            raise UsageError("a keyword is empty")
        if not (0 < args.gamma < math.inf):
            raise UsageError(f"--gamma must be a positive number, got {args.gamma}")
        if len(words) > args.max_len:
            raise UsageError(f"{len(words)} keywords do not fit in --max-len {args.max_len}")
        if args.model is None:
            import kexue.assets

            try:
                model_dir = kexue.assets.path(DEFAULT_MODEL)
            except FileNotFoundError:
                raise UsageError(f"the default model {DEFAULT_MODEL} is not shipped here: "
                                 "pass --model DIR") from None
        else:
            from pathlib import Path

            model_dir = Path(args.model)
            if not (model_dir / "vocab.txt").is_file():
                raise UsageError(f"{args.model} is not a model directory with vocab.txt")
        from kexue.text import Tokenizer

        tokenizer = Tokenizer(model_dir / "vocab.txt")
        vocab = tokenizer.token_dict
        for w in words:
            outside = [c for c in w if c not in vocab and w not in vocab]
            if outside:
                raise UsageError(f"keyword {w!r} has characters outside the model's vocabulary: "
                                 f"{''.join(outside)!r} (they would become [UNK])")
    except UsageError as e:
        print(f"kexue sample-text: error: {e}", file=sys.stderr)
        return USAGE_ERROR
    import torch

    from kexue.decoding.mcmc import CGMHSampler, TextState
    from kexue.decoding.mlm_text import MaskedLMText
    from kexue.models import build_transformer_model

    try:
        torch.manual_seed(args.seed)
        model = build_transformer_model(checkpoint_path=model_dir, with_mlm=True, strict=False)
        lm = MaskedLMText(model, tokenizer, top_k=args.top_k, gamma=args.gamma)
        schedule = None
        if args.anneal:
            steps = args.steps

            def schedule(t: int) -> float:
                return max(0.05, 1.0 - 0.95 * t / max(1, steps - 1))

        sampler = CGMHSampler(lm.log_target, proposal=lm.proposal, mask=lm.MASK,
                              min_len=len(words), max_len=args.max_len, temperature=schedule)
        start = TextState(tuple(words), (True,) * len(words))
        chain = sampler.run(start, args.steps, seed=args.seed)
    except (OSError, ValueError) as e:
        print(f"kexue sample-text: error: {e}", file=sys.stderr)
        return RUNTIME_ERROR
    final = "".join(chain[-1].tokens)
    rates = sampler.acceptance_rates()
    if args.json:
        sys.stdout.write(json.dumps({"sentence": final,
                                     "log_target": lm.log_target(chain[-1].tokens),
                                     "acceptance": rates, "steps": args.steps},
                                    ensure_ascii=False) + "\n")
    else:
        shown = ", ".join(f"{op} {'-' if r is None else f'{r:.2f}'}" for op, r in rates.items())
        sys.stdout.write(f"{final}\n")
        print(f"kexue sample-text: {args.steps} steps, acceptance: {shown}", file=sys.stderr)
    return OK
