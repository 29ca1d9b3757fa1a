"""kexue sample-text: keyword checks (no model run) and one short chain."""

from __future__ import annotations

import json

from kexue.cli import main as kexue_main
from kexue.cli._exitcodes import OK, USAGE_ERROR


def test_keyword_outside_the_vocabulary_is_a_usage_error(capsys):
    assert kexue_main(["sample-text", "--keywords", "科学", "\U0002a6a5"]) == USAGE_ERROR
    assert "outside the model's vocabulary" in capsys.readouterr().err
    assert kexue_main(["sample-text", "--keywords", " "]) == USAGE_ERROR
    assert "empty" in capsys.readouterr().err


def test_short_chain_keeps_the_keywords_in_order(capsys):
    status = kexue_main(["sample-text", "--keywords", "科学", "空间", "--steps", "6",
                         "--top-k", "4", "--json", "--seed", "3"])
    out, err = capsys.readouterr()
    assert status == OK, err
    record = json.loads(out)
    s = record["sentence"]
    assert "科学" in s and "空间" in s and s.index("科学") < s.index("空间")
    assert set(record["acceptance"]) == {"replace", "insert", "delete"}
