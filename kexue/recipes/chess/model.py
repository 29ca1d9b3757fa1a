"""The chess language model of https://kexue.fm/archives/7877 (用GPT玩中国象棋).

A game is the string of its ICCS moves (``h2e2h9g7...``), one token per character over a
20-token vocabulary (``[PAD]`` + ``0-9`` + ``a-i``), so a move is 4 tokens; the sequence is
``[PAD] + chars`` (id 0 doubles as the start token, as in the article). A causal GPT-2
(kexue's ``gpt2`` family) learns ``p(char | previous chars)`` by cross-entropy.

It never generates freely: at play time every legal move ``m = m_1 m_2 m_3 m_4`` of the
position is scored by ``log p(m | game) = sum_i log p(m_i | game, m_<i)``, all legal moves in
one batch through the game's KV cache (:func:`kexue.decoding.score_continuations`), and the
argmax is played, so every move is legal by construction. At most 111 moves are legal in any
position (the article's bound), 44 at the start.

Pitfall: the article pads with id 0 and also starts with it; padding is masked by the
attention mask and in the loss, the start token is not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from kexue.decoding import AutoRegressiveDecoder, score_continuations
from kexue.recipes.chess.board import Board, Move
from kexue.recipes.chess.movegen import legal_moves
from kexue.recipes.chess.notation import to_iccs

__all__ = ["VOCAB", "encode", "build_model", "load_model", "lm_loss", "MoveScorer",
           "MAX_PLIES", "trim_positions"]

VOCAB = ["[PAD]"] + list("0123456789abcdefghi")
_ID = {c: i for i, c in enumerate(VOCAB)}
#: positions of the shipped model: the start token + 255 moves of 4 characters
MAX_POSITIONS = 1024
MAX_PLIES = (MAX_POSITIONS - 1) // 4 - 1  # room for one more move to be scored


def encode(moves: Sequence[str], *, start: bool = True) -> list[int]:
    """``["h2e2", "h9g7"]`` -> ``[0, 18, 2, 15, 2, 18, 9, 17, 7]`` (with the start token)."""
    ids = [0] if start else []
    for mv in moves:
        if len(mv) != 4:
            raise ValueError(f"not an ICCS move: {mv!r}")
        try:
            ids.extend(_ID[c] for c in mv)
        except KeyError:
            raise ValueError(f"not an ICCS move: {mv!r}") from None
    return ids


def build_model(*, layers: int = 4, hidden: int = 128, heads: int = 4,
                max_positions: int = MAX_POSITIONS, dropout: float = 0.0) -> nn.Module:
    """A fresh GPT-2 over the 20-token vocabulary (4 x 128: 0.8 M parameters)."""
    from kexue.models import build_transformer_model

    config = {"model_type": "gpt2", "vocab_size": len(VOCAB), "n_embd": hidden,
              "n_layer": layers, "n_head": heads, "n_positions": max_positions,
              "resid_pdrop": dropout, "attn_pdrop": dropout, "embd_pdrop": dropout}
    return build_transformer_model(config, model="gpt2", application="lm")


def trim_positions(model: nn.Module, positions: int) -> nn.Module:
    """A copy of ``model`` that keeps only its first ``positions`` position embeddings.

    A model trained on sequences of ``L`` tokens has learnt ``L - 1`` input positions; the rest
    of its table is still the random initialisation. Shipping the trimmed model makes that
    limit part of the file: :class:`MoveScorer` then keeps a window of the most recent moves
    that fits the trained positions instead of reading untrained embeddings late in a game.
    """
    n = model.config.max_position_embeddings
    if not 4 < positions <= n:
        raise ValueError(f"positions must be in 5..{n}, got {positions}")
    c = model.config
    out = build_model(layers=c.num_hidden_layers, hidden=c.hidden_size,
                      heads=c.num_attention_heads, max_positions=positions)
    state = dict(model.state_dict())
    state["position.weight"] = state["position.weight"][:positions].clone()
    out.load_state_dict(state, strict=True)
    return out.train(model.training)


def load_model(path: str | Path) -> nn.Module:
    """A saved chess model (HF-format directory), float32, in eval mode."""
    from kexue.models import build_transformer_model

    model = build_transformer_model(checkpoint_path=path, model="gpt2", application="lm",
                                    dtype=torch.float32)
    if model.config.vocab_size != len(VOCAB):
        raise ValueError(f"{path} is not a chess model: vocabulary of "
                         f"{model.config.vocab_size} tokens, expected {len(VOCAB)}")
    return model


def lm_loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean next-character cross-entropy; padding is neither attended to nor predicted."""
    ids, mask = batch["token_ids"], batch["attention_mask"]
    logits = model(ids[:, :-1], attention_mask=mask[:, :-1]).logits
    target = ids[:, 1:].masked_fill(mask[:, 1:] == 0, -100)
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(),
                                       target.reshape(-1), ignore_index=-100)


class MoveScorer:
    """Scores the legal moves of a position by the model, all in one batch.

    ``scores(moves)`` replays ``moves`` (ICCS) from the start and returns the legal moves of
    the position reached and their log-probabilities ``log p(move | game)``.
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model.eval()
        self.decoder = AutoRegressiveDecoder(model, end_id=None, pad_id=0)
        self.max_plies = (model.config.max_position_embeddings - 1) // 4 - 1

    def legal_scores(self, history: Sequence[str], legal: Sequence[Move]
                     ) -> torch.Tensor:
        """``log p(m | history)`` of each move of ``legal`` (one forward for all of them)."""
        if len(history) > self.max_plies:
            history = history[len(history) - self.max_plies:]  # window (outside training)
        prefix = encode(history)
        cands = [encode([to_iccs(m)], start=False) for m in legal]
        return score_continuations(self.decoder, prefix, cands)

    def legal_scores_one_by_one(self, history: Sequence[str], legal: Sequence[Move]
                                ) -> torch.Tensor:
        """The same numbers, one forward pass of the whole game + move per legal move (the
        slow way, for the benchmark and the parity test)."""
        prefix = encode(history[-self.max_plies:] if len(history) > self.max_plies else history)
        out = []
        with torch.inference_mode():
            for m in legal:
                ids = torch.tensor([prefix + encode([to_iccs(m)], start=False)])
                logp = torch.log_softmax(self.model(ids).logits[0, -5:-1].float(), dim=-1)
                out.append(logp.gather(1, ids[0, -4:, None]).sum())
        return torch.stack(out)

    def scores(self, board: Board, history: Sequence[str]) -> tuple[list[Move], torch.Tensor]:
        """The legal moves of ``board`` (reached by ``history``) and their log-probabilities,
        normalised over the legal moves' total (``logsumexp = 0``)."""
        legal = legal_moves(board)
        if not legal:
            return [], torch.empty(0)
        s = self.legal_scores(history, legal)
        return legal, s - torch.logsumexp(s, 0)

    def best(self, board: Board, history: Sequence[str]) -> Move:
        legal, s = self.scores(board, history)
        if not legal:
            raise ValueError("no legal move: the game is over")
        return legal[int(torch.argmax(s))]


def perplexity(total_nll: float, n: int) -> float:
    return math.exp(total_nll / max(n, 1))
