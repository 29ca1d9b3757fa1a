"""Ship a finished pretraining run as one of kexue's own models, with its model card.

    python experiments/pretrain_ship.py --config kexue/pretrain/configs/kexue-mini-zh.toml \
        --run-dir /work/runs/kexue-mini-zh [--record]

For a run whose training reached the config's last step (``RUN_DIR/model`` written by
``kexue pretrain``), this

1. measures the held-out metrics the card reports (experiments/pretrain_eval.py): masked-token
   accuracy on the whole validation shard and on its first ``eval_examples`` examples, against
   the model at step 0 and the unigram-frequency guess; ``--record`` appends them to
   results/pretraining.jsonl;
2. counts the tokens the model saw, by replaying the training stream (it is deterministic);
3. reads the wall time of the run's sessions from ``RUN_DIR/train.log`` (tqdm's elapsed
   times; a restart shows as elapsed time going back);
4. writes the fixed slice (the padded inputs and labels of the first ``eval_examples``
   validation examples) and the model's accuracy on it to ``tests/pretrain/data/NAME-slice.npz``,
   which tests/pretrain/test_shipped.py reads to check that the shipped file is the model the
   card describes;
5. writes ``kexue/assets/NAME/`` (config.json, model.safetensors in float16, vocab.txt and the
   card README.md) in one atomic step.
"""

from __future__ import annotations

import argparse
import datetime
import io
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "experiments"))

from pretrain_eval import measure  # noqa: E402

from kexue.io.atomic import atomic_directory, write_bytes  # noqa: E402
from kexue.pretrain.config import load_config, train_files  # noqa: E402
from kexue.pretrain.examples import PretrainStream, SpecialIds  # noqa: E402
from kexue.pretrain.run import collate, load_tokenizer  # noqa: E402
from kexue.pretrain.tokens import TokenStore  # noqa: E402
from kexue.train.checkpoint import latest_checkpoint  # noqa: E402

MODEL_FILES = ("config.json", "model.safetensors", "vocab.txt")
_ELAPSED = re.compile(r"\[(?:(\d+):)?(\d+):(\d+)[,<\]]")


def tokens_seen(config: dict, run: Path, steps: int) -> tuple[int, int, int]:
    """``(examples, tokens, masked)`` of the first ``steps`` batches of the training stream
    (one process; every token counted, padding excluded)."""
    _, token_dict, _ = load_tokenizer(config)
    dc, tc = config["data"], config["train"]
    stream = PretrainStream(TokenStore(run / "data" / "train"), SpecialIds(token_dict),
                            max_length=dc["max_length"], objectives=dict(config["objectives"]),
                            whole_word=dc["whole_word"], mask_rate=dc["mask_rate"],
                            seed=tc["seed"])
    want = steps * tc["batch_size"]
    n = tokens = masked = 0
    epoch = 0
    while n < want:
        stream.set_epoch(epoch)
        for ex in stream:
            tokens += len(ex["token_ids"])
            masked += int((ex["labels"] != -100).sum())
            n += 1
            if n >= want:
                break
        epoch += 1
    return n, tokens, masked


def session_times(log: Path) -> list[float]:
    """The elapsed seconds of each training session in a tqdm log (``epoch E: Nit [MM:SS``);
    the training bar only, so the tokenising bar of the first session is counted apart."""
    text = log.read_text(encoding="utf-8", errors="replace")
    sessions: list[float] = []
    last = -1.0
    for piece in re.split(r"[\r\n]", text):
        if not piece.startswith("epoch"):
            continue
        m = _ELAPSED.search(piece)
        if not m:
            continue
        h, mi, s = (int(x) if x else 0 for x in m.groups())
        t = h * 3600 + mi * 60 + s
        if t < last or not sessions:
            sessions.append(0.0)
        sessions[-1] = float(t)
        last = t
    return sessions


def finished_step(config: dict, run: Path) -> int:
    """The last step of a run that reached the config's last step and exported a model within
    the 25 MB budget; ``SystemExit`` naming the problem otherwise."""
    model = run / "model" / "model.safetensors"
    found = latest_checkpoint(run / "checkpoints")
    if found is None or not model.is_file():
        raise SystemExit(f"{run} holds no finished run (no model/ or no checkpoint)")
    step = int(found[1]["step"])
    if step < config["train"]["steps"]:
        raise SystemExit(f"{run} stopped at step {step} of {config['train']['steps']}")
    if model.stat().st_size > 25_000_000:
        raise SystemExit(f"model.safetensors is {model.stat().st_size:,} bytes: over the 25 MB "
                         f"budget")
    return step


def write_slice(path: Path, examples: list[dict], accuracy: float) -> None:
    batch = collate(examples)
    arrays = {k: v.numpy().astype(np.int32) for k, v in batch.items()
              if k in ("token_ids", "segment_ids", "labels", "nsp_label")}
    arrays["accuracy"] = np.array(accuracy, dtype=np.float64)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, buf.getvalue())


def _hms(seconds: float) -> str:
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def _purpose(cfg_text: str, name: str) -> str:
    """The config's leading comment (``# NAME: what it is ...``) as a sentence."""
    lines = []
    for line in cfg_text.splitlines():
        if not line.startswith("#") or "Run from the repository root" in line:
            break
        lines.append(line.lstrip("# ").rstrip())
    text = " ".join(lines).strip()
    if text.startswith(f"{name}:"):
        text = text[len(name) + 1:].strip()
    text = re.sub(r"\s*\(issue 24\)\.?$", ".", text)
    return (text[:1].upper() + text[1:]) if text else ""


def card(config: dict, config_path: str, run: Path, rows: dict, info: dict, seen: tuple,
         sessions: list[float], commit: str, size: int, params: int, wall_note: str = ""
         ) -> str:
    name, tc, dc = config["name"], config["train"], config["data"]
    files = train_files(config)
    store = TokenStore(run / "data" / "train")
    examples, tokens, masked = seen
    whole = rows["whole validation shard"]
    sl = rows[info["slice_name"]]
    acc, uni = whole["model"]["val_mlm_acc"], whole["unigram"]
    masking = ("whole-word masking (jieba words, HMM off)" if dc["whole_word"]
               else "character masking (each token on its own)")
    objectives = " + ".join(f"{k} (weight {v})" for k, v in config["objectives"].items())
    nsp_line = ""
    if "val_nsp_acc" in whole["model"]:
        nsp_line = (f"| NSP accuracy (random next sentence, 1/2 negatives) | "
                    f"{whole['model']['val_nsp_acc']:.4f} | "
                    f"{sl['model'].get('val_nsp_acc', float('nan')):.4f} |\n")
    cfg_text = Path(config_path).read_text(encoding="utf-8")
    m = config["model"]
    heads = "MLM head (tied embeddings)" + (" and NSP head" if "nsp" in config["objectives"]
                                            else "")
    facts = "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in [
        ("architecture", f"{m['family']}, {m['num_hidden_layers']} layers x {m['hidden_size']} "
                         f"hidden, {m['num_attention_heads']} heads, FFN "
                         f"{m['intermediate_size']}, length {dc['max_length']}; {heads}"),
        ("parameters", f"{params:,} ({size / 1e6:.1f} MB in float16 safetensors)"),
        ("vocabulary", f"{store.meta['vocab_size']:,} tokens: the Google Chinese BERT vocab "
                       f"simplified as bert4keras does (`load_vocab(simplified=True)`: "
                       f"redundant multi-character CJK tokens dropped)"),
        ("objectives", f"{objectives}; {masking}, rate {dc['mask_rate']}, 80/10/10"),
        ("data", f"`../shared/data/pretrain_zh/` training shards "
                 f"{', '.join(Path(f).name for f in files)}: {store.meta['tokens']:,} tokens in "
                 f"{store.meta['documents']:,} documents (sources and terms in that folder's "
                 f"README)"),
        ("training", f"{tc['steps']:,} steps of batch {tc['batch_size']}, AdamW lr {tc['lr']} "
                     f"(warm-up {tc['warmup_steps']} steps, then linear decay to "
                     f"{tc['final_lr']}), weight decay {tc['weight_decay']}, clip "
                     f"{tc['clip_grad_norm']}, seed {tc['seed']}, {tc['precision']}"),
        ("seen", f"{examples:,} sequences, {tokens:,} tokens "
                 f"({tokens / store.meta['tokens']:.2f} passes over the training shards), "
                 f"{masked:,} masked positions"),
        ("wall time", f"{_hms(sum(sessions))} of training in {len(sessions)} session(s) "
                      f"(plus the one-off tokenisation), on a 2-core CPU shared with other "
                      f"work, so an upper bound{'; ' + wall_note if wall_note else ''}"),
        ("machine", f"2-core x86-64 CPU, torch {torch.__version__}, {tc['threads']} threads"),
        ("code", f"kexue commit `{commit}` shipped this model"),
    ])
    head = (f"| metric | whole validation shard ({whole['examples']:,} examples, "
            f"{whole['masked']:,} masked) | fixed slice: {info['slice_name']} "
            f"({sl['masked']:,} masked) |")
    s0 = (whole["step 0"]["val_mlm_acc"], sl["step 0"]["val_mlm_acc"])
    if name == "kexue-mini-zh":
        role = "It is the default checkpoint of kexue's recipes and of `make demo`."
    else:
        role = _purpose(cfg_text, name)
    return f"""# {name}

kexue's own small Chinese {config['model']['family']} model, pretrained from scratch on this
project's 2-core CPU (issue 24). {role} Load it with:

```python
import kexue
from kexue.models import build_transformer_model

model = build_transformer_model(checkpoint_path=kexue.assets.path("{name}"),
                                with_mlm=True, with_nsp=True)
```

{facts}

## Held-out metrics

Validation shard `../shared/data/pretrain_zh/valid.txt.gz` (never trained on), examples built
by the same pipeline with a fixed seed (12345, store order). Masked-token accuracy = the share
of masked positions whose argmax prediction is the original token. The unigram guess always
predicts the most frequent ordinary token of the training data ({info['guess']!r}); step 0 is
the same architecture freshly initialised with the config's seed.

{head}
|---|---:|---:|
| masked-token accuracy, this model | {acc:.4f} | {sl['model']['val_mlm_acc']:.4f} |
| masked-token accuracy, step 0 | {s0[0]:.4f} | {s0[1]:.4f} |
| masked-token accuracy, unigram guess | {uni:.4f} | {sl['unigram']:.4f} |
{nsp_line}
This model reaches {acc / max(uni, 1e-12):.1f}x the unigram guess on the whole shard (the
issue's floor: at least 20 % and at least 3x). `tests/pretrain/test_shipped.py` loads this
directory strictly and recomputes the fixed slice's accuracy from the inputs stored in
`tests/pretrain/data/{name}-slice.npz`.

## Reproduce

From the repository root (the config's relative paths are relative to it); the same command
again resumes an interrupted run at the exact next batch:

```bash
python -m kexue pretrain --config {config_path} --run-dir runs/{name}
python experiments/pretrain_ship.py --config {config_path} --run-dir runs/{name} --record
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
    ap.add_argument("--wall-note", default="",
                    help="added to the card's wall-time row (e.g. a session missing from the log)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config(args.config)
    if "lm" in config["objectives"]:
        raise SystemExit("causal-LM runs are shipped by experiments/pretrain_ship_gpt.py")
    name = config["name"]
    run = Path(args.run_dir)
    model_dir = run / "model"
    step = finished_step(config, run)
    t0 = time.time()
    rows, info = measure(config, run, model_dir)
    print(f"evaluated in {time.time() - t0:.0f} s")
    seen = tokens_seen(config, run, step)
    sessions = session_times(run / "train.log") if (run / "train.log").exists() else []
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=REPO).stdout.strip()
    size = (model_dir / "model.safetensors").stat().st_size
    from safetensors.torch import load_file

    params = sum(t.numel() for t in load_file(model_dir / "model.safetensors").values())
    slice_acc = rows[info["slice_name"]]["model"]["val_mlm_acc"]
    write_slice(REPO / "tests" / "pretrain" / "data" / f"{name}-slice.npz", info["slice"],
                slice_acc)
    text = card(config, args.config, run, rows, info, seen, sessions, commit, size, params,
                args.wall_note)
    with atomic_directory(REPO / "kexue" / "assets" / name, overwrite=True) as tmp:
        for f in MODEL_FILES:
            shutil.copyfile(model_dir / f, Path(tmp) / f)
        (Path(tmp) / "README.md").write_text(text, encoding="utf-8")
    print(text)
    if args.record:
        from kexue.recipes.records import write_records

        common = {"data": "shared/data/pretrain_zh/train-*.txt.gz", "split": "train",
                  "command": f"python experiments/pretrain_ship.py --config {args.config} "
                             f"--run-dir {args.run_dir} --record"
                             + (f' --wall-note "{args.wall_note}"' if args.wall_note else ""),
                  "commit": commit, "date": datetime.date.today().isoformat(),
                  "machine": "2-core CPU"}
        recs = [{"claim": f"{name} training: tokens seen", "value": seen[1], "unit": "tokens",
                 "notes": f"{seen[0]} sequences, {step} steps", **common},
                {"claim": f"{name} training: wall time", "value": round(sum(sessions) / 60, 1),
                 "unit": "min", "notes": f"{len(sessions)} session(s) in the log, on a shared "
                                         f"2-core CPU (an upper bound)"
                                         + (f"; {args.wall_note}" if args.wall_note else ""),
                 **common}]
        for part, r in rows.items():
            for who, value in (("model", r["model"]["val_mlm_acc"]),
                               ("step 0", r["step 0"]["val_mlm_acc"]),
                               ("unigram guess", r["unigram"])):
                recs.append({"claim": f"{name} masked-token accuracy, {who}, {part}",
                             "value": round(value, 5), "unit": "fraction",
                             "notes": f"{r['masked']} masked tokens in {r['examples']} examples",
                             **{**common, "data": "shared/data/pretrain_zh/valid.txt.gz",
                                "split": "valid"}})
        out = REPO / "results" / "pretraining.jsonl"
        # a rerun of the same command replaces its earlier records
        write_records(out, recs, recs[0]["command"], recs[0]["commit"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
