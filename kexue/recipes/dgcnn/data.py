"""WebQA reading-comprehension data for the DGCNN recipe: reading, the fixed split, encoding.

The file format is WebQA's annotated JSON (``../shared/data/webqa/README.md``): one JSON
object ``{qid: {"question": str, "evidences": {eid: {"answer": [str, ...],
"evidence": str}}}}``. A question may have several evidence passages (the article's setting);
every question of the shared file has one. ``"no_answer"`` marks an evidence without the
answer.

Fixed split (``shared/CONVENTIONS.md`` §4): the first 1,624 questions by id train, the rest of
``webqa_dev.json`` (400) is held out for the report; model selection uses a fixed, seeded 10 %
of the train part.
"""

from __future__ import annotations

import json
import random
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kexue.io.lines import open_input

__all__ = ["Question", "Vocab", "TRAIN_QUESTIONS", "load_webqa", "split_questions",
           "select_split", "answer_positions", "encode_passage", "PAD", "UNK"]

TRAIN_QUESTIONS = 1624
NO_ANSWER = "no_answer"
PAD, UNK = 0, 1


@dataclass(frozen=True)
class Question:
    """One question with its evidence passages and the answers annotated in each."""

    qid: str
    question: str
    passages: tuple[str, ...]
    answers: tuple[tuple[str, ...], ...]  # per passage; empty when the passage has none

    @property
    def gold(self) -> tuple[str, ...]:
        """Every distinct answer string of the question (over its passages)."""
        seen: dict[str, None] = {}
        for a in self.answers:
            for s in a:
                seen.setdefault(s, None)
        return tuple(seen)


def _fail(path: str, msg: str) -> ValueError:
    return ValueError(f"{path}: {msg}")


def load_webqa(path: str | Path) -> list[Question]:
    """Read a WebQA JSON file (plain or compressed by content); questions sorted by id.

    Raises ``ValueError`` naming the file and the first bad entry when the file is not WebQA
    JSON, and when it holds no question.
    """
    name = str(path)
    with open_input(path) as f:
        raw = f.read()
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise _fail(name, f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise _fail(name, f"not JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    if not isinstance(data, dict):
        raise _fail(name, f"expected a JSON object of questions by id, got "
                          f"{type(data).__name__}")
    out = []
    for qid in sorted(data):
        item = data[qid]
        if not isinstance(item, dict) or not isinstance(item.get("question"), str) or \
                not isinstance(item.get("evidences"), dict):
            raise _fail(name, f"question {qid!r} needs a 'question' string and an "
                              f"'evidences' object")
        passages, answers = [], []
        for eid in sorted(item["evidences"]):
            ev = item["evidences"][eid]
            if not isinstance(ev, dict) or not isinstance(ev.get("evidence"), str) or \
                    not isinstance(ev.get("answer"), list) or \
                    not all(isinstance(a, str) for a in ev["answer"]):
                raise _fail(name, f"evidence {eid!r} of question {qid!r} needs an 'evidence' "
                                  f"string and an 'answer' list of strings")
            passages.append(ev["evidence"])
            answers.append(tuple(a for a in ev["answer"] if a and a != NO_ANSWER))
        if not passages:
            raise _fail(name, f"question {qid!r} has no evidence passage")
        out.append(Question(qid, item["question"], tuple(passages), tuple(answers)))
    if not out:
        raise _fail(name, "holds no question")
    return out


def split_questions(questions: Sequence[Question], split: str) -> list[Question]:
    """``"train"``: the first :data:`TRAIN_QUESTIONS` by id; ``"heldout"``: the rest; ``"all"``."""
    qs = sorted(questions, key=lambda q: q.qid)
    if split == "all":
        return qs
    if split == "train":
        return qs[:TRAIN_QUESTIONS]
    if split == "heldout":
        return qs[TRAIN_QUESTIONS:]
    raise ValueError(f"split must be 'train', 'heldout' or 'all', got {split!r}")


def select_split(train: Sequence[Question], fraction: float = 0.1,
                 seed: int = 0) -> tuple[list[Question], list[Question]]:
    """A fixed, seeded ``fraction`` of ``train`` for model selection (ids come in runs of
    different styles, so the slice is random, not the last ids): ``(fit_part, select_part)``."""
    idx = list(range(len(train)))
    random.Random(seed).shuffle(idx)
    n = max(1, round(fraction * len(train)))
    chosen = set(idx[:n])
    return ([q for i, q in enumerate(train) if i not in chosen],
            [q for i, q in enumerate(train) if i in chosen])


class Vocab:
    """Characters → ids; 0 is padding, 1 unknown. Built from training text (min count)."""

    def __init__(self, chars: Sequence[str]) -> None:
        self.chars = ["[PAD]", "[UNK]", *chars]
        self.index = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def build(cls, texts: Sequence[str], min_count: int = 1) -> Vocab:
        counts = Counter(c for t in texts for c in normalize_chars(t))
        return cls([c for c, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))
                    if n >= min_count])

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        return [self.index.get(c, UNK) for c in normalize_chars(text)]

    def to_text(self) -> str:
        """A JSON list (passages may hold newlines and other whitespace characters)."""
        return json.dumps(self.chars, ensure_ascii=False) + "\n"

    @classmethod
    def from_text(cls, text: str) -> Vocab:
        chars = json.loads(text)
        if not isinstance(chars, list) or chars[:2] != ["[PAD]", "[UNK]"] or not all(
                isinstance(c, str) for c in chars):
            raise ValueError("the vocabulary must be a JSON list starting with [PAD], [UNK]")
        return cls(chars[2:])


def normalize_chars(text: str) -> str:
    """Full-width to half-width (NFKC) and lower case, one character in, one out, so that
    character positions in the normalised text are positions in the original."""
    out = []
    for c in text:
        n = unicodedata.normalize("NFKC", c).lower()
        out.append(n if len(n) == 1 else c)
    return "".join(out)


def answer_positions(passage: str, answers: Sequence[str]) -> list[tuple[int, int]]:
    """Every exact occurrence ``(start, end)`` (end inclusive) of every answer in the passage
    (the article labels all occurrences), overlapping ones included."""
    spans = set()
    for a in answers:
        if not a:
            continue
        i = passage.find(a)
        while i >= 0:
            spans.add((i, i + len(a) - 1))
            i = passage.find(a, i + 1)
    return sorted(spans)


def encode_passage(vocab: Vocab, question: str, passage: str, answers: Sequence[str] = (),
                   max_len: int = 256) -> dict:
    """One training/inference example: question ids, passage ids (cut to ``max_len``), the
    question-match feature of each passage character (the 2018 model's feature 1 at character
    level: 1 when the character occurs in the question), and 0/1 start/end tags."""
    q = normalize_chars(question)
    p = normalize_chars(passage)[:max_len]
    qset = set(q)
    feat = [2 if c in qset else 1 for c in p]  # 0 stays padding
    start = [0.0] * len(p)
    end = [0.0] * len(p)
    for s, e in answer_positions(p, [normalize_chars(a) for a in answers]):
        if e < len(p):
            start[s] = 1.0
            end[e] = 1.0
    return {"q_ids": vocab.encode(q[:max_len]), "p_ids": vocab.encode(p), "p_feat": feat,
            "start": start, "end": end}


def dump_json(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
