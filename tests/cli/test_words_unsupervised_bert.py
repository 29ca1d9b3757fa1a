"""kexue words unsupervised-bert: Perturbed-Masking segmentation of text files."""

import pytest

from kexue.cli import main as kexue_main
from kexue.cli._exitcodes import USAGE_ERROR
from tests.prompting.conftest import VOCAB, tiny_pretraining


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny_bert_cli")
    tiny_pretraining().float().save_pretrained(path)
    (path / "vocab.txt").write_text("".join(t + "\n" for t in VOCAB), encoding="utf-8")
    return path


def test_segments_a_file_and_the_words_join_to_each_line(model_dir, tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("这个东西很好\n我们 喜欢买\n好\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    assert kexue_main(["words", "unsupervised-bert", "--model", str(model_dir), str(src),
                       "-o", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [line.replace(" ", "") for line in lines] == ["这个东西很好", "我们喜欢买", "好"]
    assert "threshold" in capsys.readouterr().err
    # an infinite threshold cuts everywhere; minus infinity keeps each line whole
    assert kexue_main(["words", "unsupervised-bert", "--model", str(model_dir), "--threshold",
                       "inf", "--quiet", str(src), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").splitlines()[0] == "这 个 东 西 很 好"
    assert kexue_main(["words", "unsupervised-bert", "--model", str(model_dir), "--threshold=-inf",
                       "--quiet", str(src), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").splitlines()[1] == "我们喜欢买"


def test_bad_model_or_threshold_is_a_usage_error(model_dir, tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("好\n", encoding="utf-8")
    assert kexue_main(["words", "unsupervised-bert", "--model", str(tmp_path / "nope"),
                       str(src)]) == USAGE_ERROR
    assert "neither a model directory" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        kexue_main(["words", "unsupervised-bert", "--model", str(model_dir), "--threshold",
                    "high", str(src)])
    assert stop.value.code == USAGE_ERROR
