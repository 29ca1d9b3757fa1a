"""``kexue words`` under faults and bad input (issue 25, items 2, 8, 13 and 14).

Outputs go through the one atomic writer (an unrelated ``OUT.tmp`` is never touched, a full or
read-only disk leaves nothing behind), outputs are checked before the work, standard input is
decoded as strictly as files, and I/O errors are clean messages, never tracebacks.
"""

from __future__ import annotations

import pytest

from kexue.cli.words import main
from tests.faults import closed_pipe, full_stdout, run_with_full_disk, run_with_readonly_dir

LEXICON = "今天 50\n天气 40\n不错 30\n我们 20\n公园 10\n"
TEXT = "今天天气不错，我们去公园玩。\n" * 3000  # ~130 KB
CORPUS = "".join(f"今天天气不错{i % 7}我们去公园玩第{i % 13}次\n" for i in range(3000))


@pytest.fixture
def files(tmp_path):
    lex = tmp_path / "lex.txt"
    lex.write_text(LEXICON, encoding="utf-8")
    text = tmp_path / "in.txt"
    text.write_text(TEXT, encoding="utf-8")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(CORPUS, encoding="utf-8")
    return lex, text, corpus


def _clean(stderr: str | bytes) -> str:
    err = stderr.decode() if isinstance(stderr, bytes) else stderr
    assert "Traceback" not in err, err
    return err


@pytest.mark.parametrize("sub", ["segment", "discover"])
def test_unrelated_tmp_file_is_never_touched(files, tmp_path, sub):
    lex, text, corpus = files
    out = tmp_path / "out.txt"
    bystander = tmp_path / "out.txt.tmp"
    bystander.write_text("someone else's file")
    if sub == "segment":
        argv = ["segment", "-l", str(lex), str(text), "-o", str(out)]
    else:
        argv = ["discover", str(corpus), "-o", str(out), "--min-count", "5", "--quiet"]
    assert main(argv) == 0
    assert bystander.read_text() == "someone else's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["lex.txt", "in.txt", "corpus.txt", "out.txt", "out.txt.tmp"])


@pytest.mark.parametrize("sub", ["segment", "discover"])
def test_full_disk_leaves_no_partial_output(sub):
    if sub == "segment":
        cmd = ["kexue", "words", "segment", "-l", "{mnt}/lex.txt", "{mnt}/in.txt",
               "-o", "{mnt}/out.txt"]
    else:
        cmd = ["kexue", "words", "{mnt}/in.txt", "-o", "{mnt}/out.txt", "--min-count", "2",
               "--quiet"]
    files = {"lex.txt": LEXICON, "in.txt": TEXT if sub == "segment" else CORPUS}
    res = run_with_full_disk(cmd, size="256k", files=files, fill=sub == "discover")
    err = _clean(res.stderr)
    assert res.returncode == 1 and "no space left on device" in err and "out.txt" in err
    assert res.listing == ["in.txt", "lex.txt"]  # no partial output, no temporary file


@pytest.mark.parametrize("sub", ["segment", "discover"])
def test_read_only_output_is_a_clean_error(sub):
    if sub == "segment":
        cmd = ["kexue", "words", "segment", "-l", "{mnt}/lex.txt", "{mnt}/in.txt",
               "-o", "{mnt}/out.txt"]
    else:
        cmd = ["kexue", "words", "{mnt}/in.txt", "-o", "{mnt}/out.txt", "--min-count", "2"]
    res = run_with_readonly_dir(cmd, files={"lex.txt": LEXICON, "in.txt": CORPUS})
    err = _clean(res.stderr)
    assert res.returncode == 1 and "Read-only file system" in err and "out.txt" in err
    assert res.listing == ["in.txt", "lex.txt"]


def test_outputs_are_checked_before_the_work(files, tmp_path, monkeypatch, capsys):
    lex, text, corpus = files

    def too_late(*args, **kwargs):
        raise AssertionError("the discovery ran before the output was checked")

    monkeypatch.setattr("kexue.text.discovery.discover_words", too_late)
    assert main([str(corpus), "-o", str(tmp_path / "missing" / "lex.txt")]) == 2
    assert "output directory" in _clean(capsys.readouterr().err)
    assert main([str(corpus), "-o", str(tmp_path)]) == 2  # -o naming a directory
    assert "is a directory" in _clean(capsys.readouterr().err)
    assert main(["segment", "-l", str(lex), str(text), "-o", str(tmp_path)]) == 2
    assert "is a directory" in _clean(capsys.readouterr().err)
    assert main(["segment", "-l", str(lex), str(text), "-o", str(tmp_path / "no" / "x")]) == 2
    assert "does not exist" in _clean(capsys.readouterr().err)


def test_directory_input_is_named_as_a_directory(files, tmp_path, capsys):
    lex, text, _ = files
    assert main([str(tmp_path), "-o", str(tmp_path / "lex2.txt")]) == 2
    err = _clean(capsys.readouterr().err)
    assert "is a directory" in err and "not found" not in err
    assert main(["segment", "-l", str(lex), str(tmp_path)]) == 2
    assert "is a directory" in _clean(capsys.readouterr().err)
    assert main(["evaluate", "--gold", str(tmp_path), "--pred", str(text)]) == 2
    assert "is a directory" in _clean(capsys.readouterr().err)
    assert main(["segment", "-l", str(tmp_path), str(text)]) == 2
    assert "is a directory" in _clean(capsys.readouterr().err)


def test_gbk_on_stdin_is_refused_like_a_gbk_file(files, tmp_path):
    import subprocess
    import sys

    lex, _, _ = files
    gbk = "今天天气不错\n".encode("gbk")
    proc = subprocess.run([sys.executable, "-m", "kexue", "words", "segment", "-l", str(lex)],
                          input=gbk, capture_output=True)
    err = _clean(proc.stderr)
    assert proc.returncode == 1 and "<stdin>: line 1 is not valid UTF-8" in err
    assert proc.stdout == b""
    bad = tmp_path / "gbk.txt"
    bad.write_bytes(gbk)
    proc = subprocess.run([sys.executable, "-m", "kexue", "words", "segment", "-l", str(lex),
                           str(bad), "-o", str(tmp_path / "seg.txt")], capture_output=True)
    assert proc.returncode == 1 and "line 1 is not valid UTF-8" in _clean(proc.stderr)
    assert not (tmp_path / "seg.txt").exists()
    proc = subprocess.run([sys.executable, "-m", "kexue", "words", "segment", "-l", str(lex)],
                          input="今天天气不错\n".encode(), capture_output=True)
    assert proc.returncode == 0 and proc.stdout.decode() == "今天 天气 不错\n"


def test_stdout_on_a_full_device(files):
    lex, text, _ = files
    proc = full_stdout(["kexue", "words", "segment", "-l", str(lex), str(text)])
    err = _clean(proc.stderr)
    assert proc.returncode == 1 and "cannot write standard output: no space left" in err
    gold = text.parent / "gold.txt"
    gold.write_text("今天 天气 不错\n", encoding="utf-8")
    proc = full_stdout(["kexue", "words", "evaluate", "--gold", str(gold), "--pred", str(gold)])
    assert proc.returncode == 1 and "no space left" in _clean(proc.stderr)


def test_closed_pipe_ends_quietly(files):
    lex, text, _ = files
    proc = closed_pipe(["kexue", "words", "segment", "-l", str(lex), str(text)])
    _clean(proc.stderr)
    assert proc.returncode == 141 and proc.stderr == b""


def test_killed_segment_run_is_cleaned_up_by_the_next(files, tmp_path):
    import sys

    from tests.faults import sigkill_when

    lex, text, _ = files
    out = tmp_path / "seg.txt"
    code = ("import sys, time\n"
            "import kexue.text.segment as s\n"
            "real = s.Segmenter.cut\n"
            "n = [0]\n"
            "def cut(self, line):\n"
            "    n[0] += 1\n"
            "    if n[0] == 100:\n"
            "        print('KILL-ME', flush=True); time.sleep(60)\n"
            "    return real(self, line)\n"
            "s.Segmenter.cut = cut\n"
            "from kexue.cli.words import main\n"
            "main(sys.argv[1:])\n")
    sigkill_when([sys.executable, "-c", code, "segment", "-l", str(lex), str(text), "-o",
                  str(out)], "KILL-ME")
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".kexue-tmp")]
    assert main(["segment", "-l", str(lex), str(text), "-o", str(out)]) == 0
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".kexue-tmp")]
    assert out.read_text(encoding="utf-8").count("\n") == TEXT.count("\n")


def test_outputs_are_never_more_readable_than_the_inputs(files, tmp_path):
    import os
    import stat

    lex, text, corpus = files
    os.chmod(text, 0o600)
    os.chmod(corpus, 0o640)
    old = os.umask(0o022)
    try:
        assert main(["segment", "-l", str(lex), str(text), "-o", str(tmp_path / "s.txt")]) == 0
        assert main([str(corpus), "-o", str(tmp_path / "l.txt"), "--min-count", "5",
                     "--quiet"]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "s.txt").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "l.txt").stat().st_mode) == 0o640
