"""A vocabulary built for a corpus vs the simplified Google vocabulary, on real text.

Builds a character vocabulary and a WordPiece vocabulary from one training shard of
``pretrain_zh`` (``kexue.text.vocab_build``), minimum count 2, both capped at the simplified
Google vocabulary's size (13,585 tokens; one shard fills less), and measures on the validation
shard:

- the ``[UNK]`` rate (share of tokens that are ``[UNK]``) of each, and of the simplified
  Google vocabulary;
- tokens per character (WordPiece merges shorten Latin words and numbers);
- how the character vocabulary starts from a Google-vocabulary checkpoint
  (``kexue.text.vocab_carry.carry_over``): tokens that keep their row, tokens built from
  pieces, tokens starting at ``[UNK]``.

    python experiments/vocab_domain.py [--shard PATH] [--valid PATH] [--record]

``--record`` appends the numbers to results/vocab.jsonl.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kexue.text import Tokenizer  # noqa: E402
from kexue.text.ngrams import iter_lines  # noqa: E402
from kexue.text.vocab import load_vocab  # noqa: E402
from kexue.text.vocab_build import SPECIALS, char_vocab, count_words, wordpiece_vocab  # noqa: E402
from kexue.text.vocab_carry import carry_over  # noqa: E402

DATA = REPO.parent / "shared" / "data"
if not DATA.is_dir():  # a worktree beside the main checkout
    DATA = Path("/work/shared/data")


def rates(token_dict: dict[str, int], lines: list[str]) -> tuple[float, float, int]:
    """(``[UNK]`` share of tokens, tokens per character, tokens) of ``lines``."""
    tok = Tokenizer(token_dict)
    tokens = unk = chars = 0
    for line in lines:
        pieces = tok.tokenize(line)[1:-1]
        tokens += len(pieces)
        unk += pieces.count("[UNK]")
        chars += sum(not c.isspace() for c in line)
    return unk / tokens, tokens / chars, tokens


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shard", default=str(DATA / "pretrain_zh" / "train-000.txt.gz"))
    ap.add_argument("--valid", default=str(DATA / "pretrain_zh" / "valid.txt.gz"))
    ap.add_argument("--google", default=str(DATA / "vocab" / "google_zh_vocab.txt"))
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()

    google, _ = load_vocab(args.google, simplified=True, startswith=SPECIALS)
    size = len(google)
    t0 = time.process_time()
    words = count_words(iter_lines([args.shard]))
    count_s = time.process_time() - t0
    chars = char_vocab(words, size=size, min_count=2)
    pieces = wordpiece_vocab(words, size=size, min_count=2)
    valid = [line for line in iter_lines([args.valid]) if line.strip()]
    shard = Path(args.shard).name
    data = f"shared/data/pretrain_zh/{shard} (built) + valid.txt.gz (measured)"
    results = []

    def add(claim: str, value, unit: str, notes: str = "") -> None:
        results.append({"claim": claim, "value": value, "unit": unit, "notes": notes})
        print(f"{claim}: {value} {unit}" + (f" ({notes})" if notes else ""))

    measured = {}
    for name, vocab in (("simplified Google", google),
                        ("char (built)", {t: i for i, t in enumerate(chars.tokens)}),
                        ("WordPiece (built)", {t: i for i, t in enumerate(pieces.tokens)})):
        unk, per_char, n = rates(vocab, valid)
        measured[name] = (unk, per_char)
        add(f"[UNK] share of validation tokens, {name} vocabulary of {len(vocab)} tokens",
            round(100 * unk, 4), "%", f"{n} tokens")
        add(f"tokens per character on the validation shard, {name} vocabulary",
            round(per_char, 4), "tokens/char")
    carry = carry_over(args.google, chars.tokens)
    add("char vocabulary built from one training shard: tokens that keep a Google-checkpoint "
        "row", carry.known, "tokens",
        f"{len(carry.built)} built from pieces, {len(carry.unk_tokens)} of them from [UNK]; "
        f"{len(chars)} tokens in all, {chars.units} distinct units in the shard, "
        f"{100 * chars.coverage:.3f} % of unit occurrences covered")
    n_chars = sum(len(w) * n for w, n in words.items())
    print(f"counting the shard took {count_s:.0f} CPU s ({n_chars} characters in words) on "
          f"the shared machine")
    if args.record:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                                text=True, check=True).stdout.strip()
        out = REPO / "results" / "vocab.jsonl"
        with open(out, "a", encoding="utf-8") as f:
            for r in results:
                r.update(data=data, command="python experiments/vocab_domain.py --record",
                         commit=commit, date=datetime.date.today().isoformat(),
                         machine="2-core CPU")
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"appended {len(results)} records to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
