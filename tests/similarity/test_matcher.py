"""The CLN multi-task matcher (kexue.fm/archives/8337): zero condition weights = the
unconditional model, bit for bit, for every task id."""

from __future__ import annotations

import torch

from kexue.similarity.matcher import CLNMatcher, build_cln_backbone
from tests.similarity.conftest import tiny_config, tiny_model


def _batch():
    ids = torch.tensor([[2, 5, 6, 7, 3, 8, 9, 3], [2, 10, 11, 3, 12, 3, 0, 0]])
    seg = torch.tensor([[0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 1, 1, 0, 0]])
    return ids, seg, (ids != 0).long()


def test_zero_condition_equals_unconditional_bit_for_bit(tmp_path):
    plain = tiny_model(3)
    with torch.no_grad():  # non-trivial gamma/beta: a two-step (x̂·γ + β) differs in rounding
        for name, p in plain.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5) if name.endswith("weight") else p.normal_(0, 0.3)
    plain.save_pretrained(tmp_path / "m")
    cln = build_cln_backbone(tmp_path / "m", cond_size=8, family="roformer", with_pool=True)
    ids, seg, mask = _batch()
    cond = CLNMatcher(cln, num_tasks=5, cond_size=8)
    ref = CLNMatcher(plain, num_tasks=5, cond_size=8, conditional=False)
    ref.head.load_state_dict(cond.head.state_dict())
    with torch.no_grad():
        want_hidden = plain(ids, seg, attention_mask=mask).hidden
        want = ref(ids, seg, mask, torch.zeros(2, dtype=torch.long))
        for t in range(5):
            task = torch.full((2,), t)
            got = cln(ids, seg, attention_mask=mask, condition=cond.condition(task)).hidden
            assert torch.equal(got, want_hidden), t
            assert torch.equal(cond(ids, seg, mask, task), want), t


def test_perturbed_condition_separates_tasks_and_gets_gradients():
    cln = build_cln_backbone(config=tiny_config(), cond_size=8, family="roformer")
    m = CLNMatcher(cln, num_tasks=3, cond_size=8)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if ".cond_" in name:
                p.normal_(0, 0.1)
    ids, seg, mask = _batch()
    a = m(ids, seg, mask, torch.tensor([0, 0]))
    b = m(ids, seg, mask, torch.tensor([1, 1]))
    assert not torch.allclose(a, b)
    (a.sum() + b.sum()).backward()
    assert m.task_embedding.weight.grad is not None
    assert m.task_embedding.weight.grad[:2].abs().sum() > 0
