"""The second legality implementation: the ``cchess`` package (walker8088/cchess, the one the
article uses; ``pip install kexue[chess]``), independent of kexue's own rules.

Every game the model plays in the experiments and tests is replayed here, move by move, and
kexue's perft is compared with it on positions from real games. ``cchess`` generates
pseudo-legal moves and filters those that leave the mover in check (its king test includes
the flying general).
"""

from __future__ import annotations

__all__ = ["cchess_legal_moves", "cchess_replay", "cchess_perft"]


def _board(fen: str):
    try:
        import cchess
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("the referee needs the cchess package: pip install 'kexue[chess]'"
                          ) from e
    return cchess.ChessBoard(fen)


def _moves(board) -> list[str]:
    from cchess.common import pos2iccs

    out = []
    for frm, to in board.create_moves():
        if board.is_valid_move(frm, to) and not board.is_checked_move(frm, to):
            out.append(pos2iccs(frm, to))
    return sorted(set(out))


def cchess_legal_moves(fen: str) -> list[str]:
    """The legal moves of ``fen`` in ICCS, by ``cchess``, sorted."""
    return _moves(_board(fen))


def cchess_replay(moves: list[str], fen: str) -> None:
    """Replay ICCS ``moves`` from ``fen`` with ``cchess``, checking each move by its own test
    (piece rule, then no self-check); ``ValueError`` naming the first move it finds illegal."""
    from cchess.common import iccs2pos

    board = _board(fen)
    for i, mv in enumerate(moves, 1):
        frm, to = iccs2pos(mv)
        if not (board.is_valid_move(frm, to) and not board.is_checked_move(frm, to)):
            raise ValueError(f"cchess: ply {i} {mv} is illegal in {board.to_fen()}")
        board.move_iccs(mv)
        board.next_turn()


def cchess_perft(fen: str, depth: int) -> int:
    """Perft by ``cchess`` (slow; depth 1-2 on real positions)."""
    board = _board(fen)

    def go(b, d: int) -> int:
        moves = _moves(b)
        if d == 1:
            return len(moves)
        total = 0
        for mv in moves:
            c = b.copy()
            c.move_iccs(mv)
            c.next_turn()
            total += go(c, d - 1)
        return total

    return go(board, depth) if depth > 0 else 1
