"""``kexue chess``: play (scripted stdin, and driven through tmux as a person would), eval,
train --export, and bad input (exit codes, messages, the game goes on)."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from kexue.cli import main as kexue_main
from kexue.models.saving import save_pretrained
from kexue.recipes.chess.model import VOCAB, build_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("chess") / "model"
    save_pretrained(build_model(layers=1, hidden=16, heads=2, max_positions=256), d,
                    vocab=VOCAB)
    return d


def _play(args, stdin: str):
    return subprocess.run([sys.executable, "-m", "kexue", "chess", "play", *args],
                          input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_human_game_bad_input_goes_on(model_dir):
    r = _play(["--model", str(model_dir), "--color", "never"],
              "h2e3\n炮二平十\nxyz\n炮二平五\nhint\nmoves\nundo\n马二进三\nquit\n")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "not played: 'h2e3' is not a legal move here" in out
    assert "not played: '炮二平十': the last character must be a number" in out
    assert "not played: not an ICCS move: 'xyz'" in out
    assert "1. 红 Red: 炮二平五 (h2e2)" in out
    assert "model suggests:" in out and out.count("%") >= 3
    assert "h0g2(马二进三)" in out  # the legal-move list
    assert "1. 红 Red: 马二进三 (h0g2)" in out  # after undo the game restarted at ply 1
    assert "车马相仕帅仕相马车" in out and "車馬象士将士象馬車" in out
    assert "game abandoned" in out


def test_model_vs_random_and_colour(model_dir):
    r = _play(["--model", str(model_dir), "--red", "model", "--black", "random",
               "--max-plies", "12", "--color", "always", "--top"], "")
    assert r.returncode == 0, r.stderr
    assert "game over: 1/2-1/2 (12-ply limit) after 12 plies" in r.stdout
    assert "\033[1;31m" in r.stdout and "model's top 3:" in r.stdout
    moves = r.stdout.split("moves: ")[1].split()
    assert len(moves) == 12
    referee = pytest.importorskip("kexue.recipes.chess.referee")
    pytest.importorskip("cchess")
    referee.cchess_replay(moves, "rnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/9/RNBAKABNR w")


def test_setup_position_and_bad_arguments(model_dir):
    r = _play(["--model", str(model_dir), "--fen", "3k5/9/9/9/9/9/9/9/4R4/4K4 w",
               "--red", "model", "--black", "random", "--quiet", "--max-plies", "4"], "")
    assert r.returncode == 0 and "outside its training" in r.stdout
    r = _play(["--fen", "rnbakabnr/9 w"], "")
    assert r.returncode == 2 and "ranks" in r.stderr
    r = _play(["--moves", "h2e2 h2e2", "--model", str(model_dir)], "")
    assert r.returncode == 2 and "not a legal move" in r.stderr
    r = _play(["--red", "model", "--model", str(model_dir.parent / "missing")], "")
    assert r.returncode == 1 and "cannot load the chess model" in r.stderr
    assert kexue_main(["chess", "plya"]) == 2


def test_eval_and_export(model_dir, tmp_path, shared_data, capsys):
    liu = shared_data("xiangqi", "liu_dahua_1125_uci.pgn")
    head = tmp_path / "head.pgn"
    head.write_text("".join(liu.read_text(encoding="utf-8").splitlines(True)[:8])
                    + '[Event "bad"]\n\n1. h2e2 h2e2\n', encoding="utf-8")
    code = kexue_main(["chess", "eval", str(head), "--model", str(model_dir), "--book",
                       str(head), "--json"])
    assert code == 0
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert out["games"] == 2 and out["skipped"] == 1 and "game 3 (line 9)" in cap.err
    assert out["model"]["all"]["moves"] == out["book"]["all"]["moves"] > 50
    assert out["book"]["all"]["top1"] > out["model"]["all"]["top1"]  # the book knows them
    assert kexue_main(["chess", "eval", str(tmp_path / "nope.pgn"),
                       "--model", str(model_dir)]) == 2
    assert kexue_main(["chess", "train", "--run-dir", str(tmp_path / "run"), "--export"]) == 1


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_play_in_tmux_as_a_person(model_dir, tmp_path):
    """Type into a real terminal (tmux send-keys) and read the screen (capture-pane)."""
    name = f"kexue-chess-{id(tmp_path)}"
    cmd = (f"cd {ROOT} && {sys.executable} -m kexue chess play --model {model_dir} "
           f"--color always; echo EXITED $?; sleep 60")
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "50", cmd],
                   check=True)

    def screen() -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", name, "-S", "-200"],
                              capture_output=True, text=True).stdout

    def wait_for(text: str, timeout: float = 240) -> str:
        end = time.time() + timeout
        while time.time() < end:
            s = screen()
            if text in s:
                return s
            time.sleep(0.5)
        raise AssertionError(f"{text!r} never appeared:\n{screen()}")

    def send(keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", name, "-l", keys], check=True)
        subprocess.run(["tmux", "send-keys", "-t", name, "Enter"], check=True)

    try:
        wait_for("move (ICCS or 中文")
        send("炮二平六")  # no cannon can reach? file 六 is reachable: a legal move
        wait_for("1. 红 Red: 炮二平六 (h2d2)")
        wait_for("2. 黑 Black:")
        send("e3e5")
        wait_for("not played: 'e3e5' is not a legal move here")
        send("hint")
        wait_for("model suggests:")
        send("quit")
        s = wait_for("EXITED 0")
        assert "红方 Red to move" in s and "楚河" in s
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
