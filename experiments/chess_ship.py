"""Ship a trained chess GPT as ``kexue/assets/kexue-xiangqi`` with its model card.

    python experiments/chess_ship.py --run-dir runs/chess/gpt-long \
        --curriculum 0:8,600:4,1000:2,1250:1 --earlier-run runs/chess/gpt

Refuses unless ``RUN_DIR/model`` was written by a finished run (the step of its newest
checkpoint), the evaluation records of that model are in ``results/chess.jsonl``
(``experiments/chess_eval.py --run-dir RUN_DIR``), and the directory fits the 25 MB budget.
The card's measured numbers are copied from those records and the run's own split counts
(``RUN_DIR/train.log``), never typed in. Wall time is the span between the first and last
checkpoint files' modification times (the steps before the first checkpoint are not counted),
so it says "between checkpoints".
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experiments.chess_common import RESULTS, commit  # noqa: E402
from kexue.io.atomic import atomic_directory  # noqa: E402
from kexue.recipes.chess.model import load_model  # noqa: E402
from kexue.recipes.chess.train import parse_curriculum, trained_positions  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NAME = "kexue-xiangqi"
BUDGET = 25 * 2**20


def checkpoint_minutes(run: Path) -> tuple[int, int, float]:
    """``(first step, last step, minutes between them)`` from the checkpoint files'
    modification times."""
    cks = sorted((run / "checkpoints").glob("ckpt-*.kexue"))
    if len(cks) < 2:
        raise SystemExit(f"{run}: fewer than two checkpoints, no wall time to read")
    steps = [int(c.stem.split("-")[1]) for c in cks]
    times = [c.stat().st_mtime for c in cks]
    return steps[0], steps[-1], (times[-1] - times[0]) / 60


def latest_records(run_dir: str) -> dict[str, dict]:
    """The newest record of each claim whose command names ``--run-dir run_dir``."""
    out: dict[str, dict] = {}
    for line in RESULTS.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if f"--run-dir {run_dir}" in rec.get("command", ""):
            out[rec["claim"]] = rec
    return out


def _row(name: str, res: dict) -> str:
    return (f"| {name} | {res['moves']} | {res['top1']:.1f} | {res['top5']:.1f} | "
            f"{res['perplexity']:.2f} |")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run-dir", required=True)
    p.add_argument("--curriculum", type=parse_curriculum, required=True)
    p.add_argument("--earlier-run", default=None,
                   help="the run this one continued from (its checkpoints give its wall time)")
    p.add_argument("--command", default=None, help="the training command(s), for the card")
    a = p.parse_args()
    run = Path(a.run_dir)
    model_dir = run / "model"
    model = load_model(model_dir)
    first, last, minutes = checkpoint_minutes(run)
    positions = trained_positions(a.curriculum, last)
    if model.config.max_position_embeddings != positions:
        raise SystemExit(f"{model_dir} has {model.config.max_position_embeddings} positions; "
                         f"a finished run of this curriculum has {positions}: export it again")
    recs = latest_records(a.run_dir)
    need = {k: f"next-move top-1 / top-5 accuracy and per-move perplexity over the legal "
               f"moves, {k}" for k in ("model", "book")}
    need["random"] = "match score of the model against a random mover (win 1, draw 1/2)"
    missing = [c for c in need.values() if c not in recs]
    if missing:
        raise SystemExit(f"run experiments/chess_eval.py --run-dir {a.run_dir} first; no "
                         f"record of: {missing}")
    size = sum(f.stat().st_size for f in model_dir.iterdir())
    if size > BUDGET:
        raise SystemExit(f"{model_dir} is {size / 2**20:.1f} MB, over the 25 MB budget")
    wall = f"{minutes:.0f} min for steps {first}-{last}"
    if a.earlier_run:
        f0, l0, m0 = checkpoint_minutes(Path(a.earlier_run))
        wall = (f"{m0 + minutes:.0f} min between checkpoints (steps {f0}-{l0} of the first "
                f"run, {first}-{last} of the continuation)")
    counts = json.loads((run / "train.log").read_text(encoding="utf-8").splitlines()[0])
    n_params = sum(t.numel() for t in model.parameters())
    c = model.config
    mdl, book, rnd = (recs[need["model"]], recs[need["book"]], recs[need["random"]])
    selfs = [r for k, r in recs.items() if k.startswith("match score of the final model")]
    stages = ", ".join(f"{512 // n} characters ({512 // n // 4} moves) from step {s}"
                       for s, n in a.curriculum)
    lines = [
        f"# {NAME}",
        "",
        "kexue's chess GPT (issue 16; https://kexue.fm/archives/7877, 用GPT玩中国象棋): a causal",
        "language model over ICCS move strings, trained here on a 2-core CPU. It plays only legal",
        "moves: every legal move of the position is scored by its 4 characters' log-probabilities",
        "and the best is played. Play it with `kexue chess play`; load it with",
        "`kexue.recipes.chess.model.load_model(kexue.assets.path(\"kexue-xiangqi\"))`.",
        "",
        "| | |",
        "|---|---|",
        f"| architecture | GPT-2 layout, {c.num_hidden_layers} layers x {c.hidden_size}, "
        f"{c.num_attention_heads} heads, {c.max_position_embeddings} positions (the ones its "
        "curriculum trained; the table was trimmed from 1,024) |",
        f"| parameters | {n_params:,} ({size / 2**20:.1f} MB, float32 safetensors) |",
        "| vocabulary | 20 tokens: `[PAD]` (also the start token), `0-9`, `a-i` |",
        f"| data | the training split of `docs/chess.md` (CONVENTIONS §4): "
        f"{counts['train_games']:,} CCPD games ({counts['train_plies']:,} plies) of "
        f"{counts['ccpd_records']:,} records, after dropping {counts['ccpd_duplicate']:,} "
        f"duplicates, {counts['ccpd_equal_to_report_game']:,} copies of Liu Dahua games, "
        f"{counts['ccpd_no_moves']:,} without moves, {counts['ccpd_nonstandard_start']:,} not "
        f"from the standard start and {counts['ccpd_rejected']:,} that do not replay; "
        f"{counts['fit_games']:,} to fit and {counts['dev_games']:,} held out for selection |",
        f"| training | {last:,} steps of batch 32, AdamW lr 1e-3 (100 warm-up steps, linear decay "
        f"to 0.1x), weight decay 0.01, clip 1.0, seed 0; curriculum: {stages} |",
        f"| wall time | about {wall}, on a 2-core CPU shared with a pretraining run, so an "
        "upper bound |",
        "| machine | 2-core x86-64 CPU, torch 2.13.0+cpu |",
        f"| code | kexue commit `{commit()}` shipped this model |",
        "",
        "## Held-out metrics",
        "",
        f"On `{mdl['data']}` (never trained on). Accuracy over the legal moves of each position,",
        "ties broken at random in expectation; the book is the most frequent move in this",
        "position in the training games (first 40 plies), add-one smoothed.",
        "",
        "| scorer, plies | moves | top-1 % | top-5 % | perplexity |",
        "|---|---:|---:|---:|---:|",
    ]
    for who, rec in (("model", mdl), ("book", book)):
        for phase, res in rec["value"].items():
            lines.append(_row(f"{who}, {phase}", res))
    lines += [
        "",
        f"Against a random mover: score **{rnd['value']}** ({rnd['notes'].split(';')[0]}; "
        f"{rnd['data']}; every game replayed legally by the `cchess` package).",
    ]
    for r in selfs:
        lines.append(f"{r['claim'][0].upper()}{r['claim'][1:]}: {r['value']} ({r['data']}).")
    lines += [
        "",
        "## Strength",
        "",
        "It plays the opening like a master's book and little else. It does not beat a random",
        "mover: most games run to the ply limit, and the model is sometimes mated, because it",
        "scores moves by how often masters played them, not by what they capture or threaten.",
        "The article (base-size RoBERTa, batch 16, at least 80,000 batches) reports the same",
        "character in a model roughly 100 times larger and 20 times longer trained: strong",
        "openings, weaker middle games, insensitive to captures. Its suggested next steps are",
        "training on winners' moves only, a position-evaluation classifier, and self-play.",
        "",
        "The model scores the played move against the legal moves only, so it never plays an",
        "illegal move; it has learnt openings well and the middle game much less. Past "
        f"{(positions - 1) // 4 - 1} moves of",
        "history the scorer keeps a window of the most recent moves, which the model never saw",
        "in training (its sequences always start at the opening).",
        "",
        "## Reproduce",
        "",
        "```bash",
        a.command or "kexue chess train --run-dir runs/chess/gpt-long --steps "
        f"{last} --curriculum " + ",".join(f"{s}:{n}" for s, n in a.curriculum),
        f"python experiments/chess_eval.py --model {model_dir} --run-dir {a.run_dir}",
        "```",
        "",
    ]
    with atomic_directory(REPO / "kexue" / "assets" / NAME, overwrite=True) as tmp:
        for f in ("config.json", "model.safetensors", "vocab.txt"):
            shutil.copyfile(model_dir / f, Path(tmp) / f)
        (Path(tmp) / "README.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"shipped {NAME}: {size / 2**20:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
