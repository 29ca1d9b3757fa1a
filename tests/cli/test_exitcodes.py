"""One convention for every ``kexue`` command (``kexue/cli/_exitcodes.py``): exit codes, a
closed pipe, misspelt subcommands, complete ``--help``, sanity checks."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from kexue.cli import _exitcodes as codes
from kexue.cli import commands, module_name
from kexue.cli import main as kexue_main
from tests.faults import closed_pipe

REPO = Path(__file__).resolve().parents[2]


def test_codes_are_the_documented_ones():
    assert (codes.OK, codes.RUNTIME_ERROR, codes.USAGE_ERROR) == (0, 1, 2)
    assert (codes.INTERRUPTED, codes.BROKEN_PIPE) == (130, 141)


def test_closed_pipe_ends_quietly():
    # `kexue demo | head -c 10`: today a BrokenPipeError traceback and status 1
    res = closed_pipe(["kexue", "demo"], read_bytes=10)
    assert res.returncode == codes.BROKEN_PIPE, res.stderr
    assert b"Traceback" not in res.stderr and b"BrokenPipe" not in res.stderr


def test_unknown_command_suggests(capsys):
    assert kexue_main(["wrods"]) == codes.USAGE_ERROR
    assert "did you mean 'words'?" in capsys.readouterr().err


def test_misspelt_words_subcommand_is_not_read_as_a_corpus(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert kexue_main(["words", "evalute", "--gold", "g.txt", "--pred", "p.txt"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'evalute'" in err and "did you mean 'evaluate'?" in err
    (tmp_path / "evalute").write_text("天气\n", encoding="utf-8")  # a real file: a corpus
    assert not codes.misspelt("evalute", ("discover", "segment", "evaluate"))


def test_gold_without_separators_fails(capsys, tmp_path):
    raw = tmp_path / "raw.txt"
    raw.write_text("今天天气不错\n科学空间的文章\n", encoding="utf-8")
    seg = tmp_path / "seg.txt"
    seg.write_text("今天 天气 不错\n科学 空间 的 文章\n", encoding="utf-8")
    assert kexue_main(["words", "evaluate", "--gold", str(raw), "--pred", str(seg)]) == 1
    captured = capsys.readouterr()
    assert "no word separators" in captured.err and "F1" not in captured.out
    assert kexue_main(["words", "evaluate", "--gold", str(seg), "--pred", str(seg)]) == 0


def test_directory_where_a_file_is_expected(capsys, tmp_path):
    seg = tmp_path / "seg.txt"
    seg.write_text("今天 天气\n", encoding="utf-8")
    assert kexue_main(["words", "evaluate", "--gold", str(tmp_path), "--pred", str(seg)]) == 2
    assert "is a directory" in capsys.readouterr().err
    with pytest.raises(ValueError, match="is a directory, not a file"):
        codes.check_input_file(tmp_path)
    with pytest.raises(ValueError, match="not found"):
        codes.check_input_file(tmp_path / "missing.txt")


def _help(argv: list[str], capsys) -> str:
    module = importlib.import_module(f"kexue.cli.{module_name(argv[0])}")
    try:
        module.main([*argv[1:], "--help"])
    except SystemExit as stop:
        assert stop.code in (0, None)
    return capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(commands()))
def test_help_lists_every_option(name, capsys):
    source = (REPO / "kexue" / "cli" / f"{module_name(name)}.py").read_text(encoding="utf-8")
    options = set(re.findall(r"add_argument\(\s*(?:\"-\w\",\s*)?\"(--[\w-]+)\"", source))
    shown = _help([name], capsys)
    subcommands = set(re.findall(r"add_parser\(\s*\"([\w-]+)\"", source))
    listed = re.search(r"^_SUBCOMMANDS = \(([^)]*)\)", source, re.M)  # hand dispatchers
    if listed:
        subcommands |= set(re.findall(r"\"([\w-]+)\"", listed.group(1)))
    if name == "words":
        subcommands |= {"discover", "segment", "evaluate"}
    shown += "".join(_help([name, sub], capsys) for sub in sorted(subcommands))
    missing = sorted(o for o in options if o not in shown)
    assert not missing, f"kexue {name} --help does not list {missing}"


@pytest.mark.parametrize("argv", [
    ["shuffle", "{dir}", "-o", "{dir}/out.txt"],
    ["words", "{dir}", "-o", "{dir}/lex.txt"],
    ["words", "segment", "-l", "{dir}"],
    ["words", "evaluate", "--gold", "{dir}", "--pred", "{dir}"],
])
def test_every_command_treats_a_directory_input_as_a_usage_error(argv, tmp_path, capsys):
    """One rule (kexue/cli/_exitcodes.py): what the arguments alone show wrong exits 2.
    `kexue shuffle DIR` used to exit 1 where `kexue words DIR` exited 2."""
    status = kexue_main([a.replace("{dir}", str(tmp_path)) for a in argv])
    assert status == codes.USAGE_ERROR
    assert "is a directory" in capsys.readouterr().err


def test_bad_data_found_while_working_is_a_runtime_error(tmp_path, capsys):
    """`kexue words` used to exit 2 (usage) for bad UTF-8 inside a corpus file."""
    bad = tmp_path / "bad.txt"
    bad.write_bytes("科学\n".encode() + b"\xff\n")
    assert kexue_main(["words", str(bad), "-o", str(tmp_path / "lex.txt")]) == 1
    assert kexue_main(["words", "segment", "-l", str(bad), str(bad)]) == 1
    assert "not valid UTF-8" in capsys.readouterr().err
