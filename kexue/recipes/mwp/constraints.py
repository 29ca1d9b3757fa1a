"""Constrained decoding for the solver: only well-formed expressions over allowed numbers.

The issue's hook (kexue.fm/archives/7809 decodes freely; the article suggests a copy mechanism
for numbers as a next step): at every step a row may only take a token that keeps its output a
prefix of a well-formed expression

    expr := operand (op operand)* ;  operand := number | "-" operand | "(" expr ")" ;
    op := + - * /

whose numbers are those of the question or common constants, and it may end (``[SEP]``) only
when the expression is complete and its brackets balanced. Numbers are matched at the token
level through a trie of their WordPiece tokenizations (``3.14`` is ``3 . 14``), so any number
the tokenizer splits is still allowed whole and nothing else. ``**`` is not generated (no
Ape210K equation uses it).

The per-row grammar state lives in ``DecodeState.user`` (one :class:`RowState` per prompt,
which beam search copies and reorders with its beams); :class:`WellFormedHook` advances it by
each row's previous token, then masks the logits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch

from kexue.decoding.hooks import StateHook

__all__ = ["NumberTrie", "RowState", "WellFormedHook", "question_numbers"]

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_MAX_DEPTH = 8


def question_numbers(question: str) -> list[str]:
    """The numbers written in ``question`` (digits, optional decimal part), in order."""
    return _NUMBER.findall(question)


class NumberTrie:
    """The token-id sequences of a set of numbers; a node is a dict ``id -> node`` and
    ``None`` marks the end of a number."""

    def __init__(self, sequences: Iterable[Iterable[int]]) -> None:
        self.root: dict = {}
        for seq in sequences:
            node = self.root
            for t in seq:
                node = node.setdefault(int(t), {})
            node[None] = True


@dataclass
class RowState:
    """One row's grammar state: the number trie of its problem, where it is in a number
    (``node``), bracket depth, whether an operand is expected, tokens consumed."""

    trie: NumberTrie
    node: dict | None = None
    depth: int = 0
    expect_operand: bool = True
    unary: bool = False
    consumed: int = 0
    dead: bool = field(default=False)

    def __deepcopy__(self, memo):  # the trie is shared and read-only
        return RowState(self.trie, self.node, self.depth, self.expect_operand, self.unary,
                        self.consumed, self.dead)


class WellFormedHook(StateHook):
    """Mask every token that would make the expression ill-formed (see the module docstring).

    Args:
        token_id: ``token -> id`` of the tokenizer (``Tokenizer.token_to_id``).
        end_id: the end token (``[SEP]``).
    """

    def __init__(self, token_id, end_id: int) -> None:
        self.ops = [token_id(c) for c in "+-*/"]
        self.minus = token_id("-")
        self.open, self.close = token_id("("), token_id(")")
        self.end_id = end_id

    def new_state(self, numbers: Iterable[Iterable[int]]) -> RowState:
        """The start state for a problem whose allowed numbers tokenize to ``numbers``."""
        return RowState(NumberTrie(numbers))

    def _advance(self, s: RowState, t: int) -> None:
        if s.node is not None and t in s.node:
            s.node = s.node[t]
            return
        if s.node is not None:  # a number ended (checked by _allowed)
            s.node, s.expect_operand = None, False
        if s.expect_operand:
            if t == self.open:
                s.depth += 1
                s.unary = False
            elif t == self.minus:
                s.unary = True
            elif t in s.trie.root:
                s.node, s.unary = s.trie.root[t], False
            else:
                s.dead = True
        elif t == self.close:
            s.depth -= 1
        elif t in self.ops:
            s.expect_operand = True
        else:
            s.dead = True

    def _allowed(self, s: RowState) -> list[int]:
        allowed: list[int] = []
        if s.node is not None:
            allowed.extend(t for t in s.node if t is not None)
            if None not in s.node:
                return allowed
            complete = True
        else:
            complete = not s.expect_operand
        if not complete:
            if s.depth < _MAX_DEPTH:
                allowed.append(self.open)
            if not s.unary:
                allowed.append(self.minus)
            allowed.extend(t for t in s.trie.root if t is not None)
            return allowed
        allowed.extend(self.ops)
        allowed.append(self.close if s.depth > 0 else self.end_id)
        return allowed

    def __call__(self, logits: torch.Tensor, state) -> torch.Tensor:
        if state.user is None:
            raise ValueError("WellFormedHook needs states=[hook.new_state(...)] per prompt")
        keep = torch.zeros_like(logits, dtype=torch.bool)
        finished = state.finished.tolist()
        generated = state.generated.tolist()
        for row, s in enumerate(state.user):
            if finished[row]:
                keep[row] = True
                continue
            while s.consumed < state.step:
                self._advance(s, generated[row][s.consumed])
                s.consumed += 1
            if s.dead:  # cannot happen under this hook; left free rather than stuck
                keep[row] = True
                continue
            keep[row, self._allowed(s)] = True
        return logits.masked_fill(~keep, float("-inf"))
