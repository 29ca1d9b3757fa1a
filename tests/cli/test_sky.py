"""``kexue sky``: formats, output file, bad input, and no torch import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import icalendar

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kexue", "sky", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_ics_file_and_no_torch(tmp_path):
    out = tmp_path / "cal.ics"
    code = ("import sys; from kexue.cli import main; "
            f"rc = main(['sky', '2020', '--only', 'eclipses,seasons', '--format', 'ics', "
            f"'-o', {str(out)!r}]); "
            "assert 'torch' not in sys.modules, 'kexue sky imported torch'; sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    cal = icalendar.Calendar.from_ical(out.read_bytes())
    assert len(cal.walk("VEVENT")) == 10  # 6 eclipses + 4 seasons
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".kexue-tmp")]


def test_text_default_and_now():
    r = run("2020", "--only", "phases,eclipses")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("2020年全年天象（北京时间）")
    assert "15\u00a0\u3000二\u300000:14:00\u3000日全食" in r.stdout  # blog: 00:15
    r = run("now", "--only", "phases", "--lang", "en", "--tz", "UTC")
    assert r.returncode == 0, r.stderr
    assert sum(" Moon" in line for line in r.stdout.splitlines()) >= 3


def test_bad_input_exits_2_with_a_clear_message(tmp_path):
    r = run("2060")
    assert r.returncode == 2 and "outside the DE421 ephemeris range 1899-07-29 to 2053-10-09" \
        in r.stderr
    r = run("2020", "--tz", "Beijing")
    assert r.returncode == 2 and "unknown time zone 'Beijing'" in r.stderr
    r = run("2020", "--only", "moon")
    assert r.returncode == 2 and "valid categories: phases," in r.stderr
    r = run("2020", "--from", "2020-01-01")
    assert r.returncode == 2 and "not both" in r.stderr
    r = run("2020", "--only", "seasons", "-o", str(tmp_path / "missing" / "x.txt"))
    assert r.returncode == 1 and "cannot write" in r.stderr
    assert not (tmp_path / "missing").exists()
