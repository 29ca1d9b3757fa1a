"""Perturbed Masking: the batched matrices equal a brute-force loop over transformers'
BertModel; segmentation and trees on planted structures."""

import pytest
import torch

from kexue.prompting.perturbed import (
    BertSegmenter,
    adjacent_impact,
    impact_matrix,
    otsu_threshold,
    parse_tree,
    relatedness,
    segment,
    span_impact,
)
from tests.prompting.conftest import ids

ROW = ids("[CLS]", "这", "个", "东", "西", "很", "好", "[SEP]")
MASK = ids("[MASK]")[0]


def hf_hidden(hf_encoder, row):
    x = torch.tensor([row])
    with torch.no_grad():
        return hf_encoder(input_ids=x, token_type_ids=torch.zeros_like(x)).last_hidden_state[0]


def masked(row, *positions):
    row = list(row)
    for p in positions:
        row[p] = MASK
    return row


def test_impact_matrix_equals_the_brute_force_loop(tiny, hf_encoder):
    model, _ = tiny
    F = impact_matrix(model, ROW, MASK, batch_size=7)
    L = len(ROW) - 2
    want = torch.zeros(L, L, dtype=torch.float64)
    for i in range(1, L + 1):
        h_i = hf_hidden(hf_encoder, masked(ROW, i))[i]
        for j in range(1, L + 1):
            if j != i:
                want[i - 1, j - 1] = (h_i - hf_hidden(hf_encoder, masked(ROW, i, j))[i]).norm()
    torch.testing.assert_close(F, want)
    adj = adjacent_impact(model, ROW, MASK, batch_size=4)
    idx = torch.arange(L - 1)
    torch.testing.assert_close(adj[:, 0], F[idx, idx + 1])
    torch.testing.assert_close(adj[:, 1], F[idx + 1, idx])


def test_span_impact_equals_the_brute_force_loop(tiny, hf_encoder):
    model, _ = tiny
    spans = [(1, 3), (3, 5), (5, 6), (6, 7)]
    F = span_impact(model, ROW, spans, MASK, batch_size=3)
    for i, (a, b) in enumerate(spans):
        alone = hf_hidden(hf_encoder, masked(ROW, *range(a, b)))[a:b].mean(0)
        for j, (c, d) in enumerate(spans):
            want = 0.0 if i == j else float((alone - hf_hidden(
                hf_encoder, masked(ROW, *range(a, b), *range(c, d)))[a:b].mean(0)).norm())
            assert F[i, j].item() == pytest.approx(want, abs=1e-10)
    with pytest.raises(ValueError, match="not inside"):
        span_impact(model, ROW, [(0, 2)], MASK)


def planted(blocks, n, strength):
    F = torch.ones(n, n)
    for (a, b), value in zip(blocks, strength):
        F[a:b, a:b] = value
    return F.fill_diagonal_(0.0)


def test_parse_tree_recovers_a_planted_block_structure():
    # words 0-3 form one block (inside it 0-1 and 2-3 tighter still), 4-6 another
    F = planted([(0, 4), (4, 7), (0, 2), (2, 4)], 7, [5.0, 6.0, 9.0, 9.0])
    words = list("abcdefg")
    # top split at k = 4 (the right block headed by its first word), then k = 2 inside abcd
    assert parse_tree(F, words) == [[["a", ["b"]], ["c", ["d"]]], ["e", ["f", ["g"]]]]
    # moving the boundary moves the split
    F = planted([(0, 2), (2, 7)], 7, [5.0, 6.0])
    assert parse_tree(F, words)[1][0] == "c"
    # asymmetric impacts: the cross-block terms decide (within-block means alone, or one
    # cross term with the wrong sign, would split at k = 2); worked out by hand from the formula
    F = torch.tensor([[0, 3, 4, 3], [2, 0, 7, 7], [9, 5, 0, 9], [5, 8, 6, 0]])
    assert parse_tree(F, list("abcd")) == [["a"], ["b", ["c", ["d"]]]]
    assert parse_tree(torch.zeros(1, 1), ["a"]) == ["a"]
    assert parse_tree(torch.zeros(2, 2), ["a", "b"]) == ["a", ["b"]]
    with pytest.raises(ValueError, match="must be 2 x 2"):
        parse_tree(torch.zeros(3, 3), ["a", "b"])


def test_segment_and_the_data_driven_threshold():
    assert segment(list("abcde"), [9.0, 1.0, 8.0, 2.0], 5.0) == ["ab", "cde"[:2], "e"]
    values = [1.0, 1.2, 0.8, 1.1, 7.0, 7.5, 6.8]
    t = otsu_threshold(values)
    assert 1.2 < t < 6.8
    with pytest.raises(ValueError, match="4 relatedness"):
        segment(list("abcde"), [1.0], 0.5)


def test_segmenter_pieces_join_to_the_text_and_windows_cut(tiny):
    model, tok = tiny
    seg = BertSegmenter(model, tok, maxlen=6)
    text = "这个 东西X很好"  # a space and a character the vocabulary lacks ([UNK])
    ids_, pieces = seg.pieces(text)
    assert "".join(pieces) == "这个东西X很好" and len(ids_) == len(pieces)
    pieces, r = seg.relatedness(text)
    assert len(r) == len(pieces) - 1 and torch.isnan(r[3])  # window of 4 tokens
    assert "".join(seg.cut(text, float("-inf"))) == "这个东西X很好"
    assert seg.cut(text, float("-inf")) == ["这个东西", "X很好"]
    assert len(seg.cut(text, float("inf"))) == 7
    # relatedness is the mean of both directions
    adj = adjacent_impact(model, ROW, MASK)
    torch.testing.assert_close(relatedness(adj), (adj[:, 0] + adj[:, 1]) / 2)
