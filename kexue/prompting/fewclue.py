"""The nine FewCLUE tasks (Xu et al., arXiv 2107.07498) as prompting problems: readers, PET
patterns and verbalizers, NSP-BERT prompts, and the evaluation of one method on one file.

Every reader takes any file of the FewCLUE format (JSON lines; ``train_few_all``,
``dev_few_all``, the held-back ``test_public``), so a review can run the held-back split.
The prompts follow the articles where they give one (EPRSTMT: the PET article's P1 and the
NSP-BERT code's ``这次买的东西很好/很差``; TNEWS: ``下面报导一则__新闻`` and
``这是一则[label]新闻``; CSLDCP ``…类论文``) and are kexue's own choice elsewhere (stated
in each :class:`Task`); none was tuned on the report split.

Pair tasks (OCNLI, BUSTM, CSL, CLUEWSC) use NSP-BERT's samples-contrast: labels ordered by
increasing coherence (``Task.labels`` order), thresholds fitted on ``train_few_all``.
ChID scores its seven candidate idioms per example (PET: the four mask slots at
``#idiom#``; NSP: the text up to and with the idiom, then the rest).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from kexue.prompting.mlm import MLMClassifier
from kexue.prompting.nsp import NSPClassifier, apply_thresholds, fit_thresholds, samples_contrast
from kexue.prompting.pattern import Pattern
from kexue.prompting.verbalizer import Verbalizer

__all__ = ["TASK_NAMES", "Example", "Task", "task", "read", "subsample", "evaluate_pet",
           "evaluate_nsp"]

TASK_NAMES = ("eprstmt", "csldcp", "tnews", "iflytek", "ocnli", "bustm", "chid", "csl", "cluewsc")


@dataclass(frozen=True)
class Example:
    text: str
    pair: str | None
    label: object
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True)
class Task:
    """One FewCLUE task: ``labels`` (gold values; for pair tasks in increasing NSP
    coherence), the PET ``pattern``/``words`` and the NSP ``prompts`` (single-sentence tasks)
    or ``pair`` mode (samples-contrast)."""

    name: str
    labels: tuple
    pattern: str
    words: dict
    prompts: dict = field(default_factory=dict)
    position: str = "prefix"
    mixed_lengths: bool = False
    pair: bool = False
    parse: Callable[[dict], Example] | None = None

    @property
    def chance(self) -> float:
        return 1.0 / (7 if self.name == "chid" else len(self.labels))


def _jsonl(path: str | os.PathLike) -> list[dict]:
    """JSON lines split on ``\\n`` only (iflytek texts hold U+2028)."""
    data = Path(path).read_bytes().split(b"\n")
    out = []
    for n, line in enumerate(data, 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not a JSON line ({e.msg})") from None
    if not out:
        raise ValueError(f"{path} holds no records")
    return out


def _single(key: str, label: str) -> Callable[[dict], Example]:
    return lambda d: Example(d[key], None, d[label])


def _chid(d: dict) -> Example:
    before, _, after = d["content"].partition("#idiom#")
    return Example(before, after, d.get("answer"), tuple(d["candidates"]))


def task(name: str, data_dir: str | os.PathLike) -> Task:
    """The :class:`Task` ``name``; label names are read from the task's folder in
    ``data_dir`` (``label_index2en2zh.json``, ``labels_all.txt``, ``train_few_all.json``)."""
    d = Path(data_dir) / name
    if name == "eprstmt":
        return Task(name, ("Negative", "Positive"), "{mask}满意。{text}",
                    {"Negative": "不", "Positive": "很"},
                    {"Negative": "这次买的东西很差", "Positive": "这次买的东西很好"},
                    parse=_single("sentence", "label"))
    if name == "tnews":
        rows = _jsonl(d / "label_index2en2zh.json")
        names = {int(r["label"]): r["label_zh"] for r in rows}
        return Task(name, tuple(names), "下面报导一则{mask}新闻。{text}", names,
                    {k: f"这是一则{v}新闻" for k, v in names.items()},
                    parse=_single("sentence", "label"))
    if name == "iflytek":
        names = dict(sorted({r["label"]: r["label_des"]
                             for r in _jsonl(d / "train_few_all.json")}.items()))
        return Task(name, tuple(names), "这是一款{mask}类应用。{text}", names,
                    {k: f"这是一款{v}类应用" for k, v in names.items()}, mixed_lengths=True,
                    parse=_single("sentence", "label"))
    if name == "csldcp":
        names = [x.strip() for x in (d / "labels_all.txt").read_text("utf-8").splitlines()
                 if x.strip()]
        return Task(name, tuple(names), "这是一篇{mask}类论文。{text}", {n: n for n in names},
                    {n: f"这是一篇{n}类论文" for n in names}, mixed_lengths=True,
                    parse=_single("content", "label"))
    if name == "ocnli":
        return Task(name, ("contradiction", "neutral", "entailment"), "{text}？{mask}，{pair}",
                    {"contradiction": "不是", "neutral": "也许", "entailment": "是的"},
                    pair=True, parse=lambda r: Example(r["sentence1"], r["sentence2"],
                                                       r["label"]))
    if name == "bustm":
        return Task(name, ("0", "1"), "{text}？{mask}，{pair}", {"0": "不是", "1": "是的"},
                    pair=True, parse=lambda r: Example(r["sentence1"], r["sentence2"],
                                                       r["label"]))
    if name == "csl":
        return Task(name, ("0", "1"), "关键词{mask}对：{pair}。{text}", {"0": "不", "1": "都"},
                    pair=True, parse=lambda r: Example(r["abst"], "，".join(r["keyword"]),
                                                       r["label"]))
    if name == "cluewsc":
        def parse(r):
            t = r["target"]
            return Example(r["text"], f"{t['span2_text']}指的是{t['span1_text']}", r["label"])
        return Task(name, ("false", "true"), "{pair}？{mask}。{text}",
                    {"false": "错", "true": "对"}, pair=True, parse=parse)
    if name == "chid":
        return Task(name, tuple(range(7)), "{text}{mask}{pair}", {}, parse=_chid)
    raise ValueError(f"unknown FewCLUE task {name!r}; known: {', '.join(TASK_NAMES)}")


def read(t: Task, path: str | os.PathLike) -> list[Example]:
    """The examples of a FewCLUE-format file of task ``t``."""
    out = []
    for n, r in enumerate(_jsonl(path), 1):
        try:
            out.append(t.parse(r))
        except KeyError as e:
            raise ValueError(f"{path}: record {n} lacks the field {e} of {t.name}") from None
    return out


def subsample(examples: list[Example], limit: int | None, seed: int = 0) -> list[Example]:
    """A fixed random subset of ``limit`` examples (all when ``limit`` is None or larger);
    the file order of some tasks is sorted by label, so a prefix would be biased."""
    if limit is None or limit >= len(examples):
        return examples
    g = torch.Generator().manual_seed(seed)
    idx = sorted(torch.randperm(len(examples), generator=g)[:limit].tolist())
    return [examples[i] for i in idx]


def accuracy(pred: list, gold: list) -> float:
    return sum(p == g for p, g in zip(pred, gold, strict=True)) / len(gold)


def evaluate_pet(t: Task, model, tokenizer, examples: list[Example], *, pattern: str | None = None,
                 maxlen: int = 128, batch_size: int = 16) -> float:
    """Zero-shot (or PET-trained) accuracy of the MLM cloze on ``examples``."""
    pat = Pattern(pattern or t.pattern)
    if t.name == "chid":
        return _chid_pet(model, tokenizer, pat, examples, maxlen, batch_size)
    verb = Verbalizer(t.words, reduce="mean" if t.mixed_lengths else "product",
                      mixed_lengths=t.mixed_lengths)
    clf = MLMClassifier(model, tokenizer, pat, verb, maxlen=maxlen, truncate=True,
                        batch_size=batch_size)
    pairs = [e.pair for e in examples] if t.pair else None
    pred = clf.predict([e.text for e in examples], pairs)
    return accuracy(pred, [e.label for e in examples])


@torch.no_grad()
def _chid_pet(model, tokenizer, pat, examples, maxlen, batch_size) -> float:
    correct = 0
    unk = tokenizer.token_to_id(tokenizer.unk_token)
    for e in examples:
        # per-example verbalizer: the seven idioms (an idiom with a character the vocabulary
        # lacks keeps its other characters: the [UNK] position is left out of its mean)
        words = {i: c for i, c in enumerate(e.candidates)}
        clf = MLMClassifier(model, tokenizer, pat, Verbalizer({0: "一"}), maxlen=maxlen,
                            truncate=True, batch_size=batch_size)
        enc = clf.encode([e.text], [e.pair], n_masks=4)[0]
        logp = clf._mask_logits([enc.token_ids], [enc.segment_ids],
                                [enc.mask_positions])[0].float().log_softmax(-1)
        scores = []
        for i in range(len(words)):
            ids = tokenizer.encode(words[i])[0][1:-1][:4]
            terms = [logp[k, tok] for k, tok in enumerate(ids) if tok != unk]
            scores.append(float(torch.stack(terms).mean()) if terms else float("-inf"))
        correct += int(max(range(len(scores)), key=scores.__getitem__) == e.label)
    return correct / len(examples)


def evaluate_nsp(t: Task, model, tokenizer, examples: list[Example], *,
                 tune: list[Example] | None = None, maxlen: int = 128,
                 batch_size: int = 32, position: str | None = None) -> dict[str, float]:
    """NSP-BERT accuracy: candidates-contrast for single-sentence tasks and ChID
    (``{"accuracy": …}``); samples-contrast for pair tasks: equal groups
    (``"accuracy_equal"``) and thresholds fitted on ``tune`` (``"accuracy"``)."""
    clf = NSPClassifier(model, tokenizer, maxlen=maxlen, truncate=True, batch_size=batch_size)
    gold = [e.label for e in examples]
    if t.name == "chid":
        correct = 0
        for e in examples:
            firsts = [e.text + c for c in e.candidates]
            seconds = [e.pair or "。"] * len(e.candidates)
            correct += int(int(clf.pairs(firsts, seconds).argmax()) == e.label)
        return {"accuracy": correct / len(examples)}
    if not t.pair:
        prompts = [t.prompts[k] for k in t.labels]
        idx = clf.predict([e.text for e in examples], prompts, position or t.position)
        return {"accuracy": accuracy([t.labels[i] for i in idx], gold)}
    k = len(t.labels)
    scores = clf.pairs([e.text for e in examples], [e.pair for e in examples])
    out = {"accuracy_equal": accuracy([t.labels[i] for i in samples_contrast(scores, k)], gold)}
    if tune:
        ts = clf.pairs([e.text for e in tune], [e.pair for e in tune])
        th = fit_thresholds(ts, [t.labels.index(e.label) for e in tune], k)
        out["accuracy"] = accuracy([t.labels[i] for i in apply_thresholds(scores, th)], gold)
        out["thresholds"] = th
    return out
