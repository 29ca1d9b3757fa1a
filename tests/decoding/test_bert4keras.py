"""Bert4KerasDecoder: recipes written as bert4keras ``predict(inputs, output_ids, states)``
decode exactly like the built-in decoder with bert4keras's rules."""

from __future__ import annotations

import pytest
import torch

from kexue.decoding import AutoRegressiveDecoder, Bert4KerasDecoder

END = 5


def _gpt2_recipe(model, rtype="probas"):
    class LM(Bert4KerasDecoder):
        def predict(self, inputs, output_ids, states):
            (token_ids,) = inputs
            logits = model(torch.cat([token_ids, output_ids], 1)).logits[:, -1]
            return logits.softmax(-1) if self.rtype == "probas" else logits

    LM.rtype = rtype
    return LM


def test_beam_search_equals_the_builtin_bert4keras_rules(gpt2_pair):
    model = gpt2_pair[1]
    recipe = _gpt2_recipe(model)(start_id=None, end_id=END, maxlen=9)
    dec = AutoRegressiveDecoder(model, end_id=END, pad_id=1)
    for prompt in ([3, 4, 9], [10, 11], [7]):
        for topk in (1, 3):
            ref = dec.beam_search(
                [prompt], num_beams=topk, max_new_tokens=9, length_penalty=0.0,
                early_stopping="best", min_new_tokens=1, mask_ends=False,
            )  # fmt: skip
            assert recipe.beam_search([prompt], topk=topk) == ref.tolist()[0][0]


def test_random_sample_equals_the_builtin_sampler(gpt2_pair):
    model = gpt2_pair[1]
    recipe = _gpt2_recipe(model, rtype="logits")(start_id=None, end_id=END, maxlen=8, minlen=3)
    dec = AutoRegressiveDecoder(model, end_id=END, pad_id=1)
    out = recipe.random_sample([[3, 4, 9]], n=5, topk=6, topp=0.9, seed=11)
    ref = dec.random_sample([[3, 4, 9]], n=5, top_k=6, top_p=0.9, seed=11, max_new_tokens=8,
                            min_new_tokens=3, mask_ends=False)  # fmt: skip
    assert out == ref.tolist()[0] and len(out) == 5


def test_unilm_recipe_with_segment_ids(bert_dir):
    """The AutoTitle shape: inputs = [token_ids, segment_ids], targets get segment 1."""
    from kexue.models import build_transformer_model

    model = build_transformer_model(checkpoint_path=bert_dir, application="unilm").double()

    class AutoTitle(Bert4KerasDecoder):
        def predict(self, inputs, output_ids, states):
            token_ids, segment_ids = inputs
            token_ids = torch.cat([token_ids, output_ids], 1)
            segment_ids = torch.cat([segment_ids, torch.ones_like(output_ids)], 1)
            return model(token_ids, segment_ids).logits[:, -1].softmax(-1)

    title = AutoTitle(start_id=None, end_id=3, maxlen=7)
    src = [2, 9, 10, 11, 3]
    ref = AutoRegressiveDecoder(model, end_id=3).beam_search(
        [src], num_beams=2, max_new_tokens=7, length_penalty=0.0, early_stopping="best",
        min_new_tokens=1, mask_ends=False,
    )  # fmt: skip
    assert title.beam_search([src, [0] * len(src)], topk=2) == ref.tolist()[0][0]


def test_states_follow_their_beams_and_start_id_leads_output_ids(gpt2_pair):
    model = gpt2_pair[1]
    seen = []

    class WithStates(Bert4KerasDecoder):
        use_states = True

        def predict(self, inputs, output_ids, states):
            assert torch.all(output_ids[:, 0] == 0)  # start_id
            if states is None:
                states = [[] for _ in range(output_ids.shape[0])]
            else:  # per-row histories, reordered with the beams
                assert [s for s in states] == output_ids[:, 1:-1].tolist()
                states = [s + [int(t)] for s, t in zip(states, output_ids[:, -1], strict=True)]
            seen.append(len(states))
            (token_ids,) = inputs
            logits = model(torch.cat([token_ids, output_ids[:, 1:]], 1)).logits[:, -1]
            return logits.softmax(-1), states

    recipe = WithStates(start_id=0, end_id=None, maxlen=6)
    out = recipe.beam_search([[3, 4, 9]], topk=3)
    assert len(out) == 6 and seen[0] == 1 and seen[-1] == 3


def test_bad_use_raises(gpt2_pair):
    with pytest.raises(NotImplementedError, match="define predict"):
        Bert4KerasDecoder(None, END, 5).beam_search([[3]], topk=2)
    with pytest.raises(ValueError, match="minlen"):
        Bert4KerasDecoder(None, END, maxlen=3, minlen=4)

    class Bad(Bert4KerasDecoder):
        def predict(self, inputs, output_ids, states):
            return torch.ones(7)

    with pytest.raises(ValueError, match="one row of next-token probas per hypothesis"):
        Bad(None, END, 4).random_sample([[3]], n=2)
