r"""BioHash, as FlyVec trains it: K "Kenyon cells" learn by a winner-only Hebbian rule.

Article: https://kexue.fm/archives/8159 (一个二值化词向量模型，是怎么跟果蝇搭上关系的？).
Papers: Liang et al., "Can a Fruit Fly Learn Word Embeddings?", ICLR 2021 (arXiv:2101.06887);
Ryali et al., "Bio-Inspired Hashing for Unsupervised Similarity Search", ICML 2020.

Input: a window A of words as :math:`v^A\in\{0,1\}^{2V}` — the first V entries the bag of
context words, the last V the one-hot centre word; :math:`p` the corpus word frequencies
(repeated for both halves). K cells with weights :math:`W_\mu\in\mathbb R^{2V}`.

- **Energy** :math:`E = -\sum_A \langle W_{\hat\mu}, v^A/p\rangle / \|W_{\hat\mu}\|`, with the
  winner :math:`\hat\mu = \arg\max_\mu \langle W_\mu, v^A\rangle` chosen on the raw input.
- **Learning rule** (winner only, no backprop):
  :math:`\Delta W_{\hat\mu} = \varepsilon\,(v^A/p - \langle W_{\hat\mu}, v^A/p\rangle W_{\hat\mu})`
  — Oja's rule, whose fixed point has :math:`\|W_{\hat\mu}\| = 1`
  (:math:`\tfrac{d}{dt}\|W\|^2 \propto \langle W, x\rangle (1 - \|W\|^2)`). As in the official
  code the updates of a minibatch are summed and scaled by the batch's largest
  :math:`|\Delta|`, the rate decays as :math:`\varepsilon(1 - \text{epoch}/N_{ep})`, and the
  weights start from :math:`\mathcal N(0, 0.02^2)`. Pitfall: with that scaling no element
  moves more than ε per step, so the official ε = 0.002 (for OpenWebText) barely moves the
  weights on a corpus slice of ~50 steps an epoch (median ‖W‖ 2.83 → 2.78 in one epoch on
  20,000 lines, ε = 0.02: 2.44); ε = 0.1 brings it to 1.07 in one epoch.
- **Hash**: the activations :math:`\langle W_\mu, v\rangle`, top-k set to 1, the rest 0
  (exactly k ones; ties broken by cell index). Static word vector: the centre half only
  (column :math:`V + w`); context ("dynamic") vector: the whole window.

Pitfall (Su): the winner uses the *unnormalised* product on the raw input while the energy
uses the normalised one on :math:`v/p`; the rule itself makes :math:`\|W\| \to 1`, after which
the two agree up to the :math:`1/p` weighting.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["BioHash", "top_k_hash"]


def top_k_hash(activations: torch.Tensor, k: int) -> torch.Tensor:
    """``(..., K)`` activations → ``(..., K)`` 0/1 uint8 with exactly ``k`` ones per row: the
    k largest (ties: the lower cell index wins)."""
    n = activations.shape[-1]
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..{n}, got {k}")
    # a stable descending sort puts the lower index first among equal activations
    order = torch.sort(activations, dim=-1, descending=True, stable=True).indices[..., :k]
    out = torch.zeros(activations.shape, dtype=torch.uint8)
    return out.scatter_(-1, order, 1)


class BioHash:
    """``K`` cells over ``2 * vocab_size`` inputs; ``counts``: the corpus count of each word.

    ``weights`` is stored transposed, ``(2V + 1, K)``: one row per input dimension plus a zero
    row for padding (index ``2V``), so a window's activations are an ``embedding_bag``.
    """

    def __init__(self, counts: np.ndarray, hidden: int = 400, init_std: float = 0.02,
                 seed: int = 0) -> None:
        counts = np.asarray(counts, dtype=np.float64)
        if counts.ndim != 1 or len(counts) < 1 or (counts <= 0).any():
            raise ValueError("counts must be a 1-D array of positive word counts")
        self.vocab_size = len(counts)
        self.hidden = hidden
        p = counts / counts.sum()
        inv = torch.from_numpy(np.concatenate([1 / p, 1 / p, [0.0]])).float()
        self.inv_p = inv  # (2V + 1,): 1/p per input dimension, 0 for padding
        g = torch.Generator().manual_seed(seed)
        w = torch.randn(2 * self.vocab_size + 1, hidden, generator=g) * init_std
        w[-1] = 0.0
        self.weights = w

    @property
    def pad(self) -> int:
        return 2 * self.vocab_size

    def inputs(self, centre: np.ndarray, context: np.ndarray | None) -> torch.Tensor:
        """Window ids (centre ``(N,)``, context ``(N, C)`` with -1 padding; ``None``: static)
        → ``(N, 1 + C)`` input-dimension indices (context word i → i, centre w → V + w)."""
        c = torch.as_tensor(centre, dtype=torch.long).view(-1, 1) + self.vocab_size
        if context is None:
            return c
        ctx = torch.as_tensor(context, dtype=torch.long)
        ctx = torch.where(ctx < 0, torch.full_like(ctx, self.pad), ctx)
        return torch.cat([c, ctx], dim=1)

    def activations(self, idx: torch.Tensor, scaled: bool = False) -> torch.Tensor:
        """``(N, K)``: :math:`\\langle W_\\mu, v\\rangle` (or with :math:`v/p` when
        ``scaled``) for the windows ``idx`` from :meth:`inputs`."""
        psw = self.inv_p[idx].reshape(-1) if scaled else None
        if psw is None:
            return F.embedding_bag(idx, self.weights, mode="sum", padding_idx=self.pad)
        flat = idx.reshape(-1)
        offsets = torch.arange(0, flat.numel(), idx.shape[1])
        return F.embedding_bag(flat, self.weights, offsets, mode="sum",
                               per_sample_weights=psw)

    def norms(self) -> torch.Tensor:
        """``‖W_μ‖`` per cell."""
        return self.weights.norm(dim=0)

    def energy(self, idx: torch.Tensor) -> float:
        """:math:`E` summed over the windows ``idx``."""
        win = self.activations(idx).argmax(1)
        s = self.activations(idx, scaled=True).gather(1, win.view(-1, 1)).squeeze(1)
        return float(-(s / self.norms()[win]).sum())

    def step(self, idx: torch.Tensor, lr: float) -> torch.Tensor:
        """One minibatch of the winner-only rule; returns the winners ``(N,)``."""
        win = self.activations(idx).argmax(1)
        dot = self.activations(idx, scaled=True).gather(1, win.view(-1, 1)).squeeze(1)
        # Oja's decay: ds[:, mu] = -(sum of <W_mu, v/p> over mu's windows) * W[:, mu]
        c = torch.zeros(self.hidden).index_add_(0, win, dot)
        ds = self.weights * (-c).view(1, -1)
        # Hebbian part: ds[i, winner] += 1/p_i for every active input i of the window
        # (padding has 1/p = 0 and a zero weight row, so its row of ds stays 0)
        flat = (idx * self.hidden + win.view(-1, 1)).reshape(-1)
        ds.view(-1).index_add_(0, flat, self.inv_p[idx].reshape(-1))
        m = torch.linalg.vector_norm(ds, ord=float("inf"))
        if m > 0:
            self.weights.add_(ds, alpha=float(lr / m))
        return win

    def train(self, centre: np.ndarray, context: np.ndarray, epochs: int = 15,
              lr: float = 0.1, batch_size: int = 10_000, seed: int = 0,
              callback=None) -> None:
        """``epochs`` passes over the windows in a fresh random order each, the rate
        decaying as ``lr * (1 - epoch / epochs)``; ``callback(epoch)`` after each."""
        n = len(centre)
        if n == 0:
            raise ValueError("no training windows")
        rng = np.random.default_rng(seed)
        for epoch in range(epochs):
            rate = lr * (1 - epoch / epochs)
            order = rng.permutation(n)
            for start in range(0, n, batch_size):
                b = order[start:start + batch_size]
                self.step(self.inputs(centre[b], context[b]), rate)
            if callback is not None:
                callback(epoch)

    def static_hash(self, words: np.ndarray, k: int) -> torch.Tensor:
        """``(N, K)`` 0/1: the hash of each word alone (context half empty)."""
        return top_k_hash(self.activations(self.inputs(words, None)), k)

    def context_hash(self, centre: np.ndarray, context: np.ndarray, k: int) -> torch.Tensor:
        """``(N, K)`` 0/1: the hash of each word in its window ("dynamic" vector)."""
        return top_k_hash(self.activations(self.inputs(centre, context)), k)
