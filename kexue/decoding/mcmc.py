"""Text by sampling: Metropolis–Hastings, simulated annealing and CGMH over token sequences.

【搜出来的文本】 (kexue.fm/archives/8062, 8084, 8119, 8194). Constrained generation is written
as sampling from an unnormalised target ``ρ(x)`` (e.g. ``p_LM(x)^γ · χ(x)``, χ = 1 iff the
keywords are present), or maximising it; MCMC only needs ratios of ρ.

**Proposal (CGMH**, Miao et al., AAAI 2019, arXiv:1811.10996): pick an operation uniformly
among those available (replace, insert, delete), then a position uniformly, then for replace
and insert a token ``c`` from a candidate distribution ``π(c | context)`` over a candidate set
``C(context)``, where the context is the sequence with the slot masked (replace) or a mask
inserted (insert). ``π`` is the target renormalised over ``C`` (``"target"``: ``ρ`` of the
sequence with ``c`` in the slot, CGMH's ``ReNormProba``; replace-only is then Gibbs sampling
with acceptance 1, 8119) or any ``proposal(context_tokens, slot) -> (candidates, log weights)``
(an MLM's logits at the mask, 8119).

**Acceptance (Metropolis–Hastings**, 8084): every path ``x → y`` (op, position, token) has a
unique reverse path (replace ``i: c`` ↔ replace ``i: x_i``; insert ``i: c`` ↔ delete ``i``),
and the move is accepted with

    A(y ← x) = min(1, ρ(y) q(x ← y) / (ρ(x) q(y ← x))),
    q(y ← x) = P(op | x) · 1 / #positions(op, x) · π(c | context)   (π omitted for delete),

which is detailed balance path by path, hence for the chain. The position-choice and
op-availability factors are **included** (the reference ``gpt_cgmh.py`` omits them, so its
chain is only approximately ρ-stationary), and the reverse candidate distribution is computed
on the same context, which is exact because ``C`` and ``π`` depend on the context only.
**Simulated annealing** uses ``ρ^{1/τ_t}`` with τ decreasing (``temperature=`` schedule).

Pitfalls: a reverse path whose token is outside ``C`` has probability 0 and the move is always
rejected (keep ``C`` large enough or use ``"target"`` over the full vocabulary); locked
positions (keywords) are never replaced or deleted, so the keywords stay, in order, by
construction; ρ must be positive on every reachable state (use log ρ = −inf only for
states the chain never enters).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["TextState", "Path", "CGMHSampler", "mh_log_acceptance"]

OPS = ("replace", "insert", "delete")


@dataclass(frozen=True)
class TextState:
    """A token sequence and which positions are locked (keywords: never replaced/deleted)."""

    tokens: tuple
    locked: tuple[bool, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.locked:
            object.__setattr__(self, "locked", (False,) * len(self.tokens))
        if len(self.locked) != len(self.tokens):
            raise ValueError("locked must have one flag per token")


@dataclass(frozen=True)
class Path:
    """One proposal: ``op`` at ``position`` with ``token`` (``None`` for delete)."""

    op: str
    position: int
    token: object = None


def mh_log_acceptance(log_rho_x: float, log_rho_y: float, log_q_xy: float,
                      log_q_yx: float) -> float:
    """``log min(1, ρ(y) q(x←y) / (ρ(x) q(y←x)))``; ``log_q_xy`` = log q(y ← x) (forward),
    ``log_q_yx`` = log q(x ← y) (reverse)."""
    if log_q_xy == -math.inf:
        raise ValueError("the forward proposal has probability 0")
    ratio = log_rho_y + log_q_yx - log_rho_x - log_q_xy
    return min(0.0, ratio) if not math.isnan(ratio) else -math.inf


class CGMHSampler:
    """MH / simulated-annealing sampler over token sequences with CGMH moves.

    Args:
        log_target: ``tokens (tuple) -> log ρ`` (unnormalised); e.g. ``γ · log p_LM``.
        vocab: the tokens a candidate may be (for ``proposal="target"``).
        proposal: ``"target"`` or ``proposal(context, slot) -> (candidates, log_weights)``
            where ``context`` is the token tuple with ``mask`` at ``slot``.
        mask: the placeholder token put in the slot for ``proposal``.
        ops: the operations used (a subset of replace, insert, delete).
        min_len, max_len: length bounds (insert is unavailable at ``max_len``, delete at
            ``min_len``).
        temperature: ``step -> τ`` for simulated annealing (target ``ρ^{1/τ}``); ``None``
            samples ρ itself (τ = 1).
    """

    def __init__(self, log_target: Callable[[tuple], float], *, vocab: Sequence = (),
                 proposal: str | Callable = "target", mask: object = "[MASK]",
                 ops: Sequence[str] = OPS, min_len: int = 1, max_len: int = 32,
                 temperature: Callable[[int], float] | None = None) -> None:
        bad = [o for o in ops if o not in OPS]
        if bad or not ops:
            raise ValueError(f"ops must be a non-empty subset of {OPS}, got {list(ops)}")
        if proposal == "target" and not vocab:
            raise ValueError("proposal='target' needs the vocab to draw candidates from")
        if proposal != "target" and not callable(proposal):
            raise TypeError("proposal must be 'target' or a callable (context, slot) -> "
                            "(candidates, log_weights)")
        if not 0 <= min_len <= max_len:
            raise ValueError(f"need 0 <= min_len <= max_len, got {min_len}, {max_len}")
        self.log_target = log_target
        self.vocab = tuple(vocab)
        self.proposal = proposal
        self.mask = mask
        self.ops = tuple(ops)
        self.min_len, self.max_len = min_len, max_len
        self.temperature = temperature
        self.step = 0
        self.stats = {op: [0, 0] for op in OPS}  # proposed, accepted

    # ----------------------------------------------------------- proposal pieces
    def log_rho(self, tokens: tuple) -> float:
        tau = 1.0 if self.temperature is None else float(self.temperature(self.step))
        if not tau > 0:
            raise ValueError(f"temperature must be > 0, got {tau}")
        return float(self.log_target(tokens)) / tau

    def available_ops(self, state: TextState) -> list[str]:
        n, free = len(state.tokens), sum(not lk for lk in state.locked)
        out = []
        for op in self.ops:
            if op == "replace" and free > 0:
                out.append(op)
            elif op == "insert" and n < self.max_len:
                out.append(op)
            elif op == "delete" and free > 0 and n > self.min_len:
                out.append(op)
        return out

    def positions(self, state: TextState, op: str) -> list[int]:
        if op == "insert":
            return list(range(len(state.tokens) + 1))
        return [i for i, lk in enumerate(state.locked) if not lk]

    def candidates(self, state: TextState, op: str, position: int) -> tuple[list, list[float]]:
        """Candidate tokens and their normalised log-probabilities π for ``op`` at
        ``position`` (the slot is ``position``; for insert, before token ``position``)."""
        toks = list(state.tokens)
        if op == "insert":
            toks.insert(position, self.mask)
        else:
            toks[position] = self.mask
        if self.proposal == "target":
            cands = list(self.vocab)
            logw = []
            for c in cands:
                toks[position] = c
                logw.append(self.log_rho(tuple(toks)))
        else:
            cands, logw = self.proposal(tuple(toks), position)
            cands, logw = list(cands), [float(w) for w in logw]
        top = max(logw)
        if top == -math.inf:
            raise ValueError("every candidate has probability 0")
        log_z = top + math.log(sum(math.exp(w - top) for w in logw))
        return cands, [w - log_z for w in logw]

    def apply(self, state: TextState, path: Path) -> TextState:
        toks, locked = list(state.tokens), list(state.locked)
        if path.op == "replace":
            toks[path.position] = path.token
        elif path.op == "insert":
            toks.insert(path.position, path.token)
            locked.insert(path.position, False)
        else:
            del toks[path.position]
            del locked[path.position]
        return TextState(tuple(toks), tuple(locked))

    def reverse(self, state: TextState, path: Path) -> Path:
        if path.op == "replace":
            return Path("replace", path.position, state.tokens[path.position])
        if path.op == "insert":
            return Path("delete", path.position)
        return Path("insert", path.position, state.tokens[path.position])

    def log_q(self, state: TextState, path: Path) -> float:
        """log q(path | state): op choice × position choice × candidate probability."""
        ops = self.available_ops(state)
        if path.op not in ops:
            return -math.inf
        pos = self.positions(state, path.op)
        if path.position not in pos:
            return -math.inf
        lq = -math.log(len(ops)) - math.log(len(pos))
        if path.op == "delete":
            return lq
        cands, logp = self.candidates(state, path.op, path.position)
        for c, lp in zip(cands, logp):
            if c == path.token:
                return lq + lp
        return -math.inf

    def log_acceptance(self, state: TextState, path: Path) -> float:
        """The MH log acceptance of ``path`` from ``state`` (module docstring)."""
        new = self.apply(state, path)
        return mh_log_acceptance(self.log_rho(state.tokens), self.log_rho(new.tokens),
                                 self.log_q(state, path),
                                 self.log_q(new, self.reverse(state, path)))

    # ----------------------------------------------------------------- sampling
    def propose(self, state: TextState, rng: random.Random) -> Path:
        ops = self.available_ops(state)
        if not ops:
            raise ValueError("no operation is available in this state")
        op = rng.choice(ops)
        position = rng.choice(self.positions(state, op))
        if op == "delete":
            return Path(op, position)
        cands, logp = self.candidates(state, op, position)
        token = rng.choices(cands, weights=[math.exp(lp) for lp in logp])[0]
        return Path(op, position, token)

    def transition(self, state: TextState, rng: random.Random) -> TextState:
        """One MH step (a rejection is a step: the state stays)."""
        path = self.propose(state, rng)
        self.stats[path.op][0] += 1
        accept = self.log_acceptance(state, path)
        self.step += 1
        if rng.random() < math.exp(accept):
            self.stats[path.op][1] += 1
            return self.apply(state, path)
        return state

    def run(self, state: TextState, steps: int, *, seed: int | None = None) -> list[TextState]:
        """``steps`` transitions from ``state``; returns every visited state (``steps + 1``)."""
        rng = random.Random(seed)
        out = [state]
        for _ in range(steps):
            state = self.transition(state, rng)
            out.append(state)
        return out

    def acceptance_rates(self) -> dict[str, float | None]:
        return {op: (a / p if p else None) for op, (p, a) in self.stats.items()}
