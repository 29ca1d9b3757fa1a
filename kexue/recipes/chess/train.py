"""Training the chess LM with ``kexue.train.fit`` and the article's length curriculum.

The article (https://kexue.fm/archives/7877) trains on the first ``512 / n + 1`` tokens of
each game with ``n = 8, 4, 2, 1`` switching at 20k, 40k and 80k batches: openings first
(16 moves), then 32, 64 and 128 moves. :data:`CPU_CURRICULUM` keeps the shape scaled down to
what one shared CPU core affords (switches at 600 and 1,000 steps, ending at 64 moves after 1,250).
The curriculum is a function of the optimizer step, so a resumed run continues with the
right length. Checkpoints (resumable, every ``checkpoint_every`` steps) go to
``RUN_DIR/checkpoints``; the final weights to ``RUN_DIR/model`` (HF format).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import torch

from kexue.data import PadCollate
from kexue.models.saving import save_pretrained
from kexue.recipes.chess.model import VOCAB, build_model, encode, lm_loss, trim_positions
from kexue.train import Callback, fit

__all__ = ["export", "ARTICLE_CURRICULUM", "CPU_CURRICULUM", "CurriculumCollate", "Curriculum",
           "parse_curriculum", "train", "dev_slice", "trained_positions"]

#: (first step, n): train on the first 512 / n + 1 tokens
ARTICLE_CURRICULUM = ((0, 8), (20_000, 4), (40_000, 2), (80_000, 1))
CPU_CURRICULUM = ((0, 8), (600, 4), (1_000, 2))


def parse_curriculum(text: str) -> tuple[tuple[int, int], ...]:
    """``"0:8,1000:4,1600:2"`` -> ``((0, 8), (1000, 4), (1600, 2))``."""
    try:
        stages = tuple((int(a), int(b)) for a, b in (p.split(":") for p in text.split(",")))
    except ValueError:
        raise ValueError(f"curriculum must look like 0:8,1000:4,1600:2, got {text!r}") from None
    if not stages or stages[0][0] != 0 or any(b[0] <= a[0] for a, b in zip(stages, stages[1:])):
        raise ValueError(f"curriculum {text!r}: steps must start at 0 and increase")
    if any(n < 1 or 512 % n for _, n in stages):
        raise ValueError(f"curriculum {text!r}: each n must divide 512")
    return stages


def _length(stages: Sequence[tuple[int, int]], step: int) -> int:
    n = [n for start, n in stages if step >= start][-1]
    return 512 // n + 1


def trained_positions(stages: Sequence[tuple[int, int]], steps: int) -> int:
    """Input positions a run of ``steps`` steps has trained: the last stage's length minus
    one (the last token of a sequence is only ever a target)."""
    return max(_length(stages, start) for start, _ in stages if start < max(steps, 1)) - 1


class CurriculumCollate:
    """Cuts every game to the current length (the start token + ``512 / n`` characters),
    then pads the batch with :class:`kexue.data.PadCollate` (mask included)."""

    def __init__(self, stages: Sequence[tuple[int, int]]) -> None:
        self.stages = tuple(stages)
        self.length = _length(self.stages, 0)
        self.pad = PadCollate()

    def __call__(self, games: list[list[str]]) -> dict[str, torch.Tensor]:
        return self.pad([{"token_ids": encode(g)[: self.length]} for g in games])


class Curriculum(Callback):
    """Sets the collate's length from the optimizer step (so resuming keeps the schedule)."""

    def __init__(self, collate: CurriculumCollate) -> None:
        self.collate = collate

    def on_train_begin(self, trainer) -> None:
        self.collate.length = _length(self.collate.stages, trainer.step)

    def on_batch_begin(self, trainer, step: int) -> None:
        self.collate.length = _length(self.collate.stages, step)


def dev_slice(games: Sequence, size: int = 500) -> tuple[list, list]:
    """``(train, dev)``: a fixed slice of the training games held out for selection (the
    last ``size`` after a seeded shuffle)."""
    order = list(range(len(games)))
    random.Random(7877).shuffle(order)
    keep, dev = order[:-size], order[-size:]
    return [games[i] for i in keep], [games[i] for i in dev]


def train(games: Sequence[list[str]], run_dir: str | Path, *, steps: int = 1250,
          batch_size: int = 32, lr: float = 1e-3, warmup: int = 100,
          curriculum: Sequence[tuple[int, int]] = CPU_CURRICULUM, layers: int = 4,
          hidden: int = 128, heads: int = 4, checkpoint_every: int = 100, seed: int = 0,
          progress: bool = False) -> torch.nn.Module:
    """Train (or resume, same command) a chess GPT on ``games`` (ICCS move lists) and write
    the final model to ``run_dir/model``. Returns the model."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = build_model(layers=layers, hidden=hidden, heads=heads).train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.1, 1 - s / steps))
    collate = CurriculumCollate(curriculum)
    fit(model, lm_loss, list(games), optimizer=opt, scheduler=sched, collate_fn=collate,
        batch_size=batch_size, steps=steps, clip_grad_norm=1.0, callbacks=[Curriculum(collate)],
        checkpoint_dir=run_dir / "checkpoints", checkpoint_every=checkpoint_every,
        keep_checkpoints=1000, resume=True, seed=seed, log_every=10, progress=progress)
    model.eval()
    save_pretrained(trim_positions(model, trained_positions(curriculum, steps)),
                    run_dir / "model", vocab=VOCAB, overwrite=True)
    return model


def export(checkpoint: str | Path, out: str | Path, *, layers: int = 4, hidden: int = 128,
           heads: int = 4, curriculum: Sequence[tuple[int, int]] = CPU_CURRICULUM) -> int:
    """Write the model weights of a training checkpoint (``ckpt-*.kexue``, or the newest in
    a directory) as an HF-format directory ``out``, trimmed to the positions ``curriculum``
    had trained by that step; returns the checkpoint's step."""
    from kexue.train import CheckpointError, latest_checkpoint, load_checkpoint

    path = Path(checkpoint)
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise CheckpointError(f"no checkpoint in {path}")
        state = found[1]
    else:
        state = load_checkpoint(path)
    model = build_model(layers=layers, hidden=hidden, heads=heads)
    model.load_state_dict(state["model"])
    model = trim_positions(model.eval(), trained_positions(curriculum, int(state["step"])))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    save_pretrained(model, out, vocab=VOCAB, overwrite=True)
    return int(state["step"])
