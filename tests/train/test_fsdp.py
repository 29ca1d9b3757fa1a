"""``fit(..., strategy="fsdp")``: FSDP2 over two gloo ranks under torchrun equals one process
with the doubled batch, resumes exactly, and shares one checkpoint format with DDP and a
single process."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from kexue.train import fit, load_checkpoint
from kexue.train.checkpoint import list_checkpoints
from kexue.train.weights import load_weights
from tests.faults import _child_env
from tests.train._fsdp_child import STEPS, stopped, train
from tests.train._tiny import AdamEMA

CHILD = str(Path(__file__).with_name("_fsdp_child.py"))
# float64 throughout: FSDP's reduce-scatter and DDP's all-reduce add the two ranks' gradients
# in another order than one process's mean over the doubled batch (measured: 5e-16 apart).
TOL = {"rtol": 1e-10, "atol": 1e-12}


def _close(got: dict, want: dict, what: str) -> None:
    assert got.keys() == want.keys(), what
    for k in want:
        torch.testing.assert_close(got[k], want[k], **TOL, msg=f"{what}: {k}")


def _equal(got, want, where: str) -> None:
    """Bit-identical nested state (tensors with torch.equal, the rest with ==)."""
    if isinstance(want, torch.Tensor):
        assert torch.equal(got, want), where
    elif isinstance(want, dict):
        assert got.keys() == want.keys(), where
        for k in want:
            _equal(got[k], want[k], f"{where}[{k!r}]")
    elif isinstance(want, list | tuple):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            _equal(g, w, f"{where}[{i}]")
    else:
        assert got == want, where


def _check_state(got: dict, want: dict, what: str) -> None:
    """Model, Adam moments and EMA averages, losses and metrics within float tolerance."""
    _close(got["model"], want["model"], f"{what} model")
    for i, s in want["optimizer"]["state"].items():
        _close(got["optimizer"]["state"][i], s, f"{what} optimizer state {i}")
    for i, s in want["optimizer"]["extension_state"].items():
        _close(got["optimizer"]["extension_state"][i], s, f"{what} EMA {i}")
    assert [sorted(r) for r in got["history"]] == [sorted(r) for r in want["history"]]
    for g, w in zip(got["history"], want["history"]):
        assert g == pytest.approx(w, rel=1e-10, abs=1e-12), what
    assert got["step"] == want["step"] == STEPS


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                    reason="torch.distributed with gloo is not available in this build")
def test_fsdp_two_ranks_resume_and_match_one_process(tmp_path):
    stopped(tmp_path / "stopped_single", 4, "ddp")  # one process: the same micro-batches
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         CHILD, str(tmp_path)],
        capture_output=True, text=True, env=_child_env(), timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    got = {k: torch.load(tmp_path / f"{k}.pt", weights_only=True)
           for k in ("straight", "fsdp", "ddp_from_fsdp", "fsdp_from_single")}

    # FSDP equals one process with the whole batch (2 ranks x 2 micro-batches x 2 examples =
    # one batch of 8; Adam + EMA + clipping; uneven shards of 15 rows)
    single = train(8, None, grad_accum=1, strategy="ddp")
    want = single.state_dict()
    _check_state(got["straight"], want, "fsdp")
    # the Evaluator ran on the EMA weights swapped into the shards and kept them gathered
    best = single.callbacks.callbacks[0].best_weights
    _close(got["straight"]["best_weights"], best, "best weights")
    _close(load_weights(tmp_path / "weights" / "best.safetensors"), best, "best.safetensors")
    assert not torch.equal(best["0.weight"], want["model"]["0.weight"])  # EMA, not raw

    # stopped at step 5, resumed from the step-4 checkpoint: bit-identical under FSDP
    assert [s for s, _ in list_checkpoints(tmp_path / "stopped_fsdp")] == [4]
    assert got["fsdp"]["began_at"] == got["ddp_from_fsdp"]["began_at"] == 4
    assert got["fsdp_from_single"]["began_at"] == 4 and got["straight"]["began_at"] == 0
    _equal(got["fsdp"]["model"], got["straight"]["model"], "model")
    _equal(got["fsdp"]["optimizer"], got["straight"]["optimizer"], "optimizer")
    assert got["fsdp"]["history"] == got["straight"]["history"]
    # one checkpoint format: FSDP -> DDP and one process -> FSDP resume to the same result
    _check_state(got["ddp_from_fsdp"], want, "fsdp checkpoint resumed under ddp")
    _check_state(got["fsdp_from_single"], want, "one-process checkpoint resumed under fsdp")
    # ... and in one process (the doubled batch; the RNG streams of 2 ranks cannot carry over)
    one = tmp_path / "one"
    shutil.copytree(tmp_path / "stopped_fsdp", one)
    with pytest.warns(RuntimeWarning, match="written by 2 processes"):
        resumed = train(4, str(one), strategy="ddp")  # the same micro-batches of 4
    _check_state(resumed.state_dict(), want, "fsdp checkpoint resumed in one process")

    # rank 0 wrote plain full tensors (weights_only) with the keys of the unsharded model
    final = load_checkpoint(tmp_path / "ckpt_straight" / "ckpt-000000008.kexue")
    assert {k: v.shape for k, v in final["model"].items()} == {
        k: v.shape for k, v in want["model"].items()}
    assert type(final["model"]["0.weight"]) is torch.Tensor
    assert len(final["rng"]) == 2
    refused = (tmp_path / "refused.txt").read_text()
    assert "exp_avg" in refused and "cannot be sharded" in refused
    assert "different metrics on the ranks ([{'score': 0.0}, {'score': 1.0}])" in refused


def test_fsdp_script_runs_in_one_process_and_needs_an_optimizer_function(tmp_path):
    # without torchrun strategy="fsdp" trains the plain module (the same script everywhere)
    tr = train(4, None, strategy="fsdp")
    ref = train(4, None, strategy="ddp")
    for k, v in ref.model.state_dict().items():
        assert torch.equal(tr.model.state_dict()[k], v)
    model = torch.nn.Linear(2, 2)
    with pytest.raises(TypeError, match="builds the optimizer after sharding"):
        fit(model, lambda m, b: m(b).sum(), [torch.zeros(2)],
            optimizer=AdamEMA(model.parameters()), steps=1,
            strategy="fsdp", progress=False)
    with pytest.raises(ValueError, match="strategy must be one of"):
        fit(model, lambda m, b: m(b).sum(), [torch.zeros(2)],
            optimizer=lambda m: AdamEMA(m.parameters()), steps=1,
            strategy="zero3", progress=False)
    with pytest.raises(ValueError, match="need strategy='fsdp'"):
        fit(model, lambda m, b: m(b).sum(), [torch.zeros(2)],
            optimizer=lambda m: AdamEMA(m.parameters()), steps=1,
            fsdp_kwargs={}, progress=False)


def test_units_are_sharded_innermost_first_then_the_root(monkeypatch):
    import torch.distributed.device_mesh as device_mesh
    import torch.distributed.fsdp as torch_fsdp

    from kexue.train import fsdp

    calls = []
    monkeypatch.setattr(device_mesh, "init_device_mesh", lambda kind, shape: ("mesh", kind,
                                                                              shape))
    monkeypatch.setattr(torch_fsdp, "fully_shard",
                        lambda m, mesh, **kw: calls.append((m, mesh, kw)))

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = torch.nn.Linear(2, 2)
            self.act = torch.nn.Tanh()

    model = torch.nn.Module()
    model.embed = torch.nn.Embedding(5, 2)
    model.layers = torch.nn.ModuleList([Block(), Block(), torch.nn.Tanh()])  # Tanh: no params
    model.head = torch.nn.Linear(2, 2)
    names = {m: n for n, m in model.named_modules()}
    fsdp.shard_model(model, torch.device("cpu"), 2, reshard_after_forward=False)
    assert [names[m] for m, _, _ in calls] == ["layers.1", "layers.0", ""]
    assert {(mesh, tuple(kw.items())) for _, mesh, kw in calls} == {
        (("mesh", "cpu", (2,)), (("reshard_after_forward", False),))}
    calls.clear()
    fsdp.shard_model(model, torch.device("cpu"), 2,
                     lambda m: isinstance(m, Block | torch.nn.Linear))
    assert [names[m] for m, _, _ in calls] == [
        "head", "layers.1.inner", "layers.1", "layers.0.inner", "layers.0", ""]
    with pytest.raises(ValueError, match="mesh"):
        fsdp.shard_model(model, torch.device("cpu"), 2, mesh=None)
