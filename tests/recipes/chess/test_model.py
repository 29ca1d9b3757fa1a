"""The chess LM: vocabulary, loss masking, batched legal-move scoring equal to scoring one by
one, every move legal (replayed by cchess), and a tiny real-data run whose loss falls."""

import pytest
import torch

from kexue.recipes.chess.board import Board
from kexue.recipes.chess.evaluate import (
    OpeningBook,
    match,
    model_player,
    next_move_metrics,
    topk_probability,
)
from kexue.recipes.chess.game import GameState, play_game, random_player
from kexue.recipes.chess.model import (
    VOCAB,
    MoveScorer,
    build_model,
    encode,
    lm_loss,
    trim_positions,
)
from kexue.recipes.chess.movegen import legal_moves
from kexue.recipes.chess.notation import parse_iccs
from kexue.recipes.chess.train import (
    CurriculumCollate,
    dev_slice,
    export,
    parse_curriculum,
    trained_positions,
)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_model(layers=2, hidden=32, heads=2, max_positions=128).eval()


def test_vocabulary_and_encoding():
    assert len(VOCAB) == 20 and VOCAB[0] == "[PAD]"
    assert encode(["h2e2", "h9g7"]) == [0, 18, 3, 15, 3, 18, 10, 17, 8]
    with pytest.raises(ValueError, match="not an ICCS move"):
        encode(["h2j2"])


def test_loss_ignores_padding(tiny):
    collate = CurriculumCollate(((0, 8),))
    one = collate([["h2e2", "h9g7"]])
    two = collate([["h2e2", "h9g7"], ["b2e2", "b9c7", "b0c2", "a9b9", "a0b0"]])
    assert two["token_ids"].shape == (2, 21) and int(two["attention_mask"][0].sum()) == 9
    # the padded batch's loss is the mean over the real targets of both games only
    ce = []
    for i, n in ((0, 8), (1, 20)):
        ids = two["token_ids"][i : i + 1, : n + 1]
        logits = tiny(ids[:, :-1]).logits
        ce.append(torch.nn.functional.cross_entropy(logits[0].float(), ids[0, 1:],
                                                    reduction="sum"))
    torch.testing.assert_close(lm_loss(tiny, two), (ce[0] + ce[1]) / 28)
    torch.testing.assert_close(lm_loss(tiny, one), ce[0] / 8)


def test_curriculum_cuts_games():
    assert parse_curriculum("0:8,600:4,1000:2") == ((0, 8), (600, 4), (1000, 2))
    with pytest.raises(ValueError, match="start at 0"):
        parse_curriculum("5:8")
    with pytest.raises(ValueError, match="divide 512"):
        parse_curriculum("0:3")
    c = CurriculumCollate(((0, 8),))
    game = ["h2e2", "h9g7"] * 20
    assert c([game])["token_ids"].shape == (1, 65)  # start + 16 moves
    c.length = 513
    assert c([game])["token_ids"].shape == (1, 161)
    train, dev = dev_slice(list(range(1000)), 100)
    assert len(dev) == 100 and not set(train) & set(dev)


def test_trimmed_model_keeps_only_trained_positions(tiny, tmp_path):
    # the article's curriculum ends at 513 tokens: 512 input positions are trained
    assert trained_positions(((0, 8), (600, 4), (1000, 2)), 1250) == 256
    assert trained_positions(((0, 8), (600, 4), (1000, 2)), 700) == 128
    assert trained_positions(((0, 8), (600, 4), (1000, 2), (1250, 1)), 2500) == 512
    short = trim_positions(tiny, 41)
    assert short.config.max_position_embeddings == 41 and not short.training
    ids = torch.tensor([encode(["h2e2", "h9g7", "b0c2"])])
    torch.testing.assert_close(short(ids).logits, tiny(ids).logits)
    # the scorer's window follows: 41 positions hold the start, 9 moves and a scored move
    assert MoveScorer(short).max_plies == 9 and MoveScorer(tiny).max_plies == 30
    with pytest.raises(ValueError, match="positions must be"):
        trim_positions(tiny, 129)
    # a checkpoint exported at step 700 of the CPU curriculum has 128 positions
    from kexue.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    model = build_model(layers=1, hidden=16, heads=2)
    save_checkpoint(tmp_path / "ckpt-000000700.kexue", {"model": model.state_dict(),
                                                        "step": 700})
    assert export(tmp_path / "ckpt-000000700.kexue", tmp_path / "model", layers=1, hidden=16,
                  heads=2) == 700
    from kexue.recipes.chess.model import load_model

    assert load_model(tmp_path / "model").config.max_position_embeddings == 128


def test_batched_scores_equal_one_by_one(tiny, liu_dahua_games):
    scorer = MoveScorer(tiny)
    game = liu_dahua_games[0].moves
    b = Board.from_fen()
    for i, mv in enumerate(game[:21]):
        if i in (0, 7, 20):
            legal = legal_moves(b)
            fast = scorer.legal_scores(game[:i], legal)
            slow = scorer.legal_scores_one_by_one(game[:i], legal)
            torch.testing.assert_close(fast, slow, rtol=1e-4, atol=1e-4)
        b.make(parse_iccs(mv))


def test_every_model_move_is_legal_replayed_by_cchess(tiny):
    referee = pytest.importorskip("kexue.recipes.chess.referee")
    pytest.importorskip("cchess")
    scorer = MoveScorer(tiny)
    seen = []
    res = match(model_player(scorer), random_player(1), 2, max_plies=40,
                on_game=lambda moves, result, reason: seen.append(moves))
    assert res["wins"] + res["draws"] + res["losses"] == 2
    for moves in seen:
        referee.cchess_replay(moves, Board.from_fen().fen())
    # and a model-vs-model game
    moves, result, reason = play_game(model_player(scorer), model_player(scorer), max_plies=30)
    referee.cchess_replay(moves, Board.from_fen().fen())
    assert len(moves) <= 30 and result in ("1-0", "0-1", "1/2-1/2")


def test_book_baseline_and_metrics(liu_dahua_games):
    games = [g.moves for g in liu_dahua_games]
    book = OpeningBook(games[:80], max_plies=10)
    b = Board.from_fen()
    legal = legal_moves(b)
    p = book.scores(b, legal).exp()
    assert legal[int(p.argmax())] == parse_iccs("h2e2")  # the most frequent first move
    torch.testing.assert_close(p.sum(), torch.tensor(1.0, dtype=torch.float64))

    def uniform(board, history):
        legal = legal_moves(board)
        return legal, torch.full((len(legal),), -float(torch.log(torch.tensor(len(legal)))))

    m = next_move_metrics(uniform, games[80:82], max_plies=12)
    assert m["all"]["moves"] == 24 and m["plies 1-16"]["moves"] == 24
    # uniform scores: the perplexity is the geometric mean of the legal-move counts
    assert 30 < m["all"]["perplexity"] < 50
    # ... and a scorer with no opinion gets chance accuracy, not every tie (about 1 / 40, 5 / 40)
    assert 1 < m["all"]["top1"] < 5 and 8 < m["all"]["top5"] < 20, m["all"]
    # the book beyond its plies has no opinion either
    def by_book(board, history):
        legal = legal_moves(board)
        return legal, book.scores(board, legal)

    late = next_move_metrics(by_book, games[80:82], max_plies=40)
    assert late["plies 33-64"]["top1"] < 10, late


def test_topk_probability_breaks_ties_at_random():
    assert topk_probability(0, 1, 1) == 1.0 and topk_probability(1, 1, 1) == 0.0
    assert topk_probability(0, 4, 1) == 0.25 and topk_probability(3, 4, 5) == 0.5
    assert topk_probability(10, 3, 5) == 0.0 and topk_probability(0, 3, 5) == 1.0


def test_tiny_real_data_training_lowers_loss(liu_dahua_games):
    from kexue.train import fit

    torch.manual_seed(0)
    model = build_model(layers=2, hidden=32, heads=2, max_positions=128).train()
    games = [g.moves for g in liu_dahua_games[:64]]
    collate = CurriculumCollate(((0, 8),))
    batch = collate(games[:32])
    with torch.no_grad():
        before = float(lm_loss(model, batch))
    fit(model, lm_loss, games, optimizer=torch.optim.Adam(model.parameters(), 3e-3),
        collate_fn=collate, batch_size=16, steps=40, progress=False)
    with torch.no_grad():
        after = float(lm_loss(model.eval(), batch))
    assert after < before - 0.5, (before, after)


def test_game_state_ends_and_undo():
    g = GameState(moves=["h2e2", "h9g7"])
    assert g.chinese == ["炮二平五", "马８进７"]
    g.pop()
    assert g.moves == ["h2e2"]
    with pytest.raises(ValueError, match="not a legal move"):
        g.push(parse_iccs("a0a5"))
    # repetition: shuffle the horses back and forth
    g = GameState(moves=["h0g2", "h9g7", "g2h0", "g7h9"] * 2)
    assert g.result() == ("1/2-1/2", "threefold repetition")
    assert GameState().result(max_plies=0) == ("1/2-1/2", "0-ply limit")


def test_shipped_model_opens_like_a_master():
    import kexue.assets

    if "kexue-xiangqi" not in kexue.assets.available():
        pytest.skip("kexue-xiangqi is not shipped in this installation")
    from kexue.recipes.chess.model import load_model

    scorer = MoveScorer(load_model(kexue.assets.path("kexue-xiangqi")))
    g = GameState()
    assert scorer.best(g.board, g.moves) in {parse_iccs("h2e2"), parse_iccs("b2e2")}  # 中炮
    g.push(parse_iccs("h2e2"))
    assert scorer.best(g.board, g.moves) in {parse_iccs("h9g7"), parse_iccs("b9c7")}  # 马８进７
