"""DGCNN recipe: span decoding, the cross-passage vote, scoring, data, model, training, CLI."""

from __future__ import annotations

import json

import pytest
import torch

from kexue.cli.dgcnn import main
from kexue.recipes.dgcnn.baseline import lexical_answer, lexical_candidates
from kexue.recipes.dgcnn.data import (
    TRAIN_QUESTIONS,
    Question,
    Vocab,
    answer_positions,
    encode_passage,
    load_webqa,
    select_split,
    split_questions,
)
from kexue.recipes.dgcnn.decode import decode_question, passage_candidates, span_units, vote
from kexue.recipes.dgcnn.metrics import char_f1, exact_match, normalize_answer, score_answers
from kexue.recipes.dgcnn.model import DGCNN, DGCNNConfig, product_logit
from kexue.recipes.dgcnn.train import (
    TrainOptions,
    load_reader,
    predict,
    save_reader,
    train_reader,
)

# ---- decoding ------------------------------------------------------------------------------


def test_vote_formula_and_the_articles_example():
    # (A, 0.7) in one passage against (B, 0.2) in four: s = Σs² / (1 + Σs)
    per = [{"A": 0.7}] + [{"B": 0.2}] * 4
    v = vote(per)
    assert v["A"] == pytest.approx(0.49 / 1.7)  # 0.288
    assert v["B"] == pytest.approx(4 * 0.04 / (1 + 0.8))  # 0.089
    assert max(v, key=v.get) == "A"
    # four confident passages beat one: 4·0.25 / 3 = 0.333 > 0.288
    v = vote([{"A": 0.7}] + [{"B": 0.5}] * 4)
    assert max(v, key=v.get) == "B"


def test_vote_brute_force_on_random_scores():
    g = torch.Generator().manual_seed(0)
    per = []
    for _ in range(6):
        per.append({a: float(torch.rand(1, generator=g)) for a in "abcde"
                    if torch.rand(1, generator=g) < 0.6})
    v = vote(per)
    for a in {k for p in per for k in p}:
        s = [p[a] for p in per if a in p]
        assert v[a] == pytest.approx(sum(x * x for x in s) / (1 + sum(s)))


def _probs(n, spans):
    """Start/end probabilities of length n with the given {(i, j): (p_start, p_end)}."""
    s, e = [0.01] * n, [0.01] * n
    for (i, j), (ps, pe) in spans.items():
        s[i], e[j] = ps, pe
    return s, e


def test_decode_constructed_multi_passage_question():
    # one passage says 黑海 confidently (0.7 = 1·0.7), four say 北海 weakly (0.2 = 0.4·0.5)
    p1 = "多瑙河注入黑海。"
    others = ["有人说多瑙河注入北海", "多瑙河注入北海吗", "传说北海", "北海"]
    starts, ends = [], []
    s, e = _probs(len(p1), {(5, 6): (1.0, 0.7)})
    starts.append(s)
    ends.append(e)
    for p in others:
        i = p.index("北海")
        s, e = _probs(len(p), {(i, i + 1): (0.4, 0.5)})
        starts.append(s)
        ends.append(e)
    answer, score = decode_question([p1, *others], starts, ends)
    assert answer == "黑海" and score == pytest.approx(0.49 / 1.7)
    # made confident, the four agreeing passages win the vote
    starts2 = [starts[0]] + [[min(1.0, x * 2.5) if x > 0.3 else x for x in s]
                             for s in starts[1:]]
    answer, _ = decode_question([p1, *others], starts2, ends)
    assert answer == "北海"


def test_passage_candidates_brute_force_product_and_max_per_string():
    passage = "ab黑海x黑海"
    g = torch.Generator().manual_seed(1)
    s = torch.rand(len(passage), generator=g).tolist()
    e = torch.rand(len(passage), generator=g).tolist()
    got = passage_candidates(passage, s, e, max_units=3)
    want: dict[str, float] = {}
    for i in range(len(passage)):
        for j in range(i, len(passage)):
            text = passage[i:j + 1]
            if span_units(text) <= 3:
                want[text] = max(want.get(text, 0.0), s[i] * e[j])
    assert got.keys() == want.keys()
    for k in want:
        assert got[k] == pytest.approx(want[k])
    # 黑海 occurs twice: the higher of the two products is kept
    assert got["黑海"] == pytest.approx(max(s[2] * e[3], s[5] * e[6]))


def test_span_units_counts_ascii_letters_and_digits_half():
    assert span_units("黑海") == 2
    assert span_units("abc12") == 2.5
    assert span_units("a" * 20) == 10
    assert "a" * 20 in passage_candidates("a" * 20, [1.0] * 20, [1.0] * 20)
    assert "a" * 21 not in passage_candidates("a" * 21, [1.0] * 21, [1.0] * 21)


def test_threshold_gives_no_answer():
    s, e = _probs(4, {(1, 2): (0.2, 0.2)})
    assert decode_question(["甲乙丙丁"], [s], [e], threshold=0.1)[0] is None
    assert decode_question(["甲乙丙丁"], [s], [e])[0] == "乙丙"


# ---- scoring -------------------------------------------------------------------------------


def test_normalisation_and_scores():
    assert normalize_answer("ＡＢＣ，  黑海！") == "abc黑海"
    assert exact_match("黑海。", ["黑 海"]) == 1.0
    assert exact_match(None, ["黑海"]) == 0.0
    assert char_f1("黑海海", ["黑海"]) == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    assert char_f1("x", ["黑海", "x"]) == 1.0  # the best of the gold answers
    r = score_answers(["黑海", "北"], [["黑海"], ["南海"]])
    assert r["em"] == 0.5 and r["f1"] == 0.5 and r["score"] == 0.5


# ---- data ----------------------------------------------------------------------------------


def _webqa_file(path, questions):
    data = {}
    for k, (q, passages) in enumerate(questions):
        data[f"Q{k:04d}"] = {"question": q, "evidences": {
            f"Q{k:04d}#{i:02d}": {"answer": list(a), "evidence": p}
            for i, (p, a) in enumerate(passages)}}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_load_webqa_multi_passage_and_no_answer(tmp_path):
    f = _webqa_file(tmp_path / "q.json", [("海?", [("多瑙河注入黑海", ["黑海"]),
                                                   ("无关", ["no_answer"])])])
    (q,) = load_webqa(f)
    assert q.passages == ("多瑙河注入黑海", "无关") and q.answers == (("黑海",), ())
    assert q.gold == ("黑海",)


def test_answer_positions_and_tags():
    assert answer_positions("黑海黑海", ["黑海", "海黑"]) == [(0, 1), (1, 2), (2, 3)]
    ex = encode_passage(Vocab.build(["多瑙河注入黑海"]), "多瑙河注入哪个海", "多瑙河注入黑海。黑海",
                        ["黑海"])
    assert ex["start"] == [0, 0, 0, 0, 0, 1, 0, 0, 1, 0]
    assert ex["end"] == [0, 0, 0, 0, 0, 0, 1, 0, 0, 1]
    assert ex["p_feat"][:7] == [2, 2, 2, 2, 2, 1, 2]  # 海 is in the question


def test_fixed_split_of_the_shared_file(shared_data):
    qs = load_webqa(shared_data("webqa", "webqa_dev.json"))
    train, held = split_questions(qs, "train"), split_questions(qs, "heldout")
    assert len(qs) == 2024 and len(train) == TRAIN_QUESTIONS == 1624 and len(held) == 400
    assert train[-1].qid == "Q_ANN_TST_001623" and held[0].qid == "Q_ANN_TST_001624"
    fit, sel = select_split(train)
    assert len(sel) == 162 and not {q.qid for q in fit} & {q.qid for q in sel}
    assert [q.qid for q in select_split(train)[1]] == [q.qid for q in sel]  # fixed


def test_lexical_baseline_picks_the_run_next_to_the_question_words():
    q = Question("x", "多瑙河注入哪里？", ("奥地利的多瑙河注入黑海，全长2850公里",), (("黑海",),))
    assert lexical_answer(q, window=4) == "黑海"
    # runs of non-question, non-punctuation characters: 奥地利的, 黑海, 全长2850公里
    assert lexical_candidates(q.question, q.passages[0]) == [(0, 4), (9, 11), (12, 19)]


# ---- model ---------------------------------------------------------------------------------


def test_product_logit_is_the_logit_of_the_product():
    a = torch.randn(50, dtype=torch.float64) * 4
    b = torch.randn(50, dtype=torch.float64) * 4
    p = torch.sigmoid(a) * torch.sigmoid(b)
    torch.testing.assert_close(torch.sigmoid(product_logit(a, b)), p)
    torch.testing.assert_close(product_logit(a, b), torch.log(p / (1 - p)))


def test_model_ignores_padding_and_pads_to_zero_probability():
    model = DGCNN(DGCNNConfig(vocab_size=20, hidden=8)).eval()
    q = torch.tensor([[3, 4, 5, 0, 0]])
    p = torch.tensor([[6, 7, 8, 9, 0, 0, 0]])
    f = torch.tensor([[1, 2, 1, 1, 0, 0, 0]])
    s1, e1 = model.probabilities(q, p, f)
    s2, e2 = model.probabilities(q[:, :3], p[:, :4], f[:, :4])
    torch.testing.assert_close(s1[:, :4], s2)
    torch.testing.assert_close(e1[:, :4], e2)
    assert torch.all(s1[:, 4:] < 1e-6) and torch.all(e1[:, 4:] < 1e-6)


# ---- training (tiny synthetic task) and the CLI -------------------------------------------

_NAMES = ["黑海", "北海", "长江", "黄河", "泰山", "华山", "西湖", "东湖"]


def _synthetic(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for k in range(n):
        a = _NAMES[int(torch.randint(len(_NAMES), (1,), generator=g))]
        filler = "".join("甲乙丙丁戊己"[int(i)] for i in torch.randint(6, (3,), generator=g))
        out.append(Question(f"Q{k:04d}", "答案是哪个?", (f"{filler}答案是{a}。{filler}",),
                            ((a,),)))
    return out


def test_tiny_training_learns_and_round_trips(tmp_path):
    train, select = _synthetic(64), _synthetic(16, seed=1)
    opts = TrainOptions(epochs=6, epochs_low=0, batch_size=16, lr=1e-2, drop_chars=0.0,
                        model={"hidden": 16, "passage_rates": (1, 2, 1), "gate_noise": 0.0})
    model, vocab, summary = train_reader(train, select, opts)
    assert summary["select"]["em"] >= 0.75
    save_reader(tmp_path / "m", model, vocab, summary)
    model2, vocab2 = load_reader(tmp_path / "m")
    assert predict(model2, vocab2, select) == predict(model, vocab, select)


def test_cli_bad_inputs(tmp_path, capsys):
    missing = str(tmp_path / "nope.json")
    assert main(["baseline", missing]) == 2
    assert "data file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("[1,", encoding="utf-8")
    assert main(["baseline", str(bad)]) == 1
    assert "not JSON" in capsys.readouterr().err
    bad.write_text("{}", encoding="utf-8")
    assert main(["baseline", str(bad)]) == 1
    assert "holds no question" in capsys.readouterr().err
    bad.write_text('{"Q1": {"question": "x"}}', encoding="utf-8")
    assert main(["baseline", str(bad)]) == 1
    assert "'evidences' object" in capsys.readouterr().err
    good = _webqa_file(tmp_path / "q.json", [("海?", [("多瑙河注入黑海", ["黑海"])])])
    assert main(["baseline", str(good), "--split", "heldout"]) == 1
    assert "holds no question" in capsys.readouterr().err
    assert main(["evaluate", str(good), "-m", str(tmp_path / "none")]) == 2
    assert "model directory not found" in capsys.readouterr().err
    assert main(["evaluate", str(good), "-m", str(tmp_path)]) == 1
    assert "not a DGCNN model directory" in capsys.readouterr().err
    assert main(["train", str(good), "-o", str(tmp_path)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["evalute"]) == 2
    assert "did you mean 'evaluate'" in capsys.readouterr().err


def test_cli_train_evaluate_baseline(tmp_path, capsys):
    qs = _synthetic(40)
    f = _webqa_file(tmp_path / "q.json", [(q.question, [(q.passages[0], q.answers[0])])
                                          for q in qs])
    out = tmp_path / "model"
    assert main(["train", str(f), "-o", str(out), "--split", "all", "--epochs", "1",
                 "--epochs-low", "0", "--hidden", "8", "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json", "model.safetensors", "train_summary.json", "vocab.json"]
    preds = tmp_path / "pred.jsonl"
    assert main(["evaluate", str(f), "-m", str(out), "--json", "--predictions",
                 str(preds)]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["n"] == 40 and 0 <= r["em"] <= 1
    assert len(preds.read_text("utf-8").splitlines()) == 40
    assert main(["baseline", str(f), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["em"] == 1.0  # 答案是 + the name


def test_vocab_with_whitespace_and_empty_passages(tmp_path):
    vocab = Vocab.build(["答案\n是 黑海"])
    assert Vocab.from_text(vocab.to_text()).chars == vocab.chars  # newline and space kept
    model = DGCNN(DGCNNConfig(vocab_size=len(vocab), hidden=8)).eval()
    q = Question("Q", "答案?", ("", "答案\n是黑海"), ((), ("黑海",)))
    (answer,) = predict(model, vocab, [q])
    assert answer is not None and answer in "答案\n是黑海"
    save_reader(tmp_path / "m", model, vocab)
    assert load_reader(tmp_path / "m")[1].chars == vocab.chars
