"""Memory and time of `kexue convert` on a ~1 GB TensorFlow checkpoint (synthetic).

    python benchmarks/convert.py [--layers 20] [--workdir DIR] [--record]

Writes a BERT-large-like bundle (hidden 1024, 16 heads, FFN 4096, Chinese vocab 21,128,
``--layers`` layers; float32) with the small test writer (tests/models/tf_writer.py), then runs,
each in a fresh process: ``kexue convert`` (streaming), and for comparison
``build_transformer_model`` on the same checkpoint (which holds the whole model). Peak RSS is
the child's ``ru_maxrss``. Prints a table; ``--record`` appends the result to
results/models.jsonl.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.models.tf_writer import write_bundle  # noqa: E402


def bert_shapes(layers: int, hidden: int = 1024, ffn: int = 4096, vocab: int = 21128,
                positions: int = 512) -> dict[str, tuple[int, ...]]:
    s = {
        "bert/embeddings/word_embeddings": (vocab, hidden),
        "bert/embeddings/position_embeddings": (positions, hidden),
        "bert/embeddings/token_type_embeddings": (2, hidden),
        "bert/embeddings/LayerNorm/gamma": (hidden,),
        "bert/embeddings/LayerNorm/beta": (hidden,),
        "bert/pooler/dense/kernel": (hidden, hidden),
        "bert/pooler/dense/bias": (hidden,),
    }
    for i in range(layers):
        p = f"bert/encoder/layer_{i}/"
        for part in ("attention/self/query", "attention/self/key", "attention/self/value",
                     "attention/output/dense"):
            s[p + part + "/kernel"] = (hidden, hidden)
            s[p + part + "/bias"] = (hidden,)
        s[p + "intermediate/dense/kernel"] = (hidden, ffn)
        s[p + "intermediate/dense/bias"] = (ffn,)
        s[p + "output/dense/kernel"] = (ffn, hidden)
        s[p + "output/dense/bias"] = (hidden,)
        for ln in ("attention/output/LayerNorm", "output/LayerNorm"):
            s[p + ln + "/gamma"] = (hidden,)
            s[p + ln + "/beta"] = (hidden,)
    return s


def run_measured(argv: list[str]) -> tuple[float, int, int]:
    """(wall seconds, peak RSS bytes, exit status) of a child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        print(err, file=sys.stderr)
    return wall, usage.ru_maxrss * 1024, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=20)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="kexue-bench-convert-"))
    work.mkdir(parents=True, exist_ok=True)
    src, dst = work / "tf", work / "hf"
    shutil.rmtree(src, ignore_errors=True)
    shutil.rmtree(dst, ignore_errors=True)
    src.mkdir()
    shapes = bert_shapes(args.layers)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    write_bundle(src / "bert_model.ckpt", list(shapes),
                 lambda n: (0.02 * rng.standard_normal(shapes[n], dtype=np.float32)))
    write_s = time.perf_counter() - t0
    config = {"vocab_size": 21128, "hidden_size": 1024, "num_hidden_layers": args.layers,
              "num_attention_heads": 16, "intermediate_size": 4096,
              "max_position_embeddings": 512, "type_vocab_size": 2, "hidden_act": "gelu"}
    (src / "bert_config.json").write_text(json.dumps(config))
    weights = sum(int(np.prod(s)) * 4 for s in shapes.values())
    py = sys.executable
    conv_s, conv_rss, rc1 = run_measured(
        [py, "-m", "kexue", "convert", str(src / "bert_model.ckpt"), str(dst), "-q"])
    load_s, load_rss, rc2 = run_measured(
        [py, "-c", "import sys; from kexue.models import build_transformer_model as b; "
         f"b(checkpoint_path={str(src / 'bert_model.ckpt')!r}, with_pool=True)"])
    base_s, base_rss, _ = run_measured([py, "-c", "import kexue.models, safetensors"])
    out_bytes = (dst / "model.safetensors").stat().st_size if dst.exists() else 0
    print(f"synthetic TF checkpoint: {len(shapes)} variables, {weights / 2**30:.2f} GiB "
          f"float32 (written in {write_s:.1f} s)")
    print(f"{'run':<34}{'wall s':>8}{'peak RSS MiB':>14}{'RSS / weights':>15}"
          f"{'(RSS - import) / weights':>26}")
    for name, s, rss in (("python + import kexue.models", base_s, base_rss),
                         ("kexue convert (streaming)", conv_s, conv_rss),
                         ("build_transformer_model (load)", load_s, load_rss)):
        print(f"{name:<34}{s:>8.1f}{rss / 2**20:>14.0f}{rss / weights:>15.2f}"
              f"{(rss - base_rss) / weights:>26.2f}")
    print(f"output model.safetensors: {out_bytes / 2**30:.2f} GiB; exit codes {rc1}, {rc2}")
    ok = rc1 == 0 and rc2 == 0 and out_bytes >= weights
    if args.record and ok:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip()
        record = {
            "claim": "kexue convert peak RSS relative to the checkpoint's float32 weights "
                     "(streaming; build_transformer_model on the same file for comparison)",
            "value": round(conv_rss / weights, 3),
            "unit": "x weights (peak RSS / weight bytes)",
            "data": f"synthetic BERT TF checkpoint, {args.layers} layers, hidden 1024, "
                    f"{weights / 2**30:.2f} GiB",
            "command": f"python benchmarks/convert.py --layers {args.layers} --record",
            "commit": commit,
            "date": datetime.date.today().isoformat(),
            "machine": "2-core CPU",
            "notes": f"above the bare import: {(conv_rss - base_rss) / weights:.3f}x weights; "
                     f"convert {conv_s:.1f} s, {conv_rss / 2**20:.0f} MiB peak; load "
                     f"{load_s:.1f} s, {load_rss / 2**20:.0f} MiB peak "
                     f"({load_rss / weights:.2f}x); bare python+import "
                     f"{base_rss / 2**20:.0f} MiB",
        }
        out = ROOT / "results" / "models.jsonl"
        out.parent.mkdir(exist_ok=True)
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
