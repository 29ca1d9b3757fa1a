"""Logging callbacks: the TensorBoard scalars equal the CSV log, across a resume."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from kexue.train import TensorBoardLogger
from kexue.train.checkpoint import list_checkpoints
from tests.train._tiny import run_tiny


def _csv_series(path) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            for k, v in row.items():
                if k not in ("step", "epoch") and v != "":
                    out.setdefault(k, []).append((int(row["step"]), float(v)))
    return out


def test_tensorboard_scalars_equal_csv_log_after_resume(tmp_path):
    ea_mod = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    ckpt, tb = tmp_path / "ckpt", tmp_path / "tb"
    run_tiny(str(ckpt), steps=14, extra_callbacks=(TensorBoardLogger(tb),))
    # as if killed after step 14: drop the newest checkpoint, so the resume restarts from an
    # earlier step while the event file already holds rows after it
    newest = list_checkpoints(ckpt)[-1][1]
    newest.unlink()
    run_tiny(str(ckpt), steps=20, extra_callbacks=(TensorBoardLogger(tb),))
    want = _csv_series(ckpt / "log.csv")
    assert set(want) >= {"loss", "lr", "acc"}
    acc = ea_mod.EventAccumulator(str(tb), size_guidance={ea_mod.SCALARS: 0})
    acc.Reload()
    assert set(acc.Tags()["scalars"]) == set(want)
    for tag, rows in want.items():
        got = [(e.step, e.value) for e in acc.Scalars(tag)]
        assert [s for s, _ in got] == [s for s, _ in rows], tag
        np.testing.assert_array_equal(np.array([v for _, v in got], np.float32),
                                      np.array([v for _, v in rows], np.float32), err_msg=tag)
