"""UCR/UEA ``.ts`` files (sktime/aeon format) and the fixed 20 % select split.

Format (``../shared/data/timeseries/README.md``): ``#`` comment lines, ``@`` keywords
(case-insensitive: ``@problemName``, ``@univariate``, ``@equalLength``, ``@classLabel true
A B ...`` or ``@targetLabel true``), then after ``@data`` one series a line,
``v1,v2,...,vn:label``. Only univariate files without time stamps or missing values are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kexue.io.lines import read_lines

__all__ = ["SeriesSet", "read_ts", "select_split", "resample"]


@dataclass
class SeriesSet:
    """The series of one file: ``values`` (one float64 array each), ``y`` (class indices into
    ``classes``, or float targets), ``task`` ``"classification"`` or ``"regression"``."""

    name: str
    values: list[np.ndarray]
    y: np.ndarray
    task: str
    classes: tuple[str, ...] = ()

    def subset(self, index: Sequence[int]) -> SeriesSet:
        return SeriesSet(self.name, [self.values[i] for i in index], self.y[list(index)],
                         self.task, self.classes)

    def __len__(self) -> int:
        return len(self.values)


def read_ts(path: str | Path) -> SeriesSet:
    """Read a univariate ``.ts`` file (plain or compressed by content).

    Raises ``ValueError`` naming the file and line for anything else: no ``@data``, no
    ``@classLabel``/``@targetLabel``, a multivariate file, a value that is not a number, a
    label not declared in the header, or no series at all.
    """
    name = str(path)
    problem, classes, task, in_data = Path(name).name, None, None, False
    values: list[np.ndarray] = []
    labels: list[str] = []
    for lineno, raw in enumerate(read_lines(path, name), 1):
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise ValueError(f"{name}:{lineno}: not UTF-8 text") from None
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise ValueError(f"{name}:{lineno}: expected a '@' keyword or '#' comment "
                                 f"before @data, got {line[:40]!r}")
            key, _, rest = line[1:].partition(" ")
            key, words = key.lower(), rest.split()
            if key == "problemname" and words:
                problem = words[0]
            elif key == "univariate" and words and words[0].lower() != "true":
                raise ValueError(f"{name}:{lineno}: multivariate files are not supported")
            elif key in ("timestamps", "missing") and words and words[0].lower() == "true":
                raise ValueError(f"{name}:{lineno}: @{key} true is not supported")
            elif key == "classlabel":
                if not words or words[0].lower() != "true" or len(words) < 3:
                    raise ValueError(f"{name}:{lineno}: @classLabel needs 'true' and at least "
                                     f"two class names")
                classes, task = tuple(words[1:]), "classification"
            elif key == "targetlabel":
                if not words or words[0].lower() != "true":
                    raise ValueError(f"{name}:{lineno}: @targetLabel false (no target) is not "
                                     f"supported")
                task = "regression"
            elif key == "data":
                if task is None:
                    raise ValueError(f"{name}:{lineno}: @data before @classLabel/@targetLabel: "
                                     f"the file declares no labels")
                in_data = True
            continue
        series, sep, label = line.rpartition(":")
        if not sep or ":" in series:
            raise ValueError(f"{name}:{lineno}: expected 'v1,v2,...:label' (one univariate "
                             f"series and its label)")
        try:
            arr = np.array([float(v) for v in series.split(",")], dtype=np.float64)
        except ValueError:
            raise ValueError(f"{name}:{lineno}: a value of the series is not a number") from None
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}:{lineno}: the series has a missing or infinite value")
        label = label.strip()
        if classes is not None and label not in classes:
            raise ValueError(f"{name}:{lineno}: label {label!r} is not among the classes "
                             f"{list(classes)} of @classLabel")
        values.append(arr)
        labels.append(label)
    if not in_data:
        raise ValueError(f"{name}: no @data line (not a .ts file?)")
    if not values:
        raise ValueError(f"{name}: holds no series")
    if task == "classification":
        assert classes is not None
        index = {c: i for i, c in enumerate(classes)}
        y = np.array([index[lab] for lab in labels], dtype=np.int64)
        return SeriesSet(problem, values, y, task, classes)
    try:
        y = np.array([float(lab) for lab in labels], dtype=np.float64)
    except ValueError:
        raise ValueError(f"{name}: a regression target is not a number") from None
    return SeriesSet(problem, values, y, "regression")


def select_split(data: SeriesSet, fraction: float = 0.2, seed: int = 0
                 ) -> tuple[list[int], list[int]]:
    """The fixed split of a train file: ``(fit_index, select_index)``, ``fraction`` of each
    class (of the whole set, for regression) chosen by a seeded permutation."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    groups = ([np.flatnonzero(data.y == c) for c in range(len(data.classes))]
              if data.task == "classification" else [np.arange(len(data))])
    chosen: list[int] = []
    for g in groups:
        if len(g) == 0:
            continue
        k = max(1, int(round(fraction * len(g)))) if len(g) > 1 else 0
        chosen += rng.permutation(g)[:k].tolist()
    sel = sorted(chosen)
    s = set(sel)
    fit = [i for i in range(len(data)) if i not in s]
    if not fit or not sel:
        raise ValueError(f"{data.name}: {len(data)} series are too few for a {fraction:.0%} "
                         f"select split")
    return fit, sel


def resample(values: Sequence[np.ndarray], length: int) -> np.ndarray:
    """Every series linearly interpolated to ``length`` points: ``(n, length)`` (for the
    fixed-length baselines on variable-length sets)."""
    out = np.empty((len(values), length))
    for i, v in enumerate(values):
        if len(v) == 1:
            out[i] = v[0]
        else:
            out[i] = np.interp(np.linspace(0, len(v) - 1, length), np.arange(len(v)), v)
    return out
