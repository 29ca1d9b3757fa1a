"""Convert a TensorFlow (or HF-format) checkpoint into an HF-format directory, streaming."""

from __future__ import annotations

import argparse
import sys

_EPILOG = """\
SRC is a TensorFlow checkpoint (its prefix, e.g. chinese_L-12_H-768_A-12/bert_model.ckpt, its
.index file, or its directory) or an HF-format directory; its config (config.json,
bert_config.json or hparams.json) is found beside it unless --config is given. DST is created
atomically (it appears only when complete) with config.json, model.safetensors and the
tokenizer files found beside SRC. Optimizer slots are dropped; the heads the checkpoint holds
(pooler, MLM, NSP, LM head) are kept. Memory stays about one tensor, whatever the size.

examples:
  kexue convert chinese_L-12_H-768_A-12/bert_model.ckpt bert-zh
  kexue convert chinese_roformer-sim-char_L-12_H-768_A-12 roformer-sim --model roformer
  kexue convert mt5_base/model.ckpt-1000000 mt5-base --model mt5.1.1 --config mt5_base.json
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kexue convert",
        description=__doc__,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("src", metavar="SRC", help="TensorFlow checkpoint or HF-format directory")
    p.add_argument("dst", metavar="DST", help="output directory (must not exist, see --force)")
    p.add_argument("-m", "--model", default="bert",
                   help="model family: bert, roformer, nezha, gpt2, gpt2_ml, t5, mt5.1.1, ... "
                        "(default bert)")
    p.add_argument("-c", "--config", default=None, metavar="PATH",
                   help="config file (default: found beside SRC)")
    p.add_argument("--dtype", default="float32", choices=("float32", "float16", "bfloat16"),
                   help="dtype of the written tensors (default float32)")
    p.add_argument("-f", "--force", action="store_true",
                   help="replace an existing DST (only once the new one is complete)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from pathlib import Path

    from kexue.cli._exitcodes import USAGE_ERROR
    from kexue.models.convert import convert_checkpoint

    src = Path(args.src)  # a TF prefix (NAME for NAME.index) exists only through its files
    if not src.exists() and not Path(f"{args.src}.index").exists():
        print(f"kexue convert: error: checkpoint not found: {args.src} (it does not exist)",
              file=sys.stderr)
        return USAGE_ERROR

    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=0, unit="B", unit_scale=True, desc="converting", file=sys.stderr,
                   disable=None)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.refresh()

    try:
        out = convert_checkpoint(args.src, args.dst, model=args.model, config_path=args.config,
                                 dtype=args.dtype, overwrite=args.force, progress=progress)
    except (OSError, ValueError, TypeError) as e:
        if bar is not None:
            bar.close()
        print(f"kexue convert: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        print("kexue convert: interrupted; no output written", file=sys.stderr)
        return 130
    if bar is not None:
        bar.close()
    print(f"kexue convert: {args.src} -> {out}", file=sys.stderr)
    return 0
