"""Ship a finished causal-LM pretraining run (kexue-gpt-mini-zh) with its model card.

    python experiments/pretrain_ship_gpt.py \
        --config kexue/pretrain/configs/kexue-gpt-mini-zh.toml \
        --run-dir /work/runs/kexue-gpt-mini-zh [--record] [--wall-note TEXT]

The causal-LM counterpart of experiments/pretrain_ship.py. For a run that reached the
config's last step it

1. measures validation perplexity (experiments/pretrain_gpt_eval.py ``measure``): this model,
   the step-0 model and the add-k bigram fitted on exactly the tokens the model saw; the
   issue's floor is a lower perplexity than the bigram's, and the script refuses to ship a
   model that misses it;
2. counts the tokens seen and reads the wall time from the log (as pretrain_ship.py does);
3. writes the fixed slice (the first ``eval_examples`` validation sequences) and the model's
   perplexity on it to ``tests/pretrain/data/NAME-slice.npz`` for tests/pretrain/test_shipped.py;
4. writes ``kexue/assets/NAME/`` (config.json, float16 model.safetensors, vocab.txt, README.md)
   in one atomic step; ``--record`` writes the numbers to results/pretraining.jsonl.
"""

from __future__ import annotations

import argparse
import datetime
import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "experiments"))

from pretrain_gpt_eval import BIGRAM, measure  # noqa: E402
from pretrain_ship import MODEL_FILES, _hms, finished_step, session_times, tokens_seen  # noqa: E402

from kexue.io.atomic import atomic_directory, write_bytes  # noqa: E402
from kexue.pretrain.config import load_config, train_files  # noqa: E402
from kexue.pretrain.run import collate  # noqa: E402
from kexue.pretrain.tokens import TokenStore  # noqa: E402


def write_slice(path: Path, examples: list[dict], perplexity: float) -> None:
    batch = collate(examples)
    arrays = {k: batch[k].numpy().astype(np.int32) for k in ("token_ids", "labels",
                                                             "attention_mask")}
    arrays["perplexity"] = np.array(perplexity, dtype=np.float64)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, buf.getvalue())


def card(config: dict, config_path: str, run: Path, rows: dict, info: dict, seen: tuple,
         sessions: list[float], commit: str, size: int, params: int, wall_note: str) -> str:
    name, tc, dc, m = config["name"], config["train"], config["data"], config["model"]
    store = TokenStore(run / "data" / "train")
    examples, tokens, _ = seen
    facts = "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in [
        ("architecture", f"{m['family']} (pre-LN GPT-2 layout, causal attention), "
                         f"{m['num_hidden_layers']} layer(s) x {m['hidden_size']} hidden, "
                         f"{m['num_attention_heads']} heads, FFN {m['intermediate_size']}, "
                         f"trained on length {dc['max_length']}, {m['max_position_embeddings']} "
                         f"positions; output layer tied to the token embeddings"),
        ("parameters", f"{params:,} ({size / 1e6:.1f} MB in float16 safetensors)"),
        ("vocabulary", f"{store.meta['vocab_size']:,} tokens: the Google Chinese BERT vocab "
                       f"simplified as bert4keras does (the same as kexue-mini-zh)"),
        ("objective", "next-token prediction (causal LM) over packed sequences"),
        ("data", f"`../shared/data/pretrain_zh/` training shards "
                 f"{', '.join(Path(f).name for f in train_files(config))}: "
                 f"{store.meta['tokens']:,} tokens in {store.meta['documents']:,} documents"),
        ("training", f"{tc['steps']:,} steps of batch {tc['batch_size']}, AdamW lr {tc['lr']} "
                     f"(warm-up {tc['warmup_steps']} steps, then linear decay to "
                     f"{tc['final_lr']}), weight decay {tc['weight_decay']}, clip "
                     f"{tc['clip_grad_norm']}, seed {tc['seed']}, {tc['precision']}"),
        ("seen", f"{examples:,} sequences, {tokens:,} tokens "
                 f"({tokens / store.meta['tokens']:.2f} passes over the training shards)"),
        ("wall time", f"{_hms(sum(sessions))} of training in {len(sessions)} session(s), on a "
                      f"2-core CPU shared with other work, so an upper bound"
                      f"{'; ' + wall_note if wall_note else ''}"),
        ("machine", f"2-core x86-64 CPU, torch {torch.__version__}, {tc['threads']} threads"),
        ("code", f"kexue commit `{commit}` shipped this model"),
    ])
    ppl, big, s0 = rows["this model"], rows[BIGRAM], rows["step 0"]
    cfg_text = Path(config_path).read_text(encoding="utf-8")
    return f"""# {name}

kexue's own small Chinese causal language model (GPT-2 layout), pretrained from scratch on
this project's 2-core CPU (issue 24), for generation demos and as the fluency scorer of the
recipes. It is far too small to write well: read its perplexity, not its prose. Load it with:

```python
import kexue
from kexue.models import build_transformer_model

model = build_transformer_model(checkpoint_path=kexue.assets.path("{name}"),
                                application="lm")
```

{facts}

## Held-out perplexity

Validation shard `../shared/data/pretrain_zh/valid.txt.gz` (never trained on): {info['valid']:,}
packed sequences, {info['predicted']:,} predicted tokens. Every model predicts exactly the same
targets. The bigram baseline is add-k smoothed (k = {info['k']}, chosen on this validation
shard, which favours it) and fitted on the {info['fit']:,} predictions of the
{info['fit_sequences']:,} training sequences this model saw; step 0 is the same architecture
freshly initialised with the config's seed.

| model | perplexity (whole validation shard) |
|---|---:|
| this model | {ppl:.2f} |
| bigram (add-k) on the same training tokens | {big:.2f} |
| step 0 | {s0:.2f} |

The issue's floor is a lower perplexity than the bigram's: {ppl:.2f} < {big:.2f}.
`tests/pretrain/test_shipped.py` loads this directory strictly and recomputes the perplexity
of the fixed slice (the first {len(info['slice'])} validation sequences,
{info['slice_predicted']:,} predicted tokens: {info['slice_ppl']:.4f}) from
`tests/pretrain/data/{name}-slice.npz`.

## Reproduce

From the repository root; the same command again resumes an interrupted run:

```bash
python -m kexue pretrain --config {config_path} --run-dir runs/{name}
python experiments/pretrain_ship_gpt.py --config {config_path} --run-dir runs/{name} --record
```

The config:

```toml
{cfg_text.rstrip()}
```
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--record", action="store_true")
    ap.add_argument("--wall-note", default="")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config(args.config)
    if "lm" not in config["objectives"]:
        raise SystemExit("MLM runs are shipped by experiments/pretrain_ship.py")
    name, run = config["name"], Path(args.run_dir)
    model_dir = run / "model"
    step = finished_step(config, run)
    size = (model_dir / "model.safetensors").stat().st_size
    rows, info = measure(config, run, model_dir, step)
    if not rows["this model"] < rows[BIGRAM]:
        raise SystemExit(f"perplexity {rows['this model']:.2f} does not beat the bigram's "
                         f"{rows[BIGRAM]:.2f}: not shipped")
    seen = tokens_seen(config, run, step)
    sessions = session_times(run / "train.log") if (run / "train.log").exists() else []
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=REPO).stdout.strip()
    from safetensors.torch import load_file

    params = sum(t.numel() for k, t in load_file(model_dir / "model.safetensors").items())
    write_slice(REPO / "tests" / "pretrain" / "data" / f"{name}-slice.npz", info["slice"],
                info["slice_ppl"])
    text = card(config, args.config, run, rows, info, seen, sessions, commit, size, params,
                args.wall_note)
    with atomic_directory(REPO / "kexue" / "assets" / name, overwrite=True) as tmp:
        for f in MODEL_FILES:
            shutil.copyfile(model_dir / f, Path(tmp) / f)
        (Path(tmp) / "README.md").write_text(text, encoding="utf-8")
    print(text)
    if args.record:
        from kexue.recipes.records import write_records

        command = (f"python experiments/pretrain_ship_gpt.py --config {args.config} "
                   f"--run-dir {args.run_dir} --record"
                   + (f' --wall-note "{args.wall_note}"' if args.wall_note else ""))
        common = {"command": command, "commit": commit,
                  "date": datetime.date.today().isoformat(), "machine": "2-core CPU"}
        recs = [{"claim": f"{name} training: tokens seen", "value": seen[1], "unit": "tokens",
                 "data": "shared/data/pretrain_zh/train-*.txt.gz", "split": "train",
                 "notes": f"{seen[0]} sequences, {step} steps", **common},
                {"claim": f"{name} training: wall time", "value": round(sum(sessions) / 60, 1),
                 "unit": "min", "data": "shared/data/pretrain_zh/train-*.txt.gz",
                 "split": "train", "notes": f"{len(sessions)} session(s) in the log, on a "
                                            f"shared 2-core CPU (an upper bound)", **common}]
        for who, value in rows.items():
            recs.append({"claim": f"{name} validation perplexity, {who}",
                         "value": round(value, 3), "unit": "perplexity",
                         "data": "shared/data/pretrain_zh/valid.txt.gz", "split": "valid",
                         "notes": f"{info['predicted']} predicted tokens; bigram fitted on "
                                  f"{info['fit']} predictions, add-k k={info['k']}", **common})
        write_records(REPO / "results" / "pretraining.jsonl", recs, command, commit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
