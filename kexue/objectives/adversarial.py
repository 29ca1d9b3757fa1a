"""Adversarial training on the embedding layer: FGM (Su's global-norm variant on the
embedding matrix, and the per-sample variant) and virtual adversarial training (VAT).

Articles: https://kexue.fm/archives/7234 (对抗训练浅谈: 意义、方法和思考) and
https://kexue.fm/archives/7466 (泛化性乱弹: 从随机噪声、梯度惩罚到虚拟对抗训练).
Papers: Goodfellow et al., "Explaining and Harnessing Adversarial Examples", ICLR 2015 (FGM);
Miyato et al., "Adversarial Training Methods for Semi-Supervised Text Classification",
ICLR 2017; Miyato et al., "Virtual Adversarial Training", TPAMI 2018, arXiv:1704.03976.
Works with any ``nn.Module`` that looks tokens up through an ``nn.Embedding``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .embedding import embedding_offset, find_embedding

__all__ = ["FGM", "VAT", "kl_divergence_from_logits"]

_NORMS = ("global", "per_sample")


def _check_norm(norm: str) -> str:
    if norm not in _NORMS:
        raise ValueError(f"norm must be one of {_NORMS}, got {norm!r}")
    return norm


def _normalize(g: Tensor, norm: str, tiny: float = 1e-12) -> Tensor:
    if norm == "global":
        return g / (g.norm() + tiny)
    flat = g.reshape(g.shape[0], -1).norm(dim=1)
    return g / (flat.reshape((-1,) + (1,) * (g.dim() - 1)) + tiny)


def _check_eps(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < 1e30:
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    return float(value)


class FGM:
    r"""Fast gradient method on the embedding layer: :math:`\Delta=\varepsilon\,g/\|g\|`.

    * ``norm="global"`` (Su's variant, 7234): ``g`` is the gradient of the loss w.r.t. the
      **embedding matrix**, normalised by its Frobenius norm over the whole matrix; the
      matrix itself is shifted, so a token gets the same perturbation everywhere in the
      batch. The matrix is restored **bit-identically** from a saved copy on exit (adding and
      subtracting Δ would not round-trip in floating point).
    * ``norm="per_sample"`` (Miyato et al.): ``g`` is the gradient w.r.t. the embedding
      **output**, normalised per example; it is added to the output through a forward hook.
      Wrap the clean forward in :meth:`watch` so the output is recorded.

    Usage (Su's recipe updates with the adversarial loss only; add ``loss.backward()`` before
    for the common clean + adversarial variant, with ``retain_graph=True`` in ``perturb``)::

        fgm = FGM(model, epsilon=0.5, name="embeddings.token")
        with fgm.watch():                     # needed for norm="per_sample" only
            loss = criterion(model(x), y)
        with fgm.perturb(loss):
            criterion(model(x), y).backward()  # gradients at the perturbed embeddings
        optimizer.step()                       # after the block (the matrix is restored)

    To first order this trains on :math:`L+\varepsilon\|\nabla_E L\|` (see
    :func:`~kexue.objectives.gradient_penalty`). ε: 0.5 in Su's IFLYTEK example; cost ≈ 2×.
    """

    def __init__(
        self,
        model: nn.Module,
        epsilon: float = 0.5,
        *,
        name: str | None = None,
        norm: str = "global",
    ) -> None:
        self.embedding = find_embedding(model, name)
        self.epsilon = _check_eps("epsilon", epsilon)
        self.norm = _check_norm(norm)
        self._watched: Tensor | None = None
        self.last_delta: Tensor | None = None

    @contextmanager
    def watch(self) -> Iterator[None]:
        """Record the embedding output of the forward run inside this block."""

        def hook(module: nn.Module, args: tuple, out: Tensor) -> None:
            self._watched = out

        handle = self.embedding.register_forward_hook(hook)
        try:
            yield
        finally:
            handle.remove()

    def delta(self, loss: Tensor, *, retain_graph: bool = False) -> Tensor:
        """The perturbation ε g / ‖g‖ for ``loss`` (leaves every ``.grad`` untouched)."""
        if not isinstance(loss, Tensor) or loss.dim() != 0:
            raise ValueError("loss must be a scalar tensor")
        if self.norm == "global":
            target = self.embedding.weight
        else:
            if self._watched is None:
                raise ValueError("norm='per_sample' needs the clean forward inside fgm.watch()")
            target = self._watched
        (g,) = torch.autograd.grad(loss, target, retain_graph=retain_graph)
        return (self.epsilon * _normalize(g, self.norm)).detach()

    @contextmanager
    def perturb(self, loss: Tensor, *, retain_graph: bool = False) -> Iterator[Tensor]:
        """Apply the perturbation for ``loss`` inside the block; yields it."""
        delta = self.delta(loss, retain_graph=retain_graph)
        self.last_delta = delta
        if self.norm == "per_sample":
            self._watched = None
            with embedding_offset(self.embedding, lambda ids, out: delta.to(out.dtype)):
                yield delta
            return
        weight = self.embedding.weight
        backup = weight.detach().clone()
        try:
            with torch.no_grad():
                weight.add_(delta)
            yield delta
        finally:
            with torch.no_grad():
                weight.copy_(backup)


def kl_divergence_from_logits(target_logits: Tensor, logits: Tensor) -> Tensor:
    r""":math:`\mathrm{KL}(\mathrm{softmax}(t)\,\|\,\mathrm{softmax}(l))` over the last axis,
    averaged over the other axes (the VAT distance)."""
    if target_logits.shape != logits.shape:
        raise ValueError(
            f"logit shapes differ: {tuple(target_logits.shape)} vs {tuple(logits.shape)}"
        )
    logp = F.log_softmax(target_logits, dim=-1)
    logq = F.log_softmax(logits, dim=-1)
    return (logp.exp() * (logp - logq)).sum(-1).mean()


class VAT:
    r"""Virtual adversarial training on the embedding layer (7466).

    Maximise :math:`l(f(x+\varepsilon),f_{ng}(x))\approx\tfrac12\varepsilon^\top H\varepsilon`:
    the worst direction is the top eigenvector of H, found by power iteration with finite
    differences :math:`Hu\approx\nabla_u l(f(x+\xi u), f_{ng}(x))/\xi`:

    1. :math:`u\sim\mathcal N(0,I)`; 2. ``iters`` times: :math:`u\leftarrow u/\|u\|`,
       :math:`u\leftarrow\nabla l(f(x+\xi u),f_{ng}(x))`; 3. return
       :math:`l(f(x+\varepsilon u/\|u\|),f_{ng}(x))` to be added to the loss.

    ``iters=0`` is random (Gaussian-direction) noise. Needs no labels, so it works on
    unlabelled data. Su's defaults: ε = 1, ξ = 10, one iteration, global norm over the
    embedding matrix; like Su, the clean prediction :math:`f_{ng}` is a constant (no gradient
    through x or θ) — an approximation whose error is second order.
    ``norm="per_sample"`` perturbs the embedding output per example (Miyato et al.).
    The embedding weights are never modified (the offset goes through a forward hook).
    """

    def __init__(
        self,
        model: nn.Module,
        epsilon: float = 1.0,
        xi: float = 10.0,
        iters: int = 1,
        *,
        name: str | None = None,
        norm: str = "global",
        distance: Callable[[Tensor, Tensor], Tensor] = kl_divergence_from_logits,
        generator: torch.Generator | None = None,
    ) -> None:
        self.embedding = find_embedding(model, name)
        self.epsilon = _check_eps("epsilon", epsilon)
        self.xi = _check_eps("xi", xi)
        if not isinstance(iters, int) or iters < 0:
            raise ValueError(f"iters must be an int >= 0, got {iters!r}")
        self.iters = iters
        self.norm = _check_norm(norm)
        self.distance = distance
        self.generator = generator
        self.last_direction: Tensor | None = None

    def _offset(self, state: dict) -> Callable[[Tensor, Tensor], Tensor]:
        def offset(ids: Tensor, out: Tensor) -> Tensor:
            if state["d"] is None:  # per-sample mode: shape known only now
                u = torch.randn(out.shape, generator=self.generator, dtype=out.dtype)
                state["d"] = (state["scale"] * _normalize(u, self.norm)).to(out.device)
                state["d"].requires_grad_(state["grad"])
            d = state["d"]
            if self.norm == "global":
                return F.embedding(ids, d)
            return d

        return offset

    def loss(self, forward: Callable[[], Tensor], logits: Tensor) -> Tensor:
        """VAT loss for one batch.

        Args:
            forward: runs the model on the **same batch** and returns logits (called
                ``iters + 1`` times under the perturbation).
            logits: the clean logits of that batch (detached inside).
        """
        target = logits.detach()
        weight = self.embedding.weight
        u: Tensor | None = None
        if self.norm == "global":
            u = torch.randn(weight.shape, generator=self.generator, dtype=weight.dtype)
            u = u.to(weight.device)
        for _ in range(self.iters):
            state = {"scale": self.xi, "grad": True, "d": None}
            if u is not None:
                state["d"] = (self.xi * _normalize(u, self.norm)).requires_grad_()
            with embedding_offset(self.embedding, self._offset(state)):
                dist = self.distance(target, forward())
            (u,) = torch.autograd.grad(dist, state["d"])
        state = {"scale": self.epsilon, "grad": False, "d": None}
        if u is not None:
            state["d"] = (self.epsilon * _normalize(u, self.norm)).detach()
        with embedding_offset(self.embedding, self._offset(state)):
            out = self.distance(target, forward())
        self.last_direction = state["d"].detach() / self.epsilon
        return out
