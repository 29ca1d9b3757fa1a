r"""The baselines of the BioWord comparison, all from the same corpus slice.

Dense vectors (what the blog says FlyVec stays below):

- :func:`ppmi` + :func:`svd_vectors`: the positive PMI co-occurrence matrix (context counts
  smoothed by the power 0.75, Levy, Goldberg & Dagan 2015) and its truncated SVD,
  :math:`U_d\Sigma_d^{1/2}`;
- :func:`train_sgns`: word2vec's skip-gram with negative sampling (Mikolov et al. 2013), trained
  through ``kexue.train.fit`` with :func:`kexue.objectives.negative_sampling_loss`.

Binary hashes at the same number of bits K (the blog: as a binarisation FlyVec has no edge over
random projections):

- :func:`flyhash` (Dasgupta, Stevens & Navlakha, Science 2017): a fixed random *binary*
  projection :math:`M\in\{0,1\}^{D\times K}` (each cell samples a fixed share of the inputs),
  then winner-take-all: the k largest of :math:`xM` → 1;
- :func:`simhash` (Charikar 2002): :math:`\mathrm{sgn}(xG)`, :math:`G` Gaussian — dense bits
  whose Hamming distance estimates the angle, :math:`\mathbb E[d_H/K] = \angle(x, y)/\pi`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from kexue.recipes.bioword.biohash import top_k_hash

__all__ = ["cooccurrence", "flyhash", "ppmi", "simhash", "svd_vectors", "train_sgns"]


def cooccurrence(centre: np.ndarray, context: np.ndarray, vocab_size: int):
    """Sparse ``(V, V)`` counts: row = centre word, column = a context word of its window."""
    from scipy import sparse

    rows = np.repeat(centre, context.shape[1])
    cols = context.reshape(-1)
    keep = cols >= 0
    data = np.ones(int(keep.sum()), dtype=np.float64)
    m = sparse.coo_matrix((data, (rows[keep], cols[keep])), shape=(vocab_size, vocab_size))
    return m.tocsr()


def ppmi(counts, alpha: float = 0.75):
    """Positive PMI of a sparse count matrix, context probabilities smoothed by ``alpha``."""
    c = counts.tocoo()
    total = c.sum()
    row = np.asarray(counts.sum(1)).ravel()
    col = np.asarray(counts.sum(0)).ravel() ** alpha
    col = col / col.sum()
    pmi = np.log(c.data * 1.0 / total) - np.log(row[c.row] / total) - np.log(col[c.col])
    keep = pmi > 0
    from scipy import sparse

    return sparse.csr_matrix((pmi[keep], (c.row[keep], c.col[keep])), shape=counts.shape)


def svd_vectors(matrix, dim: int, seed: int = 0) -> np.ndarray:
    """``U_d Σ_d^{1/2}`` of a (sparse) matrix by randomized SVD (scikit-learn)."""
    from sklearn.utils.extmath import randomized_svd

    u, s, _ = randomized_svd(matrix, dim, random_state=seed)
    return (u * np.sqrt(s)).astype(np.float32)


def flyhash(x, bits: int, k: int, sample: float = 0.1, seed: int = 0) -> torch.Tensor:
    """FlyHash of the rows of ``x`` (``(N, D)``, dense or scipy sparse, non-negative): every
    one of ``bits`` cells sums a random ``sample`` share of the D inputs; top ``k`` → 1."""
    d = x.shape[1]
    m = max(1, round(sample * d))
    rng = np.random.default_rng(seed)
    proj = np.zeros((d, bits), dtype=np.float32)
    for j in range(bits):
        proj[rng.choice(d, m, replace=False), j] = 1.0
    act = x @ proj
    return top_k_hash(torch.as_tensor(np.asarray(act, dtype=np.float32)), k)


def simhash(x: np.ndarray, bits: int, seed: int = 0) -> torch.Tensor:
    """SimHash bits ``(N, bits)`` (uint8, 1 where :math:`xG > 0`) of dense rows ``x``."""
    g = np.random.default_rng(seed).standard_normal((x.shape[1], bits))
    return torch.as_tensor((np.asarray(x, dtype=np.float64) @ g > 0).astype(np.uint8))


class _SkipGram(torch.nn.Module):
    def __init__(self, vocab_size: int, dim: int) -> None:
        super().__init__()
        self.inp = torch.nn.Embedding(vocab_size, dim)
        self.out = torch.nn.Embedding(vocab_size, dim)
        torch.nn.init.uniform_(self.inp.weight, -0.5 / dim, 0.5 / dim)
        torch.nn.init.zeros_(self.out.weight)


class _PairBatches(torch.utils.data.Dataset):
    """Batch ``i`` of the (shuffled once) skip-gram pairs, so the loader does no per-pair work."""

    def __init__(self, pairs: np.ndarray, batch_size: int) -> None:
        self.pairs = torch.from_numpy(pairs)
        self.batch_size = batch_size

    def __len__(self) -> int:
        return math.ceil(len(self.pairs) / self.batch_size)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.pairs[i * self.batch_size:(i + 1) * self.batch_size]


def train_sgns(centre: np.ndarray, context: np.ndarray, counts: np.ndarray, dim: int = 100,
               epochs: int = 3, negatives: int = 5, batch_size: int = 4096, lr: float = 0.01,
               subsample: float = 1e-4, seed: int = 0) -> np.ndarray:
    """Skip-gram with negative sampling over the windows' (centre, context) pairs; frequent
    words subsampled (keep probability :math:`\\min(1, \\sqrt{t/f})`), negatives from the
    unigram distribution to the 3/4. Returns the input vectors ``(V, dim)``."""
    from torch.utils.data import DataLoader

    from kexue.objectives.nce import negative_sampling_loss
    from kexue.train import fit

    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    f = counts / counts.sum()
    keep_p = np.minimum(1.0, np.sqrt(subsample / f))
    rows = np.repeat(centre, context.shape[1])
    cols = context.reshape(-1)
    ok = cols >= 0
    rows, cols = rows[ok], cols[ok]
    ok = (rng.random(len(rows)) < keep_p[rows]) & (rng.random(len(rows)) < keep_p[cols])
    pairs = np.stack([rows[ok], cols[ok]], 1)[rng.permutation(int(ok.sum()))]
    if len(pairs) == 0:
        raise ValueError("no skip-gram pairs left after subsampling")
    noise = torch.from_numpy(counts.astype(np.float64) ** 0.75)
    noise = (noise / noise.sum()).float()
    model = _SkipGram(len(counts), dim)
    opt = torch.optim.SparseAdam(list(model.parameters()), lr=lr)

    def loss_fn(m: _SkipGram, batch: torch.Tensor) -> torch.Tensor:
        u = m.inp(batch[:, 0])
        pos = (u * m.out(batch[:, 1])).sum(-1)
        neg_ids = torch.multinomial(noise, batch.shape[0] * negatives, replacement=True)
        neg = torch.bmm(m.out(neg_ids).view(batch.shape[0], negatives, -1),
                        u.unsqueeze(-1)).squeeze(-1)
        return negative_sampling_loss(pos, neg)

    model.inp.sparse = model.out.sparse = True
    loader = DataLoader(_PairBatches(pairs, batch_size), batch_size=None, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    fit(model, loss_fn, loader, optimizer=opt, epochs=epochs, progress=False, log_every=10_000)
    return model.inp.weight.detach().numpy().copy()
