"""sequence_padding, PadCollate, the batch samplers, text_segmentate, parallel_apply."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kexue.data import (
    LengthBucketSampler,
    PadCollate,
    ShuffledBatchSampler,
    parallel_apply,
    sequence_padding,
    text_segmentate,
)


def _reference_pad(items, length, value, mode, truncating):
    """A plain-Python reference for 1-D items."""
    out = []
    for x in items:
        x = list(x)
        if len(x) > length:
            x = x[:length] if truncating == "post" else x[len(x) - length:]
        pad = [value] * (length - len(x))
        out.append(x + pad if mode == "post" else pad + x)
    return np.array(out)


@pytest.mark.parametrize("mode", ["post", "pre"])
@pytest.mark.parametrize("truncating", ["post", "pre"])
@pytest.mark.parametrize("length", [None, 2, 5])
def test_sequence_padding_1d_matches_reference(mode, truncating, length):
    items = [[1, 2, 3], [4], [5, 6, 7, 8], []]
    want = _reference_pad(items, length or 4, -1, mode, truncating)
    got = sequence_padding(items, length, -1, mode=mode, truncating=truncating)
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, want)


def test_sequence_padding_axes_and_tensors():
    a, b = np.ones((2, 3)), np.full((4, 1), 2.0)
    got = sequence_padding([a, b], axis=(0, 1))
    assert got.shape == (2, 4, 3)
    np.testing.assert_array_equal(got[1, :, 0], [2, 2, 2, 2])
    assert got[1, :, 1:].sum() == 0 and got[0, 2:].sum() == 0
    # pad the last axis of (rows, features) items; other axes must match
    got = sequence_padding([np.ones((2, 3)), np.ones((2, 5))], axis=-1, mode="pre")
    assert got.shape == (2, 2, 5) and got[0, :, :2].sum() == 0
    with pytest.raises(ValueError, match="item 1 has shape \\(3, 5\\).*axis 0 is not padded"):
        sequence_padding([np.ones((2, 3)), np.ones((3, 5))], axis=-1)
    t = sequence_padding([torch.tensor([1, 2]), torch.tensor([3])], value=9)
    assert isinstance(t, torch.Tensor) and t.tolist() == [[1, 2], [3, 9]]
    with pytest.raises(ValueError, match="item 1 has 2 dimensions"):
        sequence_padding([[1, 2], [[1], [2]]])
    with pytest.raises(ValueError, match="ragged"):
        sequence_padding([[1, 2], [[1, 2], [3]]])
    with pytest.raises(ValueError, match="mode"):
        sequence_padding([[1]], mode="left")


def test_pad_collate_builds_the_key_mask():
    collate = PadCollate({"labels": -100})
    batch = collate([{"token_ids": [2, 5, 3], "segment_ids": [0, 0, 0], "labels": [1, 1, 1],
                      "y": 1},
                     {"token_ids": [2, 3], "segment_ids": [0, 0], "labels": [0, 0], "y": 0}])
    assert batch["token_ids"].tolist() == [[2, 5, 3], [2, 3, 0]]
    assert batch["labels"].tolist() == [[1, 1, 1], [0, 0, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["y"].tolist() == [1, 0] and batch["y"].dtype == torch.int64
    left = PadCollate(mode="pre", length=4)([{"token_ids": [7, 8]}, {"token_ids": [1, 2, 3]}])
    assert left["token_ids"].tolist() == [[0, 0, 7, 8], [0, 1, 2, 3]]
    assert left["attention_mask"].tolist() == [[0, 0, 1, 1], [0, 1, 1, 1]]
    tup = PadCollate()([([1, 2], 0.5), ([3], 1.5)])
    assert tup[0].tolist() == [[1, 2], [3, 0]] and tup[1].dtype == torch.float32


def test_pad_collate_refuses_ragged_batches():
    collate = PadCollate()
    with pytest.raises(ValueError, match="example 1 has fields"):
        collate([{"token_ids": [1]}, {"ids": [1]}])
    with pytest.raises(ValueError, match="field 'y': example 1 holds a sequence"):
        collate([{"token_ids": [1], "y": 1}, {"token_ids": [1], "y": [1, 2]}])
    with pytest.raises(ValueError, match="field 'token_ids': item 1"):
        collate([{"token_ids": [[1, 2], [3, 4]]}, {"token_ids": [[1, 2, 3]]}])
    with pytest.raises(ValueError, match="empty batch"):
        collate([])


def test_shuffled_batches_cover_each_epoch_and_resume():
    s = ShuffledBatchSampler(23, 5, seed=1)
    assert len(s) == 5
    e0, e1 = s.batches(0), s.batches(1)
    assert sorted(sum(e0, [])) == list(range(23)) and e0 != e1
    s.set_epoch(1, start=2)
    assert list(s) == e1[2:]
    s2 = ShuffledBatchSampler(23, 5, seed=1)
    s2.load_state_dict(s.state_dict())
    assert list(s2) == e1[2:]
    assert len(ShuffledBatchSampler(23, 5, drop_last=True)) == 4
    assert ShuffledBatchSampler(4, 2, shuffle=False).batches(0) == [[0, 1], [2, 3]]


def test_length_buckets_cut_padding():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 200, size=1000).tolist()
    plain = ShuffledBatchSampler(1000, 16, seed=0).batches(0)
    bucketed = LengthBucketSampler(lengths, 16, window=50, seed=0).batches(0)
    assert sorted(sum(bucketed, [])) == list(range(1000))
    assert len(bucketed) == len(plain) == 63

    def padded(batches):
        return sum(len(b) * max(lengths[i] for i in b) for b in batches)

    assert padded(bucketed) < 0.6 * padded(plain)
    assert bucketed != LengthBucketSampler(lengths, 16, window=50, seed=0).batches(1)


def test_text_segmentate():
    text = "今天天气很好。我们去公园吧！好的。"
    assert text_segmentate(text, 8, "。！") == ["今天天气很好。", "我们去公园吧！", "好的。"]
    assert text_segmentate(text, 100, "。") == [text]
    long = "甲乙丙，丁戊己。庚辛壬，癸子丑。"
    pieces = text_segmentate(long, 5, "。，")
    assert pieces == ["甲乙丙，", "丁戊己。", "庚辛壬，", "癸子丑。"]
    assert "".join(pieces) == long
    assert text_segmentate("abcdefgh", 3, "，") == ["abcdefgh"]  # no separator: uncut
    merged = text_segmentate("a,b,c,d,e,f", 4, ",")
    assert all(len(p) <= 4 for p in merged) and "".join(merged) == "a,b,c,d,e,f"


def _square(x: int) -> int:
    return x * x


def test_parallel_apply_is_ordered():
    items = list(range(50))
    assert parallel_apply(_square, items, 2, chunksize=3) == [x * x for x in items]
    assert parallel_apply(_square, items, 1) == [x * x for x in items]
    assert sorted(parallel_apply(_square, items, 2, ordered=False, backend="thread")) == sorted(
        x * x for x in items)
    with pytest.raises(ValueError, match="workers"):
        parallel_apply(_square, items, 0)
