"""Word discovery on People's Daily (Jan 1998): quality (P/R/F1, bits/char) and throughput.

Run from the repository root:

    python benchmarks/words.py                 # every part (a few minutes)
    python benchmarks/words.py --part quality
    python benchmarks/words.py --part speed --repeats 5
    python benchmarks/words.py --part grid
    python benchmarks/words.py --part pruning
    python benchmarks/words.py --part tokenizer

Reads ``../shared/data/peoples_daily_199801/seg_gold.utf8`` (gold words separated by spaces);
the raw corpus is that text with the spaces removed. Prints Markdown tables.

- quality: discovery with the defaults on all lines (transductive, like the notes' baseline),
  and a held-out split (lexicon from 4 of every 5 lines, scored on the 5th); segmentation with
  :class:`kexue.text.Segmenter` and, as in archives/6920, with jieba (``HMM=False``) loading the
  top 50,000 words as its only dictionary.
- speed: n-gram counting (orders 1..4) in MB/s of UTF-8 text on one core, NumPy counter vs a
  plain ``collections.Counter`` over string slices, alternated, median of repeats; then the whole
  pipeline (count, filter, cut, back-track) and segmentation.
- grid: F1 (transductive and held out) and bits/char over min_count and thresholds.
- pruning: the same discovery under smaller n-gram budgets (lossy counting), and what it costs.
- tokenizer: WordPiece throughput on the sentiment corpus (fast / python backends vs
  ``transformers.BertTokenizer``) and the WoBERT token-length ratio.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))

from kexue.text import (  # noqa: E402
    NgramCounter,
    Segmenter,
    WordDiscovery,
    bits_per_char,
    save_lexicon,
    score_segmentation,
)
from kexue.text.ngrams import CHUNK_PATTERN, iter_blocks  # noqa: E402


def _need(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"data not found: {path} (expected ../shared/data beside the checkout)")
    return path


def _gold() -> list[list[str]]:
    path = _need(DATA / "peoples_daily_199801" / "seg_gold.utf8")
    with open(path, encoding="utf-8") as f:
        return [line.split() for line in f]


def _row(name, s1, s0, bpc) -> str:
    return (f"| {name} | {s1.precision:.4f} | {s1.recall:.4f} | **{s1.f1:.4f}** | "
            f"{s0.precision:.4f} | {s0.recall:.4f} | {s0.f1:.4f} | {bpc['L']:.3f} |")


def _jieba_cut(lexicon: dict[str, int], texts: list[str], top: int) -> list[list[str]]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "lex.txt")
        save_lexicon(path, dict(list(lexicon.items())[:top]))
        tk = jieba.Tokenizer(path)
        tk.tmp_dir = tmp
        tk.initialize()
        return [[w for w in tk.cut(t, HMM=False) if w.strip()] for t in texts]


def quality() -> None:
    gold = _gold()
    raw = ["".join(g) for g in gold]
    print("## Word discovery on People's Daily 1998-01 (raw text = gold without spaces)\n")
    print("| setting | P | R | F1 (with punct.) | P (no punct.) | R (no punct.) | F1 (no punct.) "
          "| L bits/char |")
    print("|---|---|---|---|---|---|---|---|")
    bpc_gold = bits_per_char(t for g in gold for t in g)
    bpc_chars = bits_per_char(c for r in raw for c in r if c.isalnum())
    chars = [list(r) for r in raw]
    print(_row("single characters", score_segmentation(gold, chars),
               score_segmentation(gold, chars, punctuation=False), bpc_chars))
    info = []
    for name, train_idx, test_idx in (
        ("all lines, transductive", range(len(raw)), range(len(raw))),
        ("held out (train 4/5 lines, score 1/5)",
         [i for i in range(len(raw)) if i % 5], list(range(0, len(raw), 5))),
    ):
        t0 = time.perf_counter()
        res = WordDiscovery().fit([raw[i] for i in train_idx])
        t1 = time.perf_counter()
        g = [gold[i] for i in test_idx]
        texts = [raw[i] for i in test_idx]
        seg = Segmenter(res.lexicon)
        pred = [seg.cut(t) for t in texts]
        t2 = time.perf_counter()
        bpc = bits_per_char(t for p in pred for t in p)
        print(_row(f"{name}: kexue Segmenter", score_segmentation(g, pred),
                   score_segmentation(g, pred, punctuation=False), bpc))
        jpred = _jieba_cut(res.lexicon, texts, 50_000)
        print(_row(f"{name}: jieba, top 50k words", score_segmentation(g, jpred),
                   score_segmentation(g, jpred, punctuation=False),
                   bits_per_char(t for p in jpred for t in p)))
        info.append((name, res, t1 - t0, t2 - t1))
    print(f"| gold segmentation | 1 | 1 | 1 | 1 | 1 | 1 | {bpc_gold['L']:.3f} |")
    print()
    print("| run | chars counted | min_count | cohesive 2/3/4-grams | candidates | "
          "removed by back-tracking | lexicon | discover s | segment s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, res, td, ts in info:
        coh = "/".join(str(res.cohesive[n]) for n in (2, 3, 4))
        print(f"| {name} | {res.total_chars} | {res.min_count} | {coh} | {res.candidates} | "
              f"{res.removed_by_backtrack} | {len(res.lexicon)} | {td:.1f} | {ts:.1f} |")
    print()
    print(f"bits/char: characters H={bpc_chars['H']:.3f}; gold H={bpc_gold['H']:.3f} "
          f"l={bpc_gold['l']:.3f} L={bpc_gold['L']:.3f}\n")


def grid() -> None:
    gold = _gold()
    raw = ["".join(g) for g in gold]
    train = [r for i, r in enumerate(raw) if i % 5]
    test_gold = gold[::5]
    test_raw = raw[::5]
    print("## Sensitivity: min_count and thresholds (F1 with punctuation)\n")
    print("| min_count | θ_2/θ_3/θ_4 | lexicon | F1 transductive | P | R | L bits/char | "
          "F1 held out |")
    print("|---|---|---|---|---|---|---|---|")
    settings = [(3, (2, 4, 6)), (4, (2, 4, 6)), (5, (2, 4, 6)), (8, (2, 4, 6)), (16, (2, 4, 6)),
                (8, (1.6, 3.2, 4.8)), (4, (1.5, 4, 6))]
    for mc, th in settings:
        res = WordDiscovery(min_count=mc, thresholds=th).fit(raw)
        seg = Segmenter(res.lexicon)
        pred = [seg.cut(t) for t in raw]
        s = score_segmentation(gold, pred)
        bpc = bits_per_char(t for p in pred for t in p)
        res_h = WordDiscovery(min_count=mc, thresholds=th).fit(train)
        seg_h = Segmenter(res_h.lexicon)
        s_h = score_segmentation(test_gold, [seg_h.cut(t) for t in test_raw])
        ths = "/".join(f"{t:g}" for t in th)
        print(f"| {mc} | {ths} | {len(res.lexicon)} | {s.f1:.4f} | {s.precision:.4f} | "
              f"{s.recall:.4f} | {bpc['L']:.3f} | {s_h.f1:.4f} |")
    print()


def _count_numpy(lines: list[str]) -> int:
    nc = NgramCounter(order=4)
    for block in iter_blocks(lines):
        nc.update(block)
    nc.finalize()
    return len(nc)


def _count_counter(lines: list[str]) -> int:
    tables = [Counter() for _ in range(4)]
    for block in iter_blocks(lines):
        s = "\n".join(CHUNK_PATTERN.findall(block))
        for n in range(1, 5):
            tables[n - 1].update(s[i : i + n] for i in range(len(s) - n + 1))
    return sum(sum(1 for k in t if "\n" not in k) for t in tables)


def speed(repeats: int) -> None:
    gold = _gold()
    lines = ["".join(g) for g in gold]
    mb = sum(len(x.encode("utf-8")) + 1 for x in lines) / 1e6
    print(f"## Counting throughput (1..4-grams, {mb:.2f} MB UTF-8, one process; median of "
          f"{repeats}, competitors alternated; shared 2-core machine)\n")
    times: dict[str, list[float]] = {"numpy": [], "counter": []}
    sizes = {}
    for _ in range(repeats):
        for name, fn in (("numpy", _count_numpy), ("counter", _count_counter)):
            t0 = time.process_time()
            sizes[name] = fn(lines)
            times[name].append(time.process_time() - t0)
    assert sizes["numpy"] == sizes["counter"], sizes
    print("| counter | distinct n-grams | CPU s (median) | MB/s |")
    print("|---|---|---|---|")
    for name, label in (("numpy", "kexue NgramCounter (NumPy, packed uint64)"),
                        ("counter", "collections.Counter over slices")):
        t = statistics.median(times[name])
        print(f"| {label} | {sizes[name]} | {t:.2f} | {mb / t:.2f} |")
    print()
    t0 = time.process_time()
    res = WordDiscovery().fit(lines)
    t1 = time.process_time()
    seg = Segmenter(res.lexicon)
    for line in lines:
        seg.cut(line)
    t2 = time.process_time()
    print("| stage (whole corpus) | CPU s | MB/s |")
    print("|---|---|---|")
    td = t1 - t0
    print(f"| discovery (count + filter + cut + back-track) | {td:.2f} | {mb / td:.2f} |")
    print(f"| segmentation with the lexicon | {t2 - t1:.2f} | {mb / (t2 - t1):.2f} |")
    print()


def pruning() -> None:
    gold = _gold()
    lines = ["".join(g) for g in gold]
    print("## Bounded memory: discovery under an n-gram budget (orders >= 2), all lines\n")
    print("| max_ngrams | distinct n-grams kept | prune level | min_count used | lexicon | "
          "F1 (with punct.) |")
    print("|---|---|---|---|---|---|")
    for budget in (50_000_000, 1_000_000, 300_000):
        wd = WordDiscovery(max_ngrams=budget)
        res = wd.fit(lines)
        seg = Segmenter(res.lexicon)
        f1 = score_segmentation(gold, [seg.cut(t) for t in lines]).f1
        print(f"| {budget} | {len(wd.counter)} | {wd.counter.prune_level} | {res.min_count} | "
              f"{len(res.lexicon)} | {f1:.4f} |")
    print()


def tokenizer(repeats: int) -> None:
    from transformers import BertTokenizer

    from kexue.text import Tokenizer, build_wobert_vocab, wobert_tokenizer

    vocab = _need(DATA / "vocab" / "google_zh_vocab.txt")
    texts = []
    for split in ("train", "valid", "test"):
        with open(_need(DATA / "sentiment" / f"sentiment.{split}.data"), encoding="utf-8") as f:
            texts += [line.rstrip("\n").rsplit("\t", 1)[0] for line in f]
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    hf = BertTokenizer(str(vocab))
    fast = Tokenizer(vocab, backend="fast")
    py = Tokenizer(vocab, backend="python")
    runs = {
        "transformers.BertTokenizer (batch call)": lambda: hf(texts)["input_ids"],
        "kexue Tokenizer fast, encode_batch": lambda: fast.encode_batch(texts),
        "kexue Tokenizer fast, encode per line": lambda: [fast.encode(t) for t in texts],
        "kexue Tokenizer python, encode per line": lambda: [py.encode(t) for t in texts],
    }
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            t0 = time.process_time()
            fn()
            times[name].append(time.process_time() - t0)
    print(f"## WordPiece throughput ({len(texts)} sentiment lines, {mb:.2f} MB; CPU time of "
          f"all threads, median of {repeats}, alternated; shared 2-core machine)\n")
    print("| tokenizer | CPU s | MB/s |")
    print("|---|---|---|")
    for name, ts in times.items():
        t = statistics.median(ts)
        print(f"| {name} | {t:.2f} | {mb / t:.2f} |")
    print()
    wob = build_wobert_vocab(vocab)
    wtk = wobert_tokenizer(wob)
    n_char = sum(len(ids) for ids, _ in fast.encode_batch(texts))
    t0 = time.process_time()
    n_word = sum(len(wtk.encode(t)[0]) for t in texts)
    tw = time.process_time() - t0
    print("| vocab | size | tokens on the sentiment corpus (with [CLS]/[SEP]) |")
    print("|---|---|---|")
    print(f"| BERT characters | 21128 | {n_char} |")
    print(f"| WoBERT words (jieba, HMM off) | {len(wob)} | {n_word} "
          f"({n_char / n_word:.2f}x fewer; {tw:.1f} CPU s) |")
    print()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = ["all", "quality", "grid", "speed", "pruning", "tokenizer"]
    p.add_argument("--part", choices=parts, default="all")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    if args.part in ("all", "quality"):
        quality()
    if args.part in ("all", "grid"):
        grid()
    if args.part in ("all", "speed"):
        speed(args.repeats)
    if args.part in ("all", "pruning"):
        pruning()
    if args.part in ("all", "tokenizer"):
        tokenizer(args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
