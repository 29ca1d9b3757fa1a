"""RealFormer residual attention scores (https://kexue.fm/archives/8027): property tests."""

from __future__ import annotations

import torch

from kexue.models import build_transformer_model

from ._hf import max_diff, padded_batch, randomize

CFG = dict(
    vocab_size=60,
    hidden_size=32,
    num_hidden_layers=3,
    num_attention_heads=4,
    intermediate_size=48,
    max_position_embeddings=32,
)


def _pair(layers=3, seed=0):
    torch.manual_seed(seed)
    vanilla = build_transformer_model({**CFG, "num_hidden_layers": layers})
    randomize(vanilla, scale=0.3)  # O(1) attention scores, so the residual visibly matters
    real = build_transformer_model(
        {**CFG, "num_hidden_layers": layers}, residual_attention_scores=True
    )
    real.load_state_dict(vanilla.state_dict())
    return vanilla, real


def _hook_scores(model):
    """Record, per layer, its own raw scores QK^T/sqrt(d) and the running sum it returned."""
    own, running = [], []

    def hook(module, args, kwargs, output):
        x = args[0]
        q, k = module._split(module.q(x)), module._split(module.k(x))
        own.append(q @ k.transpose(-1, -2) * module.scale)
        running.append(output[1])

    for layer in model.layers:
        layer.attn.register_forward_hook(hook, with_kwargs=True)
    return own, running


def test_one_layer_equals_vanilla():
    vanilla, real = _pair(layers=1)
    ids, mask = padded_batch(60, [8, 5])
    with torch.no_grad():
        assert max_diff(real(ids, attention_mask=mask).hidden,
                        vanilla(ids, attention_mask=mask).hidden) <= 1e-6


def test_deeper_model_differs_from_vanilla():
    vanilla, real = _pair(layers=3)
    ids, mask = padded_batch(60, [8, 5])
    with torch.no_grad():
        assert max_diff(real(ids, attention_mask=mask).hidden,
                        vanilla(ids, attention_mask=mask).hidden) > 1e-3


def test_layer_n_sees_the_sum_of_raw_scores_and_no_mask():
    _, real = _pair(layers=3)
    own, running = _hook_scores(real)
    ids, mask = padded_batch(60, [8, 5, 3])
    with torch.no_grad():
        real(ids, attention_mask=mask)
    for n in range(3):
        expected = sum(own[: n + 1])
        assert max_diff(running[n], expected) <= 1e-5
        # the mask is applied per layer and never accumulated: scores stay O(1)
        assert running[n].abs().max() < 1e3


def test_padded_keys_get_zero_attention_in_every_layer():
    _, real = _pair(layers=3)
    ids, mask = padded_batch(60, [8, 5, 3])
    other = ids.clone()
    other[mask == 0] = 7  # change only the padded tokens
    with torch.no_grad():
        a = real(ids, attention_mask=mask).hidden
        b = real(other, attention_mask=mask).hidden
    real_pos = mask.bool()
    assert max_diff(a[real_pos], b[real_pos]) <= 1e-6
    own, running = _hook_scores(real)
    with torch.no_grad():
        real(ids, attention_mask=mask)
    bias = torch.where(mask.bool(), 0.0, torch.finfo(torch.float32).min)[:, None, None, :]
    for scores in running:
        probs = torch.softmax(scores + bias, -1)
        assert probs.masked_select(~mask.bool()[:, None, None, :].expand_as(probs)).max() == 0.0


def test_gradient_reaches_first_layer_scores_through_the_residual():
    _, real = _pair(layers=3)
    ids = torch.randint(1, 60, (2, 6))
    kept = []

    def keep(module, args, kwargs, output):
        output[1].retain_grad()
        kept.append(output[1])

    real.layers[0].attn.register_forward_hook(keep, with_kwargs=True)
    real.layers[2].attn_norm.weight.requires_grad_(False)
    out = real(ids).hidden
    out.sum().backward()
    assert kept[0].grad is not None and kept[0].grad.abs().sum() > 0
