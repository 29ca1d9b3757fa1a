"""Conv1D recipe: .ts reading, the fixed split, macro-F1 as the article writes it, the model's
blocks, balanced epochs, a tiny training run, the baselines and the CLI's bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from kexue.cli.conv1d import main
from kexue.recipes.conv1d.baselines import nearest_neighbour
from kexue.recipes.conv1d.data import read_ts, resample, select_split
from kexue.recipes.conv1d.metrics import macro_f1
from kexue.recipes.conv1d.model import Conv1DNet, HalvesSumConv, ResidualBlock
from kexue.recipes.conv1d.train import Conv1DOptions, _balanced, train_conv1d

HEADER = "# a comment\n@problemName Toy\n@univariate true\n@equalLength false\n"


def _ts(path, rows, labels="@classLabel true a b\n"):
    path.write_text(HEADER + labels + "@data\n" + "".join(
        ",".join(map(str, v)) + f":{y}\n" for v, y in rows), encoding="utf-8")
    return path


# ---- data ----------------------------------------------------------------------------------


def test_read_ts_classification_and_regression(tmp_path):
    d = read_ts(_ts(tmp_path / "c.ts", [([1, 2, 3], "b"), ([4.5, 5], "a")]))
    assert d.name == "Toy" and d.task == "classification" and d.classes == ("a", "b")
    assert d.y.tolist() == [1, 0] and [v.tolist() for v in d.values] == [[1, 2, 3], [4.5, 5]]
    r = read_ts(_ts(tmp_path / "r.ts", [([1, 2], "2.5")], labels="@targetLabel true\n"))
    assert r.task == "regression" and r.y.tolist() == [2.5]


@pytest.mark.parametrize("body, message", [
    ("@classLabel true a b\n1,2:a\n", "expected a '@' keyword"),
    ("@classLabel true a b\n", "no @data line"),
    ("@classLabel true a b\n@data\n", "holds no series"),
    ("@data\n1,2:a\n", "declares no labels"),
    ("@classLabel true a b\n@data\n1,x:a\n", "not a number"),
    ("@classLabel true a b\n@data\n1,2:c\n", "label 'c' is not among the classes"),
    ("@classLabel true a b\n@data\n1,2\n", "expected 'v1,v2,...:label'"),
    ("@univariate false\n@classLabel true a b\n@data\n1:2:a\n", "multivariate"),
])
def test_read_ts_bad_files_name_the_problem(tmp_path, body, message):
    f = tmp_path / "bad.ts"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_ts(f)


def test_shared_files_and_the_fixed_split(shared_data):
    osu = read_ts(shared_data("timeseries", "OSULeaf_TRAIN.ts"))
    assert len(osu) == 200 and np.bincount(osu.y).tolist() == [34, 29, 33, 53, 36, 15]
    plaid = read_ts(shared_data("timeseries", "PLAID_TRAIN.ts"))
    lengths = [len(v) for v in plaid.values]
    assert len(plaid) == 537 and (min(lengths), max(lengths)) == (100, 1344)
    tec = read_ts(shared_data("timeseries", "Tecator_TRAIN.ts"))
    assert len(tec) == 172 and tec.task == "regression" and len(tec.values[0]) == 100
    fit, sel = select_split(osu)
    assert len(sel) == 41 and not set(fit) & set(sel) and len(fit) + len(sel) == 200
    assert np.bincount(osu.y[sel]).tolist() == [7, 6, 7, 11, 7, 3]  # 20 % of each class
    assert select_split(osu) == (fit, sel)  # fixed


def test_resample_keeps_end_points():
    out = resample([np.array([0.0, 1.0, 2.0]), np.array([5.0])], 5)
    np.testing.assert_allclose(out[0], [0, 0.5, 1, 1.5, 2])
    np.testing.assert_allclose(out[1], [5] * 5)


# ---- metrics -------------------------------------------------------------------------------


def test_macro_f1_is_the_articles_formula_and_sklearns():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    p = np.where(rng.random(200) < 0.6, y, rng.integers(0, 4, 200))
    article = sum(0.5 * np.sum((y == c) & (p == c)) / (np.sum(y == c) + np.sum(p == c))
                  for c in range(4))  # Σ_c ½·|TP_c| / (|true_c| + |pred_c|), 4 classes
    assert macro_f1(y, p, 4) == pytest.approx(article)
    sklearn = pytest.importorskip("sklearn.metrics")
    assert macro_f1(y, p, 4) == pytest.approx(sklearn.f1_score(y, p, average="macro"))


# ---- model ---------------------------------------------------------------------------------


def test_block_sums_the_channel_halves():
    layer = HalvesSumConv(3, 4, dilation=2)
    x = torch.randn(2, 3, 9)
    h = torch.relu(layer.conv(x))
    torch.testing.assert_close(layer(x), h[:, :4] + h[:, 4:])
    block = ResidualBlock(4, 4)
    x = torch.randn(2, 4, 9)
    inner = x
    for lay in block.layers:
        inner = lay(inner)
    torch.testing.assert_close(block(x), inner + x)  # same width: no projection
    assert ResidualBlock(3, 4).proj is not None


def test_seven_pools_take_2600_points_to_20():
    net = Conv1DNet(4).eval()
    h, m = net.features(torch.randn(1, 2600))
    assert h.shape == (1, 128, 20) and m.shape == (1, 1, 20)
    assert net(torch.randn(2, 2600)).shape == (2, 4)
    assert Conv1DNet(1)(torch.randn(2, 100)).shape == (2, 1)  # pools stop at one step


def test_padding_does_not_change_a_series_output():
    net = Conv1DNet(3, filters=(4, 4, 8)).eval()  # two pools: a length divisible by 4
    short = torch.randn(1, 36)
    padded = torch.cat([short, torch.full((1, 28), 50.0)], 1)
    mask = torch.cat([torch.ones(1, 36), torch.zeros(1, 28)], 1)
    torch.testing.assert_close(net(padded, mask), net(short))
    assert not torch.allclose(net(padded), net(short))  # without the mask the padding counts


def test_balanced_epochs_repeat_each_class_to_the_largest():
    y = np.array([0] * 7 + [1] * 2 + [2] * 3)
    ex = [{"x": np.zeros(2, np.float32), "y": int(t)} for t in y]
    out = _balanced(ex, y, seed=0)
    assert np.bincount([e["y"] for e in out]).tolist() == [7, 7, 7]


def test_nearest_neighbour_brute_force():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(20, 5)), rng.normal(size=(7, 5))
    want = [int(np.argmin([np.sum((r - t) ** 2) for t in a])) for r in b]
    assert nearest_neighbour(a, b).tolist() == want


def _spectra(n, seed):
    """Synthetic spectra: a bump (class 0) or a dip (class 1) at a random place, plus noise."""
    rng = np.random.default_rng(seed)
    vals, ys = [], []
    for i in range(n):
        y = i % 2
        t = np.arange(64)
        c = rng.integers(10, 54)
        vals.append(rng.normal(0, 0.3, 64) + (1 if y == 0 else -1) * 2 * np.exp(-(t - c) ** 2
                                                                               / 8))
        ys.append(y)
    return vals, np.array(ys)


def test_tiny_training_separates_bumps_from_dips():
    from kexue.recipes.conv1d.data import SeriesSet

    v, y = _spectra(48, 0)
    vs, ys = _spectra(20, 1)
    fit = SeriesSet("toy", v, y, "classification", ("bump", "dip"))
    sel = SeriesSet("toy", vs, ys, "classification", ("bump", "dip"))
    opts = Conv1DOptions(epochs=6, epochs_f1=2, filters=(4, 8), dropout=0.1, lr=1e-2)
    _, _, summary = train_conv1d(fit, sel, opts)
    assert summary["select"]["macro_f1"] >= 0.9


# ---- CLI -----------------------------------------------------------------------------------


def test_cli_bad_inputs(tmp_path, capsys):
    assert main(["baseline", str(tmp_path / "nope.ts")]) == 2
    assert "data file not found" in capsys.readouterr().err
    assert main(["baseline", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    empty = tmp_path / "empty.ts"
    empty.write_text("@classLabel true a b\n@data\n", encoding="utf-8")
    assert main(["baseline", str(empty)]) == 1
    assert "holds no series" in capsys.readouterr().err
    wrong = tmp_path / "wrong.ts"
    wrong.write_text('{"not": "a ts file"}\n', encoding="utf-8")
    assert main(["train", str(wrong), "-o", str(tmp_path / "m")]) == 1
    assert "expected a '@' keyword" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
    assert main(["evaluate", str(empty), "-m", str(tmp_path / "none")]) == 2
    assert "model directory not found" in capsys.readouterr().err
    assert main(["evaluate", str(empty), "-m", str(tmp_path)]) == 1
    assert "not a Conv1D model directory" in capsys.readouterr().err
    assert main(["train", str(empty), "-o", str(tmp_path)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["trian"]) == 2
    assert "did you mean 'train'" in capsys.readouterr().err


def test_cli_train_evaluate_baseline(tmp_path, capsys):
    v, y = _spectra(30, 2)
    f = _ts(tmp_path / "toy.ts", [(np.round(s, 4), "ab"[t]) for s, t in zip(v, y)])
    out = tmp_path / "model"
    assert main(["train", str(f), "-o", str(out), "--epochs", "1", "--epochs-f1", "1",
                 "--filters", "4,4", "--quiet"]) == 0
    assert main(["evaluate", str(f), "-m", str(out), "--split", "select", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["n"] == 6 and 0 <= r["macro_f1"] <= 1
    pytest.importorskip("sklearn")
    assert main(["baseline", str(f), "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["model"] for x in lines] == ["logistic regression", "1-NN"]
