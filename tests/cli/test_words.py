import json

import pytest

from kexue.cli import main as kexue_main
from kexue.cli.words import main


@pytest.fixture
def corpus(tmp_path, shared_data):
    gold_path = shared_data("peoples_daily_199801", "seg_gold.utf8")
    with open(gold_path, encoding="utf-8") as f:
        gold = [line for _, line in zip(range(1200), f)]
    gold_file = tmp_path / "gold.txt"
    gold_file.write_text("".join(gold), encoding="utf-8")
    raw = tmp_path / "raw.txt"
    raw.write_text("".join(line.replace(" ", "") for line in gold), encoding="utf-8")
    return raw, gold_file


def test_discover_segment_evaluate(tmp_path, corpus, capsys):
    raw, gold = corpus
    lex = tmp_path / "lex.txt"
    assert kexue_main(["words", str(raw), "-o", str(lex)]) == 0
    lines = lex.read_text(encoding="utf-8").splitlines()
    counts = [int(line.split()[1]) for line in lines]
    assert counts == sorted(counts, reverse=True) and all(len(x.split()) == 2 for x in lines)
    assert "words written" in capsys.readouterr().err

    out = tmp_path / "seg.txt"
    assert main(["segment", "-l", str(lex), str(raw), "-o", str(out)]) == 0
    seg_lines = out.read_text(encoding="utf-8").splitlines()
    raw_lines = raw.read_text(encoding="utf-8").splitlines()
    assert len(seg_lines) == len(raw_lines)
    assert [s.replace(" ", "") for s in seg_lines] == raw_lines

    assert main(["evaluate", "--gold", str(gold), "--pred", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["with_punctuation"]["f1"] > 0.6
    assert report["bits_per_char"]["predicted"]["L"] < report["bits_per_char"]["characters"]["L"]
    # scoring through the lexicon gives the same numbers as through the segmented file
    assert main(["evaluate", "--gold", str(gold), "-l", str(lex), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == report
    assert main(["evaluate", "--gold", str(gold), "-l", str(lex)]) == 0
    assert "| with punctuation |" in capsys.readouterr().out


def test_discover_options(tmp_path, corpus):
    raw, _ = corpus
    lex = tmp_path / "lex.txt"
    args = ["discover", str(raw), "-o", str(lex), "--min-count", "6", "--thresholds", "2,4",
            "--order", "3", "--top", "50", "--quiet"]
    assert main(args) == 0
    assert len(lex.read_text(encoding="utf-8").splitlines()) == 50


def test_errors_leave_no_output(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes("科学空间\n".encode() * 3 + b"\xc3\x28\n")
    lex = tmp_path / "lex.txt"
    assert main([str(bad), "-o", str(lex)]) == 1  # bad data found while working: runtime
    err = capsys.readouterr().err
    assert "line 4 is not valid UTF-8" in err and not lex.exists()
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert main([str(empty), "-o", str(lex)]) == 1
    assert "empty corpus" in capsys.readouterr().err and not lex.exists()
    assert main([str(tmp_path / "nope.txt"), "-o", str(lex)]) == 2
    assert "not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(bad), "-o", str(lex), "--thresholds", "x"])
    with pytest.raises(SystemExit):
        main(["evaluate", "--gold", "g"])  # needs --pred or --lexicon
    assert main(["--help"]) == 0
    assert "kexue words segment" in capsys.readouterr().out


def test_segment_stdin_to_stdout(tmp_path, monkeypatch, capsys):
    import io

    lex = tmp_path / "lex.txt"
    lex.write_text("科学 10\n空间 8\n", encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO("科学空间，科学\n空间\n"))
    assert main(["segment", "-l", str(lex)]) == 0
    assert capsys.readouterr().out == "科学 空间 ， 科学\n空间\n"


def test_discover_reads_the_shipped_gzip_corpus_directly(tmp_path, shared_data):
    import gzip

    gz = shared_data("pretrain_zh", "valid.txt.gz")
    plain = tmp_path / "valid.txt"
    plain.write_bytes(gzip.decompress(gz.read_bytes()))
    lex_gz, lex_plain = tmp_path / "gz.lex", tmp_path / "plain.lex"
    assert main(["discover", str(gz), "-o", str(lex_gz), "--quiet"]) == 0
    assert main(["discover", str(plain), "-o", str(lex_plain), "--quiet"]) == 0
    assert lex_gz.read_bytes() == lex_plain.read_bytes()
    assert len(lex_gz.read_text(encoding="utf-8").splitlines()) > 1000
    # segment reads it too (first lines, compressed standard input included)
    out = tmp_path / "seg.txt"
    assert main(["segment", "-l", str(lex_gz), str(gz), "-o", str(out)]) == 0
    seg = out.read_text(encoding="utf-8").splitlines()
    assert [s.replace(" ", "") for s in seg] == [
        x.replace(" ", "") for x in plain.read_text(encoding="utf-8").splitlines()]
