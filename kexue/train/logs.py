"""Logging callbacks: a tqdm progress bar, a CSV log, and a PNG of the learning curves.

The log is ``trainer.history``: one row per optimizer step (``step``, ``epoch``, ``loss``,
``lr``) and one per evaluation (``step``, ``epoch`` and the metrics). It is saved in every
resumable checkpoint, so after a resume the log holds exactly the rows of an uninterrupted
run. Files are rewritten whole through the package's atomic writer (rank 0 only): a reader
never sees half a file.

:class:`TensorBoardLogger` writes the same rows as TensorBoard scalars. Its event files are
the one exception to the atomic writer: TensorBoard's format is an append-only log that the
reader follows while it grows, not an output replaced whole, and it holds no checkpoint state
(the history in the checkpoint is the record). A resume appends a new event file.
"""

from __future__ import annotations

import csv
import io
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from kexue.io.atomic import remove_stale_temps, write_bytes, write_text
from kexue.train.callbacks import Callback

__all__ = ["CSVLogger", "LearningCurves", "ProgressBar", "TensorBoardLogger", "history_to_csv",
           "plot_history"]


def history_to_csv(history: Sequence[Mapping[str, Any]]) -> str:
    """The history as CSV text: columns ``step``, ``epoch``, then every other key in order of
    first appearance; empty cells where a row lacks a key. Floats are written with ``repr``
    (round-trip exact)."""
    columns = ["step", "epoch"]
    for row in history:
        for k in row:
            if k not in columns:
                columns.append(k)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in history:
        w.writerow([repr(row[c]) if isinstance(row.get(c), float) else row.get(c, "")
                    for c in columns])
    return buf.getvalue()


class CSVLogger(Callback):
    """Write ``trainer.history`` to ``path`` at every epoch end, every resumable checkpoint
    and the end of training (and when training fails)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def write(self, trainer: Any) -> None:
        if not trainer.is_main:
            return
        trainer.flush_losses()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(self.path)
        write_text(self.path, history_to_csv(trainer.history))

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        self.write(trainer)

    def on_checkpoint(self, trainer: Any, path: str) -> None:
        self.write(trainer)

    def on_train_end(self, trainer: Any) -> None:
        self.write(trainer)


class TensorBoardLogger(Callback):
    """Write ``trainer.history`` as TensorBoard scalars (rank 0): every key of a row except
    ``step``/``epoch`` (``loss``, ``lr``, ``grad_norm`` and the metrics) under its own tag,
    at the row's ``step``. Needs the ``tensorboard`` package (``tensorboard`` extra).

    Rows are written as they reach the history (losses every ``log_every`` steps, metrics
    when evaluated) and the file is flushed at every checkpoint and at the end. TensorBoard
    stores scalars as float32, so the values read back equal the CSV's rounded to float32.

    Event files are append-only logs, not outputs replaced atomically (the one exception to
    :mod:`kexue.io.atomic` in the package): they are not checkpoint state. Each run opens a
    new event file in ``log_dir`` that starts with a purge marker at step 0 and then holds
    the whole history, so after a resume (which restores the history of the checkpoint)
    TensorBoard shows exactly the resumed run's rows, without the steps a killed run logged
    after its last checkpoint. Two runs started in the same second by different processes
    may be ordered by process id instead of time: use a new ``log_dir`` per run.
    """

    def __init__(self, log_dir: str | os.PathLike, *, flush_secs: int = 30) -> None:
        self.log_dir = Path(log_dir)
        self.flush_secs = flush_secs
        self.writer: Any = None
        self._written = 0

    def on_train_begin(self, trainer: Any) -> None:
        if not trainer.is_main:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:
            raise ImportError("TensorBoardLogger needs the tensorboard package (pip install "
                              "'kexue[tensorboard]')") from e
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.writer = SummaryWriter(str(self.log_dir), purge_step=0,
                                    flush_secs=self.flush_secs)
        self._written = 0
        self._write_new(trainer)

    def _write_new(self, trainer: Any) -> None:
        if self.writer is None:
            return
        rows = trainer.history
        for row in rows[self._written:]:
            for k, v in row.items():
                if k not in ("step", "epoch") and isinstance(v, int | float):
                    self.writer.add_scalar(k, v, global_step=row["step"])
        self._written = len(rows)

    def on_batch_end(self, trainer: Any, step: int, logs: dict[str, Any]) -> None:
        if self.writer is not None and len(trainer.history) > self._written:
            self._write_new(trainer)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        self._write_new(trainer)

    def on_checkpoint(self, trainer: Any, path: str) -> None:
        if self.writer is not None:
            self._write_new(trainer)
            self.writer.flush()

    def on_train_end(self, trainer: Any) -> None:
        if self.writer is not None:
            trainer.flush_losses()
            self._write_new(trainer)
            self.writer.close()
            self.writer = None


def plot_history(history: Sequence[Mapping[str, Any]], path: str | os.PathLike, *,
                 title: str | None = None, smooth: int = 20) -> None:
    """Plot the training loss (raw and a ``smooth``-step moving mean) and every evaluated
    metric against the step, as a PNG written atomically. Needs matplotlib (``bench`` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in history if "loss" in r]
    losses = [r["loss"] for r in history if "loss" in r]
    metrics = []
    for r in history:
        for k in r:
            if k not in ("step", "epoch", "loss", "lr") and k not in metrics:
                metrics.append(k)
    fig, axes = plt.subplots(1, 1 + bool(metrics), figsize=(10 if metrics else 5, 3.6))
    axes = list(axes) if metrics else [axes]
    ax = axes[0]
    ax.plot(steps, losses, color="0.75", linewidth=0.6, label="loss")
    if len(losses) >= smooth > 1:
        run, sm = 0.0, []
        for i, v in enumerate(losses):
            run += v - (losses[i - smooth] if i >= smooth else 0.0)
            sm.append(run / min(i + 1, smooth))
        ax.plot(steps, sm, color="C0", label=f"loss ({smooth}-step mean)")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.legend()
    if metrics:
        ax = axes[1]
        for k in metrics:
            pts = [(r["step"], r[k]) for r in history if k in r]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=k)
        ax.set_xlabel("step")
        ax.set_ylabel("metric")
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    remove_stale_temps(path)
    write_bytes(path, buf.getvalue())


class LearningCurves(Callback):
    """Save a PNG of the learning curves (:func:`plot_history`) when training ends. Without
    matplotlib it warns and does nothing (plotting is optional)."""

    def __init__(self, path: str | os.PathLike, *, title: str | None = None) -> None:
        self.path = Path(path)
        self.title = title

    def on_train_end(self, trainer: Any) -> None:
        if not trainer.is_main:
            return
        trainer.flush_losses()
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            warnings.warn("matplotlib is not installed: no learning-curve PNG (pip install "
                          "matplotlib)", RuntimeWarning, stacklevel=2)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        plot_history(trainer.history, self.path, title=self.title)


class ProgressBar(Callback):
    """A tqdm bar per epoch with the loss, the lr, the latest metrics and examples per
    second (rank 0). The loss shown is refreshed when the trainer syncs its losses
    (``log_every`` steps), so the bar adds no device syncs. ``tqdm_kwargs`` go to ``tqdm``
    (default ``mininterval=1.0``: redrawing costs more than a small model's step)."""

    def __init__(self, **tqdm_kwargs: Any) -> None:
        tqdm_kwargs.setdefault("mininterval", 1.0)  # redraw at most once a second
        self.tqdm_kwargs = tqdm_kwargs
        self.bar: Any = None
        self._seen = 0
        self._t0 = 0.0

    def on_epoch_begin(self, trainer: Any, epoch: int) -> None:
        if not trainer.is_main:
            return
        total = trainer.steps_per_epoch
        self.bar = tqdm(total=total, initial=trainer.step_in_epoch, desc=f"epoch {epoch + 1}",
                        leave=True, **self.tqdm_kwargs)
        self._seen, self._t0 = 0, time.perf_counter()

    def on_batch_end(self, trainer: Any, step: int, logs: dict[str, Any]) -> None:
        if self.bar is None:
            return
        self._seen += logs.get("examples", 0)
        self.bar.update()
        if trainer.last_logged is not None and (step + 1) % trainer.log_every == 0:
            self._postfix(trainer)

    def _postfix(self, trainer: Any) -> None:
        row = dict(trainer.last_logged or {})
        post = {k: f"{v:.4g}" for k, v in row.items() if k not in ("step", "epoch")}
        post.update({k: f"{v:.4g}" for k, v in trainer.last_metrics.items()})
        dt = time.perf_counter() - self._t0
        if dt > 0:
            post["ex/s"] = f"{self._seen / dt:.1f}"
        self.bar.set_postfix(post, refresh=False)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        if self.bar is not None:
            self._postfix(trainer)
            self.bar.close()
            self.bar = None

    def on_train_end(self, trainer: Any) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
