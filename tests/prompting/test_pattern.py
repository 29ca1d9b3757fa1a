import pytest

from kexue.prompting import Pattern
from tests.prompting.conftest import ids


def test_prefix_pattern_places_the_masks_before_the_text(tiny):
    _, tok = tiny
    p = Pattern("{mask}满意。{text}")
    assert p.position == "prefix"
    enc = p.encode(tok, "这个好", n_masks=1, maxlen=24)
    assert enc.token_ids == ids("[CLS]", "[MASK]", "满", "意", "。", "这", "个", "好", "[SEP]")
    assert enc.mask_positions == [1]
    assert enc.segment_ids == [0] * 9


def test_suffix_and_pair_patterns(tiny):
    _, tok = tiny
    assert Pattern("{text}{mask}满意。").position == "suffix"
    p = Pattern("{text}？{mask}，{pair}")
    enc = p.encode(tok, "好", "差", n_masks=2, maxlen=24)
    assert enc.token_ids == ids("[CLS]", "好", "？", "[MASK]", "[MASK]", "，", "差", "[SEP]")
    assert enc.mask_positions == [3, 4]
    with pytest.raises(ValueError, match="needs a pair"):
        p.encode(tok, "好", n_masks=1, maxlen=24)


@pytest.mark.parametrize("template, message", [
    ("满意。{text}", "exactly one {mask}"),
    ("{mask}{mask}{text}", "exactly one {mask}"),
    ("{mask}满意。", "exactly one {text}"),
])
def test_a_pattern_without_one_mask_slot_is_an_error(template, message):
    with pytest.raises(ValueError, match=message):
        Pattern(template)


def test_a_mask_written_in_the_text_stays_text(tiny):
    _, tok = tiny
    enc = Pattern("{mask}{text}").encode(tok, "好[MASK]", n_masks=1, maxlen=24)
    assert enc.token_ids.count(tok.token_to_id("[MASK]")) == 1
    assert enc.mask_positions == [1]


def test_too_long_is_an_error_unless_truncated_and_the_prompt_survives(tiny):
    _, tok = tiny
    p = Pattern("{mask}满意。{text}")
    with pytest.raises(ValueError, match="more than maxlen=8"):
        p.encode(tok, "这个东西质量好", n_masks=1, maxlen=8)
    enc = p.encode(tok, "这个东西质量好", n_masks=1, maxlen=8, truncate=True)
    assert enc.token_ids == ids("[CLS]", "[MASK]", "满", "意", "。", "这", "个", "[SEP]")
    with pytest.raises(ValueError, match="the pattern .* needs 8 tokens"):
        Pattern("{mask}满意满意。{text}").encode(tok, "好", n_masks=1, maxlen=6, truncate=True)
