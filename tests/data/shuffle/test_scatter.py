"""Phase 1 (scatter): lines longer than the staging buffer take their own path (one label,
written straight from the block); the shuffle stays exactly uniform through it."""

from __future__ import annotations

import io
import itertools

import numpy as np
from scipy import stats

from kexue.data import shuffle_files
from kexue.data.shuffle import LINE_OVERHEAD

# The scatter's staging buffer is budget / 8, but never below 64 KiB: lines of 66 KiB are
# longer than it at any budget used here, so each is labelled and written on its own.
LONG = 66 * 1024
STAGING_MIN = 64 * 1024

# Short and long lines interleaved: runs of short lines and single long lines alternate, both
# in the first scatter and in the second scatter of a bucket. (With long lines only, any bias
# of the bucket choice that treats every line alike would still give uniform orders: the test
# needs lines that take the other path to compare with.)
LINES = [b"a", b"C" * LONG, b"b", b"D" * (LONG + 7)]


def test_lines_longer_than_the_staging_buffer_are_shuffled_uniformly(tmp_path):
    """960 seeds (40 per order), fixed: chi-square of the 24 order counts against uniform must
    not reject at p = 1e-3 (a correct shuffle fails this one time in a thousand; the seeds are
    fixed, so the outcome is deterministic). The budget fits about one long line, so every run
    takes the external path and most split a bucket again (a second scatter of long lines);
    three buckets per pass, so a bucket the long lines avoid would skew the orders visibly."""
    lines = LINES
    assert all(len(x) + 1 > STAGING_MIN for x in lines if len(x) > 1)
    src = tmp_path / "in.txt"
    src.write_bytes(b"".join(x + b"\n" for x in lines))
    budget = LONG + 16 * LINE_OVERHEAD + 200
    index = {p: i for i, p in enumerate(itertools.permutations(x[:1] for x in lines))}
    counts = np.zeros(len(index), dtype=np.int64)
    deep = 0
    for seed in range(960):
        out = io.BytesIO()
        report = shuffle_files([src], out, memory=budget, seed=seed, tmpdir=tmp_path,
                               max_open_files=3)
        assert report.external
        deep = max(deep, report.passes)
        got = out.getvalue().split(b"\n")[:-1]
        assert sorted(got) == sorted(lines)  # every line whole, none lost
        counts[index[tuple(x[:1] for x in got)]] += 1
    assert deep >= 2
    assert (counts > 0).all(), counts
    p = stats.chisquare(counts).pvalue
    assert p > 1e-3, f"chi-square rejects uniformity (p={p:.2e}): {counts}"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["in.txt"], "temporary files left"
