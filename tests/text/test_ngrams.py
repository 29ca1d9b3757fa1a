from collections import Counter

import numpy as np
import pytest

from kexue.text import NgramCounter
from kexue.text.ngrams import CHUNK_PATTERN, iter_blocks, iter_lines


def reference_counts(text: str, n: int) -> Counter:
    """Plain-Python reference: n-grams inside maximal runs of alphanumeric characters."""
    c = Counter()
    for chunk in CHUNK_PATTERN.findall(text):
        for i in range(len(chunk) - n + 1):
            c[chunk[i : i + n]] += 1
    return c


@pytest.fixture(scope="module")
def pd_text():
    from tests.conftest import shared_data_path

    path = shared_data_path("peoples_daily_199801", "seg_gold.utf8")
    with open(path, encoding="utf-8") as f:
        return [line.replace(" ", "") for _, line in zip(range(3000), f)]


def test_counts_match_a_python_reference_on_real_text(pd_text):
    nc = NgramCounter(order=4)
    for block in iter_blocks(pd_text, block_chars=50_000):  # several blocks, lazy merges
        nc.update(block)
    text = "\n".join(pd_text)
    for n in range(1, 5):
        assert dict(nc.items(n)) == reference_counts(text, n)
    assert nc.total == sum(reference_counts(text, 1).values())
    assert nc.count("中国") == reference_counts(text, 2)["中国"] > 0
    assert nc.count("，中") == 0 and nc.count("ÿÿ") == 0


def test_separators_and_doctest_example():
    nc = NgramCounter(order=2)
    nc.update("科学空间，科学 abc_d１２")
    assert nc.count("科学") == 2 and nc.count("间科") == 0
    assert nc.count("bc") == 1 and nc.count("cd") == 0  # underscore separates
    assert nc.count("１２") == 1  # full-width digits are word characters
    assert nc.total == 4 + 2 + 3 + 1 + 2


def test_pruning_bounds_the_table_and_only_undercounts():
    rng = np.random.default_rng(0)
    alphabet = [chr(0x4E00 + i) for i in range(3000)]
    blocks = ["".join(rng.choice(alphabet, 20_000)) for _ in range(6)]
    nc = NgramCounter(order=3, max_ngrams=20_000)
    for b in blocks:
        nc.update(b)
    text = "\n".join(blocks)
    assert nc.prune_level >= 2
    assert len(nc) - len(dict(nc.items(1))) <= 20_000 + 2 * 20_000  # pending blocks at most
    for n in (2, 3):
        ref = reference_counts(text, n)
        for gram, count in nc.items(n):
            assert count <= ref[gram]
    assert dict(nc.items(1)) == reference_counts(text, 1)  # unigrams are never pruned


def test_bad_input(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes("第一行\n".encode() + b"ok \xe4\xb8\n")
    with pytest.raises(ValueError, match=r"line 2 is not valid UTF-8 \(byte offset 13"):
        list(iter_lines([bad]))
    with pytest.raises(FileNotFoundError):
        list(iter_lines([tmp_path / "missing.txt"]))
    with pytest.raises(ValueError, match="order"):
        NgramCounter(order=5)
    with pytest.raises(TypeError):
        NgramCounter().update(b"bytes")
