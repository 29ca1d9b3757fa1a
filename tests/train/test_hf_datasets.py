"""An HF ``datasets.Dataset`` works as fit's data: padded by the collate function,
length-bucketed, and resumed exactly."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kexue.data import PadCollate
from kexue.train import fit


class _Bag(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(20, 8, padding_idx=0)
        self.drop = nn.Dropout(0.1)
        self.out = nn.Linear(8, 2)

    def forward(self, token_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = (self.emb(token_ids) * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return self.out(self.drop(h))


def _loss(model: nn.Module, batch: dict) -> torch.Tensor:
    logits = model(batch["token_ids"], batch["attention_mask"].float())
    return nn.functional.cross_entropy(logits, batch["labels"])


def _dataset():
    datasets = pytest.importorskip("datasets")
    g = torch.Generator().manual_seed(5)
    rows = {"token_ids": [], "labels": []}
    for _ in range(40):
        n = int(torch.randint(2, 9, (1,), generator=g))
        ids = torch.randint(1, 20, (n,), generator=g).tolist()
        rows["token_ids"].append(ids)
        rows["labels"].append(int(sum(ids) % 2))
    return datasets.Dataset.from_dict(rows)


def _run(ds, ckpt, steps: int):
    torch.manual_seed(0)
    model = _Bag()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    tr = fit(model, _loss, ds, optimizer=opt, collate_fn=PadCollate(), batch_size=4,
             steps=steps, lengths=[len(t) for t in ds["token_ids"]], bucket_window=12,
             checkpoint_dir=ckpt, checkpoint_every=3, resume=True, progress=False,
             log_every=2)
    return model, tr.history


def test_fit_on_hf_dataset_resumes_exactly(tmp_path):
    ds = _dataset()
    straight, h_straight = _run(ds, tmp_path / "a", 23)  # 10 batches an epoch: 2.3 epochs
    _run(ds, tmp_path / "b", 13)  # stops mid-epoch 2 (checkpoint at step 13)
    resumed, h_resumed = _run(ds, tmp_path / "b", 23)
    assert h_resumed == h_straight
    for (k, x), y in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(x, y), k
