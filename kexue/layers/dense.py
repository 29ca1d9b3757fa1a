"""Dense layers whose few-row products on CPU avoid the slow matrix-vector kernel.

A decoding step with a KV cache multiplies one row per sequence by every weight matrix of the
model. On CPU, ``F.linear`` (``x W^T + b`` with ``W`` of shape ``[out, in]``, row-major) sends
such a product to the BLAS matrix-vector kernel, which we measured to be several times slower
than the same product written as a batched matrix product over row blocks of ``W``
(``torch.bmm`` on the view ``(4, out/4, in)``; no copy). For GPT-2's ``50257 x 768`` output
layer at one row: 12.2 ms with ``F.linear``, 5.9 ms blocked; for its ``768 -> 3072`` FFN
layer 0.75 vs 0.37 ms (2 threads, ``benchmarks/dense.py``). Greedy decoding of a GPT-2-small
at batch 1 went from 40.2 to 19.6 ms per token (``benchmarks/decoding.py --ablate-dense``;
docs/decoding.md, Speed).

:func:`linear` takes the blocked path on CPU for at most :data:`MAX_BLOCKED_ROWS` input rows and
at least :data:`MIN_BLOCKED_OUT` outputs, and ``F.linear`` otherwise; both give the same
product up to float rounding (tested in float64 against ``F.linear``), with gradients.
:class:`Dense` is ``nn.Linear`` with that forward: same parameters, state-dict keys and
initialisation, so checkpoints and optimisers see an ordinary ``nn.Linear``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Dense", "linear", "MAX_BLOCKED_ROWS", "MIN_BLOCKED_OUT"]

#: Row blocks of ``W`` in the batched path.
BLOCKS = 4
#: Input rows up to which the batched path runs (one decoding step of up to 64 sequences:
#: batch 16 x beam 4). On GPT-2-small shapes it ran at 0.99-2.81x F.linear's speed up to 64
#: rows and 0.94-1.17x from 256 rows on (``benchmarks/dense.py``, docs/decoding.md).
MAX_BLOCKED_ROWS = 64
#: Output widths from which it runs (small layers keep the plain product).
MIN_BLOCKED_OUT = 256


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``x W^T + b`` for ``W (out, in)``: ``F.linear``, blocked for few rows on CPU (see module)."""
    n_in = x.shape[-1]
    n_out = weight.shape[0]
    rows = x.numel() // n_in if n_in else 0
    if (
        x.device.type != "cpu"
        or not 0 < rows <= MAX_BLOCKED_ROWS
        or n_out < MIN_BLOCKED_OUT
        or weight.dim() != 2
        or weight.shape[1] != n_in
        or not weight.is_contiguous()
    ):
        return F.linear(x, weight, bias)
    x2 = x.reshape(rows, n_in)
    main = n_out - n_out % BLOCKS
    blocks = weight[:main].view(BLOCKS, main // BLOCKS, n_in)
    y = torch.bmm(blocks, x2.t().expand(BLOCKS, n_in, rows)).reshape(main, rows)
    if main < n_out:
        y = torch.cat([y, torch.mm(weight[main:], x2.t())])
    y = y.t()
    if bias is not None:
        y = y + bias
    return y.reshape(*x.shape[:-1], n_out)


class Dense(nn.Linear):
    """``nn.Linear`` whose forward is :func:`linear` (the blocked few-row path on CPU)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias)
