import subprocess
import sys

from kexue.cli import commands, main


def test_help_lists_commands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for name in commands():
        assert name in out


def test_unknown_command_is_an_error(capsys):
    assert main(["no-such-command"]) == 2
    assert "unknown command 'no-such-command'" in capsys.readouterr().err


def test_python_dash_m_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "kexue", "--version"], capture_output=True, text=True, check=True
    )
    assert proc.stdout.startswith("kexue ")
