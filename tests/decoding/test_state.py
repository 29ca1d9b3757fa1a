"""Per-row decoding state: it follows beams and samples, hooks read and update it, end rows.

The toy grammar is balanced brackets: tokens OPEN / CLOSE and the end token, a per-row depth
counter kept in ``state.extra`` by a state hook. Beam search and sampling must never emit an
invalid string (a seeded sweep over prompts, widths and lengths), and the counter must follow
its beam: with the state's reorder disabled the same sweep emits invalid strings.
"""

from __future__ import annotations

import random

import pytest
import torch

from kexue.decoding import AutoRegressiveDecoder, DecodeState, StateHook, state_hook

OPEN, CLOSE, END, PAD = 7, 8, 5, 1  # tiny GPT-2: vocab 23, pad 1
PROMPTS = [[5, 6, 7, 8], [3, 4], [10, 11, 12], [9], [4, 4, 13, 20, 7]]


class Brackets(StateHook):
    """Balanced brackets ending with END, within ``max_new`` tokens.

    Per row, ``state.extra["depth"]`` counts the open brackets of the tokens generated so far;
    the hook first advances it by the token the row chose last step, then allows OPEN if the
    brackets can still be closed in time, CLOSE if one is open, END if none is (and the string
    is not empty)."""

    def __init__(self, max_new: int) -> None:
        self.max_new = max_new

    def __call__(self, logits, state):
        if state.step == 0:
            state.extra["depth"] = torch.zeros(state.rows, dtype=torch.long)
        else:
            last = state.generated[:, -1]
            state.extra["depth"] = (
                state.extra["depth"] + (last == OPEN).long() - (last == CLOSE).long()
            )
        depth = state.extra["depth"]
        left = self.max_new - state.step - 1  # tokens still possible after this one
        allowed = torch.zeros_like(logits, dtype=torch.bool)
        allowed[:, OPEN] = depth + 2 <= left
        allowed[:, CLOSE] = depth > 0
        allowed[:, END] = (depth == 0) & (state.step > 0)
        allowed[state.finished] = True  # finished rows only receive padding
        return logits.masked_fill(~allowed, float("-inf"))


def valid(seq: list[int]) -> bool:
    if not seq or seq[-1] != END:
        return False
    depth = 0
    for t in seq[:-1]:
        if t not in (OPEN, CLOSE):
            return False
        depth += 1 if t == OPEN else -1
        if depth < 0:
            return False
    return depth == 0 and len(seq) > 1


def sweep(dec: AutoRegressiveDecoder, seed: int = 0, cases: int = 6) -> list[list[int]]:
    """Seeded random sweep: beam search and sampling with random widths / lengths / prompts."""
    rng = random.Random(seed)
    outs = []
    for _ in range(cases):
        prompts = rng.sample(PROMPTS, rng.randint(1, len(PROMPTS)))
        max_new = rng.randint(3, 12)
        k = rng.randint(2, 5)
        gen = dec.beam_search(
            prompts, num_beams=k, num_return_sequences=k, max_new_tokens=max_new,
            hooks=[Brackets(max_new)], length_penalty=rng.choice([0.0, 1.0]),
        )  # fmt: skip
        outs += [s for rows in gen.tolist() for s in rows]
        gen = dec.random_sample(
            prompts, n=k, max_new_tokens=max_new, hooks=[Brackets(max_new)],
            temperature=rng.choice([1.0, 3.0]), seed=rng.randint(0, 10**6),
        )  # fmt: skip
        outs += [s for rows in gen.tolist() for s in rows]
    return outs


def test_bracket_grammar_is_never_violated(gpt2_pair):
    dec = AutoRegressiveDecoder(gpt2_pair[1], end_id=END, pad_id=PAD)
    outs = sweep(dec)
    assert len(outs) > 100
    bad = [s for s in outs if not valid(s)]
    assert not bad, bad[:5]
    assert len({tuple(s) for s in outs}) > 10  # the sweep explores many strings


def test_bracket_state_must_follow_its_beam(gpt2_pair, monkeypatch):
    """The same sweep with a state that is not reordered with the beams emits invalid strings
    (so the test above would catch a decoder that forgot to reorder the state)."""
    dec = AutoRegressiveDecoder(gpt2_pair[1], end_id=END, pad_id=PAD)
    original = DecodeState.reorder

    def keep_extra(self, index, **kw):
        extra = dict(self.extra)
        original(self, index, **kw)
        if all(v.shape[0] == self.rows for v in extra.values()):
            self.extra = extra  # the bug: per-row fields stay where they were

    monkeypatch.setattr(DecodeState, "reorder", keep_extra)
    bad = [s for s in sweep(dec) if not valid(s)]
    assert bad


@pytest.mark.parametrize("how", ["greedy", "beam", "sample"])
def test_per_row_state_is_the_row_history(gpt2_pair, how):
    """A hook keeps, per row, the list of tokens it saw chosen (``state.user``) and the same as
    a tensor (``state.extra``); at every step both equal the row's generated tokens, the row's
    prompt is its input's, and each row's user object is its own."""
    dec = AutoRegressiveDecoder(gpt2_pair[1], end_id=END, pad_id=PAD)
    steps = []

    @state_hook
    def history(logits, state):
        if state.step == 0:
            state.extra["seen"] = torch.empty((state.rows, 0), dtype=torch.long)
        else:
            last = state.generated[:, -1]
            state.extra["seen"] = torch.cat([state.extra["seen"], last[:, None]], dim=1)
            for row, t in zip(state.user, last.tolist(), strict=True):
                row["tokens"].append(t)
        assert [u["tokens"] for u in state.user] == state.generated.tolist()
        assert torch.equal(state.extra["seen"], state.generated)
        assert len({id(u) for u in state.user}) == state.rows
        for r in range(state.rows):
            assert state.prompt(r) == PROMPTS[int(state.input_index[r])]
            assert state.user[r]["input"] == int(state.input_index[r])
        steps.append(state.step)
        return logits

    states = [{"input": i, "tokens": []} for i in range(len(PROMPTS))]
    kw = dict(max_new_tokens=7, hooks=[history], states=states)
    if how == "greedy":
        dec.greedy(PROMPTS, **kw)
    elif how == "beam":
        dec.beam_search(PROMPTS, num_beams=4, num_return_sequences=4, **kw)
    else:
        dec.random_sample(PROMPTS, n=4, temperature=2.0, seed=0, **kw)
    assert steps[:3] == [0, 1, 2]
    assert states == [{"input": i, "tokens": []} for i in range(len(PROMPTS))]  # not modified


def test_seq2seq_state_has_the_source(t5_pair):
    dec = AutoRegressiveDecoder(t5_pair[1], end_id=1, start_id=0)
    sources = [[5, 6, 7, 1], [8, 9, 1]]
    seen = []

    @state_hook
    def look(logits, state):
        seen.append([state.source(r) for r in range(state.rows)])
        return logits

    dec.beam_search(sources, num_beams=2, max_new_tokens=3, hooks=[look])
    assert seen[0] == [sources[0], sources[0], sources[1], sources[1]]


def test_a_hook_can_end_rows(gpt2_pair):
    """``state.finish(rows)`` ends rows now, with the tokens they have."""
    dec = AutoRegressiveDecoder(gpt2_pair[1], end_id=None, pad_id=PAD)

    @state_hook
    def stop_at_two(logits, state):
        if state.step == 2:
            state.finish(torch.ones(state.rows, dtype=torch.bool))
        return logits

    free = dec.greedy(PROMPTS, max_new_tokens=8)
    assert free.lengths.flatten().tolist() == [8] * len(PROMPTS)
    out = dec.greedy(PROMPTS, max_new_tokens=8, hooks=[stop_at_two])
    assert out.lengths.flatten().tolist() == [2] * len(PROMPTS)
    assert torch.equal(out.sequences, free.sequences[:, :, :2])
    out = dec.random_sample(PROMPTS, n=3, max_new_tokens=8, seed=1, hooks=[stop_at_two])
    assert out.lengths.flatten().tolist() == [2] * (3 * len(PROMPTS))
    assert out.sequences.shape[-1] == 2

    kw = dict(num_beams=3, num_return_sequences=3, max_new_tokens=8, length_penalty=1.0)
    out = dec.beam_search(PROMPTS, hooks=[stop_at_two], **kw)
    short = dec.beam_search(PROMPTS, **{**kw, "max_new_tokens": 2})
    assert out.lengths.flatten().tolist() == [2] * (3 * len(PROMPTS))
    assert out.tolist() == short.tolist()  # the same hypotheses as stopping at 2 tokens
    torch.testing.assert_close(out.scores, short.scores)

    @state_hook
    def end_row_one(logits, state):  # row numbers work as well as a mask
        state.finish([1])
        return logits

    out = dec.greedy(PROMPTS, max_new_tokens=5, hooks=[end_row_one])
    assert out.lengths.flatten().tolist() == [5, 0, 5, 5, 5]
    assert out.tolist()[1] == [[]]
    with pytest.raises(ValueError, match="row numbers"):
        dec.greedy(PROMPTS, max_new_tokens=2, hooks=[state_hook(
            lambda x, s: s.finish([len(PROMPTS)]) or x)])  # fmt: skip


def test_beam_search_ends_a_completed_row_without_an_extra_token(gpt2_pair):
    """A grammar that knows when a string is complete ends the beam there (end_id=None): the
    balanced-bracket strings come back exactly as complete, with no token after them."""
    dec = AutoRegressiveDecoder(gpt2_pair[1], end_id=None, pad_id=PAD)

    @state_hook
    def brackets_then_stop(logits, state):
        seq = state.generated
        depth = (seq == OPEN).long().sum(1) - (seq == CLOSE).long().sum(1)
        complete = (depth == 0) & (state.step > 0)
        state.finish(complete)
        allowed = torch.zeros_like(logits, dtype=torch.bool)
        allowed[:, OPEN] = depth + 1 <= 8 - state.step - 1
        allowed[:, CLOSE] = depth > 0
        return logits.masked_fill(~allowed, float("-inf"))

    out = dec.beam_search(PROMPTS, num_beams=3, num_return_sequences=3, max_new_tokens=8,
                          hooks=[brackets_then_stop])  # fmt: skip
    for seq in (s for rows in out.tolist() for s in rows):
        assert valid(seq + [END]), seq


def test_bad_states_raise(gpt2_pair):
    dec = AutoRegressiveDecoder(gpt2_pair[1], end_id=END, pad_id=PAD)
    with pytest.raises(ValueError, match="states has 1 entries for 5 prompts"):
        dec.greedy(PROMPTS, max_new_tokens=2, states=[{}])
    with pytest.raises(TypeError, match="one recipe state per prompt"):
        dec.greedy(PROMPTS, max_new_tokens=2, states="abc")
    with pytest.raises(TypeError, match="state_hook needs a callable"):
        state_hook(3)

    @state_hook
    def wrong_rows(logits, state):
        state.extra["x"] = torch.zeros(state.rows + 1)
        return logits

    with pytest.raises(ValueError, match=r"extra\['x'\] must have one entry per row \(10\)"):
        dec.beam_search(PROMPTS, num_beams=2, max_new_tokens=3, hooks=[wrong_rows])
