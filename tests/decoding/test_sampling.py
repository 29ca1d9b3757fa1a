"""Top-k / top-p filters (vs a float64 NumPy reference) and seeded random sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kexue.decoding import AutoRegressiveDecoder, top_k_filter, top_p_filter

PROMPTS = [[5, 6, 7, 8], [3, 4], [10, 11, 12, 13, 14, 9]]


def ref_top_k(logits: np.ndarray, k: int) -> np.ndarray:
    """Allowed-set mask: logits >= the k-th largest of the row."""
    kth = np.sort(logits, axis=-1)[:, ::-1][:, k - 1 : k]
    return logits >= kth


def ref_top_p(logits: np.ndarray, p: float) -> np.ndarray:
    """Allowed-set mask: the most likely tokens until their mass reaches p (first always kept)."""
    keep = np.zeros_like(logits, dtype=bool)
    for r, row in enumerate(logits.astype(np.float64)):
        probs = np.exp(row - row.max())
        probs /= probs.sum()
        mass = 0.0
        for i in np.argsort(-probs, kind="stable"):
            keep[r, i] = True
            mass += probs[i]
            if mass >= p:
                break
    return keep


def test_filters_match_numpy_reference():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 50, generator=g, dtype=torch.float64) * 2.0
    for k in (1, 3, 10, 49):
        got = torch.isfinite(top_k_filter(logits, k)).numpy()
        assert (got == ref_top_k(logits.numpy(), k)).all()
        assert (got.sum(-1) == k).all()
    for p in (0.05, 0.5, 0.9, 0.99):
        got = torch.isfinite(top_p_filter(logits, p)).numpy()
        assert (got == ref_top_p(logits.numpy(), p)).all()
        kept_mass = (torch.softmax(logits, -1) * torch.from_numpy(got)).sum(-1)
        assert (kept_mass >= p - 1e-12).all()
    assert top_k_filter(logits, 0) is logits and top_p_filter(logits, 1.0) is logits
    # the kept logits are unchanged and the input is not modified
    before = logits.clone()
    out = top_p_filter(top_k_filter(logits, 5), 0.7)
    kept = torch.isfinite(out)
    assert torch.equal(out[kept], logits[kept]) and torch.equal(logits, before)


def _recorded_allowed(dec, prompts, **kw):
    """Sample while recording, per step, the logits the filters see; return output + masks."""
    seen = []

    def record(step, generated, logits):
        seen.append(logits.clone())
        return logits

    out = dec.random_sample(prompts, hooks=[record], **kw)
    return out, seen


@pytest.mark.parametrize("top_k,top_p", [(3, 1.0), (0, 0.6), (4, 0.8)])
def test_sampling_never_leaves_the_allowed_set(gpt2_pair, top_k, top_p):
    """Property: every sampled token lies in top-k ∩ top-p of the (temperature-scaled) logits."""
    model = gpt2_pair[1]
    dec = AutoRegressiveDecoder(model, end_id=None, pad_id=1)
    temperature = 1.7
    out, seen = _recorded_allowed(dec, PROMPTS, n=24, top_k=top_k, top_p=top_p,
                                  temperature=temperature, max_new_tokens=6, seed=11)  # fmt: skip
    seqs = out.sequences.view(-1, out.sequences.shape[-1])
    assert seqs.shape == (len(PROMPTS) * 24, 6)
    for step, logits in enumerate(seen):
        scaled = (logits / temperature).numpy()
        allowed = np.ones_like(scaled, dtype=bool)
        if top_k:
            allowed &= ref_top_k(scaled, top_k)
        if top_p < 1.0:
            filtered = np.where(allowed, scaled, -np.inf)
            allowed &= ref_top_p(filtered, top_p)
        tokens = seqs[:, step].numpy()
        assert allowed[np.arange(len(tokens)), tokens].all()
        if step == 0:
            # the property is not vacuous: several distinct tokens were drawn at a step
            assert len(set(tokens.tolist())) > 1


def test_sampling_reproducible_with_seed(gpt2_pair):
    dec = AutoRegressiveDecoder(gpt2_pair[1], end_id=5, pad_id=1)
    kw = dict(n=4, top_k=8, top_p=0.95, max_new_tokens=8)
    a = dec.random_sample(PROMPTS, seed=123, **kw)
    b = dec.random_sample(PROMPTS, seed=123, **kw)
    c = dec.random_sample(PROMPTS, generator=torch.Generator().manual_seed(123), **kw)
    d = dec.random_sample(PROMPTS, seed=124, **kw)
    assert a.tolist() == b.tolist() == c.tolist()
    assert torch.equal(a.scores, b.scores)
    assert a.tolist() != d.tolist()
    assert a.sequences.shape[:2] == (3, 4)
    with pytest.raises(ValueError, match="either seed or generator"):
        dec.random_sample(PROMPTS, seed=1, generator=torch.Generator(), max_new_tokens=2)


def test_first_token_frequencies_follow_the_filtered_softmax(gpt2_pair):
    """2000 one-token samples: empirical frequencies match softmax over the top-k logits."""
    model = gpt2_pair[1]
    dec = AutoRegressiveDecoder(model, end_id=None, pad_id=1)
    prompt = [[5, 6, 7]]
    with torch.no_grad():
        logits = model(torch.tensor(prompt)).logits[0, -1].float()
    probs = torch.softmax(top_k_filter(logits[None], 4), -1)[0]
    out = dec.random_sample(prompt, n=2000, top_k=4, max_new_tokens=1, seed=0)
    freq = torch.bincount(out.sequences.flatten(), minlength=probs.numel()).double() / 2000
    assert (freq[probs == 0] == 0).all()
    assert (freq - probs.double()).abs().max() < 0.04  # ~3.5 standard errors at p = 0.5
