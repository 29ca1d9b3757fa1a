"""``kexue vocab build``: output, exit codes, nothing half-written."""

from __future__ import annotations

import gzip

import pytest

from kexue.cli import main as kexue_main
from kexue.cli.vocab import main
from kexue.text.vocab_build import SPECIALS
from tests.faults import run_with_full_disk

TEXT = "天天向上，Go go!\n\n天气 golang\n"


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(TEXT)
    return path


def test_build_char_and_wordpiece(tmp_path, corpus, capsys):
    out = tmp_path / "vocab.txt"
    assert kexue_main(["vocab", "build", str(corpus), "-o", str(out), "--min-count", "2"]) == 0
    assert out.read_text(encoding="utf-8") == "\n".join([*SPECIALS, "##o", "g", "天"]) + "\n"
    assert "8 tokens (char) written" in capsys.readouterr().err
    assert main(["build", str(corpus), "-o", str(out), "--min-count", "1", "--size", "6",
                 "-q"]) == 0
    assert out.read_text(encoding="utf-8").split() == [*SPECIALS, "##o"]
    assert capsys.readouterr().err == ""
    assert main(["build", str(corpus), "-o", str(out), "--kind", "wordpiece", "--size", "40",
                 "--min-count", "1", "-q"]) == 0
    tokens = out.read_text(encoding="utf-8").split()
    assert tokens[:5] == list(SPECIALS) and "golang" in tokens


def test_usage_errors(tmp_path, corpus, capsys):
    out = tmp_path / "vocab.txt"
    assert main([]) == 2
    assert main(["bild", str(corpus)]) == 2
    assert "did you mean 'build'" in capsys.readouterr().err
    assert main(["build", str(tmp_path / "missing.txt"), "-o", str(out)]) == 2
    assert "missing.txt" in capsys.readouterr().err
    assert main(["build", str(corpus), "-o", str(tmp_path / "no" / "vocab.txt")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["build", str(corpus), "-o", str(out), "--size", "5"]) == 2
    with pytest.raises(SystemExit) as e:
        main(["build", str(corpus), "-o", str(out), "--kind", "bpe"])
    assert e.value.code == 2
    assert not out.exists()


def test_bad_data_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xe5\xa4\xa9\n\xff\n")
    out = tmp_path / "vocab.txt"
    out.write_text("old\n", encoding="utf-8")
    assert main(["build", str(bad), "-o", str(out)]) == 1
    assert "line 2 is not valid UTF-8" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "old\n"  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt", "vocab.txt"]


def test_full_disk_leaves_nothing():
    res = run_with_full_disk(["kexue", "vocab", "build", "{mnt}/c.txt", "-o", "{mnt}/v.txt",
                              "--min-count", "1", "-q"],
                             files={"c.txt": TEXT}, fill=True)
    err = res.stderr.decode() if isinstance(res.stderr, bytes) else res.stderr
    assert res.returncode == 1 and "no space left on device" in err and "Traceback" not in err
    assert res.listing == ["c.txt"]
