"""Legal xiangqi moves: piece movement, the flying general, check, no self-check; perft.

A move is legal when the piece moves by its rule (horse legs and elephant eyes must be empty,
the cannon captures over exactly one screen, elephants stay on their side of the river,
advisors and the king in the palace, pawns move sideways only after crossing the river) and,
after it, the mover's king is not attacked and does not face the other king on an open file
(the flying general, 将帅不能照面). A side with no legal move loses, in check (checkmate) or
not (stalemate, 困毙, also a loss in xiangqi).

Per-square move tables are built once at import, so generation is table look-ups. Perft from
the start gives 44; 1,920; 79,666; 3,290,240 (depths 1-4, the published values).
"""

from __future__ import annotations

from kexue.recipes.chess.board import Board, Move

__all__ = ["pseudo_moves", "legal_moves", "is_legal", "in_check", "attacked", "perft",
           "outcome"]


def _on(r: int, f: int) -> bool:
    return 0 <= r <= 9 and 0 <= f <= 8


def _build():
    rays, horse, horse_in, king, advisor, elephant, pawn, pawn_in = ([] for _ in range(8))
    for sq in range(90):
        r, f = divmod(sq, 9)
        rays.append(tuple(
            tuple((r + dr * k) * 9 + f + df * k
                  for k in range(1, 10) if _on(r + dr * k, f + df * k))
            for dr, df in ((1, 0), (-1, 0), (0, -1), (0, 1))))
        hm = []
        for dr, df in ((2, 1), (2, -1), (-2, 1), (-2, -1), (1, 2), (-1, 2), (1, -2), (-1, -2)):
            if _on(r + dr, f + df):
                lr, lf = (r + dr // 2, f) if abs(dr) == 2 else (r, f + df // 2)
                hm.append(((r + dr) * 9 + f + df, lr * 9 + lf))
        horse.append(tuple(hm))
        horse_in.append([])
    for sq in range(90):
        for to, leg in horse[sq]:
            horse_in[to].append((sq, leg))
    horse_in = [tuple(x) for x in horse_in]
    for red in (True, False):
        ranks = (0, 1, 2) if red else (7, 8, 9)
        half = range(0, 5) if red else range(5, 10)
        ks, ads, els, ps = [], [], [], []
        for sq in range(90):
            r, f = divmod(sq, 9)
            ks.append(tuple((r + dr) * 9 + f + df for dr, df in ((1, 0), (-1, 0), (0, 1), (0, -1))
                            if r + dr in ranks and 3 <= f + df <= 5))
            ads.append(tuple((r + dr) * 9 + f + df for dr in (1, -1) for df in (1, -1)
                             if r + dr in ranks and 3 <= f + df <= 5))
            els.append(tuple(((r + dr) * 9 + f + df, (r + dr // 2) * 9 + f + df // 2)
                             for dr in (2, -2) for df in (2, -2)
                             if _on(r + dr, f + df) and r + dr in half))
            fwd = 1 if red else -1
            crossed = (r >= 5) if red else (r <= 4)
            steps = [(fwd, 0)] + ([(0, 1), (0, -1)] if crossed else [])
            ps.append(tuple((r + dr) * 9 + f + df for dr, df in steps if _on(r + dr, f + df)))
        king.append(tuple(ks))
        advisor.append(tuple(ads))
        elephant.append(tuple(els))
        pawn.append(tuple(ps))
        pin = [[] for _ in range(90)]
        for sq in range(90):
            for to in ps[sq]:
                pin[to].append(sq)
        pawn_in.append(tuple(tuple(x) for x in pin))
    # index 0 = red, 1 = black
    return (tuple(rays), tuple(horse), horse_in, tuple(king), tuple(advisor), tuple(elephant),
            tuple(pawn), tuple(pawn_in))


_RAYS, _HORSE, _HORSE_IN, _KING, _ADVISOR, _ELEPHANT, _PAWN, _PAWN_IN = _build()
_ENEMY = {True: ("r", "c", "n", "p", "k"), False: ("R", "C", "N", "P", "K")}


def attacked(squares: list[str], sq: int, red: bool) -> bool:
    """Is ``sq`` attacked by the side opposite to ``red`` (rook, cannon, horse, pawn, or the
    other king on an open line: the flying general)?"""
    rook, cannon, horse, pawn, king = _ENEMY[red]
    for ray in _RAYS[sq]:
        screen = False
        for t in ray:
            p = squares[t]
            if p:
                if screen:
                    if p == cannon:
                        return True
                    break
                if p == rook or p == king:
                    return True
                screen = True
    for frm, leg in _HORSE_IN[sq]:
        if squares[frm] == horse and not squares[leg]:
            return True
    for frm in _PAWN_IN[1 if red else 0][sq]:
        if squares[frm] == pawn:
            return True
    return False


def in_check(board: Board, red: bool | None = None) -> bool:
    """Is the king of ``red`` (default: the side to move) attacked?"""
    red = board.red if red is None else red
    return attacked(board.squares, board.king(red), red)


def _piece_moves(s: list[str], sq: int, red: bool, out: list[Move]) -> None:
    p = s[sq]
    kind = p.upper()
    if kind == "R" or kind == "C":
        for ray in _RAYS[sq]:
            screen = False
            for t in ray:
                q = s[t]
                if kind == "R":
                    if q:
                        if q.isupper() != red:
                            out.append((sq, t))
                        break
                    out.append((sq, t))
                elif not screen:
                    if q:
                        screen = True
                    else:
                        out.append((sq, t))
                elif q:
                    if q.isupper() != red:
                        out.append((sq, t))
                    break
        return
    side = 0 if red else 1
    if kind == "N":
        targets = [t for t, leg in _HORSE[sq] if not s[leg]]
    elif kind == "B":
        targets = [t for t, eye in _ELEPHANT[side][sq] if not s[eye]]
    elif kind == "P":
        targets = _PAWN[side][sq]
    elif kind == "A":
        targets = _ADVISOR[side][sq]
    else:
        targets = _KING[side][sq]
    for t in targets:
        q = s[t]
        if not q or q.isupper() != red:
            out.append((sq, t))


def pseudo_moves(board: Board) -> list[Move]:
    """Moves that follow the pieces' rules, before the self-check test."""
    s = board.squares
    red = board.red
    out: list[Move] = []
    for sq in range(90):
        p = s[sq]
        if p and p.isupper() == red:
            _piece_moves(s, sq, red, out)
    return out


def legal_moves(board: Board) -> list[Move]:
    """All legal moves of the side to move (pseudo moves that leave its king safe)."""
    s = board.squares
    red = board.red
    k = board.king(red)
    out = []
    for a, b in pseudo_moves(board):
        cap = s[b]
        s[b], s[a] = s[a], ""
        if not attacked(s, b if a == k else k, red):
            out.append((a, b))
        s[a], s[b] = s[b], cap
    return out


def is_legal(board: Board, move: Move) -> bool:
    """Is ``move`` legal for the side to move (generates only the moving piece's moves)?"""
    a, b = move
    s = board.squares
    red = board.red
    if not (0 <= a < 90 and 0 <= b < 90) or not s[a] or s[a].isupper() != red:
        return False
    own: list[Move] = []
    _piece_moves(s, a, red, own)
    if (a, b) not in own:
        return False
    k = board.king(red)
    cap = s[b]
    s[b], s[a] = s[a], ""
    safe = not attacked(s, b if a == k else k, red)
    s[a], s[b] = s[b], cap
    return safe


def perft(board: Board, depth: int) -> int:
    """The number of legal move sequences of length ``depth`` (leaf nodes; bulk-counted)."""
    if depth <= 0:
        return 1
    moves = legal_moves(board)
    if depth == 1:
        return len(moves)
    total = 0
    for m in moves:
        h = board.halfmove
        cap = board.make(m)
        total += perft(board, depth - 1)
        board.unmake(m, cap, h)
    return total


def outcome(board: Board) -> tuple[str, str] | None:
    """``None`` while the side to move has a legal move, else ``(result, reason)``: the side
    to move has lost, ``("0-1" | "1-0", "checkmate" | "stalemate")``."""
    if legal_moves(board):
        return None
    reason = "checkmate" if in_check(board) else "stalemate"
    return ("0-1" if board.red else "1-0"), reason
