"""`kexue demo`: builds, saves, reloads, runs and decodes with a small BERT, deterministically."""

from __future__ import annotations

import re

from kexue.cli import demo
from kexue.cli import main as cli_main


def test_demo_runs_and_reports(capsys):
    assert demo.main([]) == 0
    out = capsys.readouterr().out
    for needle in (
        "config:",
        "parameters:",
        "load report",
        "loaded 46 tensors",
        "hidden (2, 21, 64)",
        "mlm_logits (2, 21, 33)",
        "max abs diff 0.0e+00",
        "UniLM greedy decoding, 6 new tokens",
        "KV-cached decoding == uncached decoding: yes",
    ):
        assert needle in out, needle
    assert len(re.findall(r" -> '.*' ids \[\d+(?:, \d+){5}\]", out)) == 2
    first = re.search(r"checksum .*: (-?[\d.]+)", out).group(1)
    assert cli_main(["demo"]) == 0
    again = re.search(r"checksum .*: (-?[\d.]+)", capsys.readouterr().out).group(1)
    assert first == again


def test_demo_seed_changes_the_weights(capsys):
    demo.main(["--seed", "0"])
    a = re.search(r"checksum .*: (-?[\d.]+)", capsys.readouterr().out).group(1)
    demo.main(["--seed", "1"])
    b = re.search(r"checksum .*: (-?[\d.]+)", capsys.readouterr().out).group(1)
    assert a != b
