"""Pretrain a model from a TOML config (MLM, whole-word MLM, NSP, UniLM, causal LM); resumable."""

from __future__ import annotations

import argparse
import sys

_EPILOG = """\
The config (kexue/pretrain/configs/*.toml; keys in kexue/pretrain/config.py) names the model
family and sizes, the vocabulary, the corpus, the objectives and the schedule. The run
directory holds the token stores (built once), the resumable checkpoints, log.csv,
curves.png and, at the end, model/ (HF format, float16, with vocab.txt). Run the same
command again after an interruption: it continues at the exact next batch. Under torchrun
the same command trains on several processes or GPUs.

examples:
  kexue pretrain --config kexue/pretrain/configs/kexue-mini-zh.toml
  kexue pretrain --config my.toml --run-dir /data/runs/my-model
  torchrun --standalone --nproc_per_node=2 -m kexue pretrain --config my.toml
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kexue pretrain", description=__doc__, epilog=_EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, metavar="TOML", help="the run's config file")
    p.add_argument("--run-dir", default=None, metavar="DIR",
                   help="where the run lives (default runs/NAME, NAME from the config)")
    p.add_argument("--steps", type=int, default=None, metavar="N",
                   help="stop after N steps this time (a trial; the schedule keeps the "
                        "config's steps)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from kexue.pretrain.config import load_config
    from kexue.pretrain.run import pretrain

    try:
        config = load_config(args.config)
    except (OSError, ValueError) as e:
        print(f"kexue pretrain: {e}", file=sys.stderr)
        return 2
    run_dir = args.run_dir or f"runs/{config['name']}"
    try:
        trainer = pretrain(config, run_dir, progress=not args.quiet, steps=args.steps)
    except (OSError, ValueError) as e:
        print(f"kexue pretrain: {e}", file=sys.stderr)
        return 1
    if not trainer.is_main:
        return 0
    last = [r for r in trainer.history if any(k.startswith("val_") for k in r)]
    print(f"step {trainer.step}; run directory {run_dir}"
          + (f"; last evaluation {last[-1]}" if last else ""))
    return 0
