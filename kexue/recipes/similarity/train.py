"""Small CPU trainings of the similarity recipes, all on the issue's fixed splits.

Data: the train parts of the five senteval_cn tasks (:func:`kexue.similarity.data.task_split`),
``per_task`` pairs of each (the first ones, line order), mixed and shuffled by
:func:`kexue.train.fit`. Evaluation: Spearman ×100 on the dev parts (the first ``dev_limit``
pairs of each, to keep an evaluation within minutes on the shared 2-core CPU).

Recipes (each returns ``{task: Spearman ×100}`` and extra numbers):

- :func:`train_siamese` ``objective="classifier"`` — the Sentence-BERT head on
  ``[u, v, |u−v|]`` (archives/8541; binary CE, STS-B binarised at > 2.5), cosine at inference;
  ``"cosine"`` — ``t(cos−1)² + (1−t)cos²`` (8541's failed variant; STS-B t = score/5);
  ``"cosent"`` — CoSENT (8847) on the same targets.
- :func:`train_simbert` — UniLM seq2seq on positive pairs in both directions
  (:class:`kexue.train.seq2seq.UniLMSeq2Seq`) + the in-batch contrastive loss (scale 30) on
  the [CLS] vectors (archives/7427).
- :func:`train_matcher` — cross-encoders: the CLN multi-task matcher (task id → every
  LayerNorm, 8337), one unconditioned model on all tasks, or one model per task.
- :func:`train_gru` — GRU + AM-Softmax (m = 0.35) or normalised softmax (m = 0) over
  paraphrase groups (5743).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kexue.similarity.data import TASKS, Pair, task_split
from kexue.similarity.evaluate import pair_cosines
from kexue.similarity.metrics import best_threshold, binary_f1, spearman

__all__ = ["Setup", "evaluate_cosine", "load_base", "train_gru", "train_matcher",
           "train_siamese", "train_simbert"]

BINARY = ("ATEC", "BQ", "LCQMC", "PAWSX")


@dataclass
class Setup:
    """What every recipe shares: the base model, data sizes and optimisation."""

    model_dir: Path
    family: str | None
    per_task: int = 300
    dev_limit: int = 300
    maxlen: int = 32
    batch_size: int = 32
    epochs: int = 1
    lr: float = 5e-5
    seed: int = 0
    root: Path | None = None
    log: Callable[[str], None] = field(default=print)

    def train_pairs(self, tasks: Sequence[str] = TASKS) -> list[tuple[int, Pair]]:
        out = []
        for t in tasks:
            out += [(TASKS.index(t), p) for p in task_split(t, "train", self.root)[
                :self.per_task]]
        return out

    def dev(self, task: str) -> list[Pair]:
        return task_split(task, "dev", self.root)[:self.dev_limit]

    def tokenizer(self):
        from kexue.text import Tokenizer

        return Tokenizer(self.model_dir / "vocab.txt")

    def fit(self, model: nn.Module, loss_fn, data: list, **kw) -> None:
        from kexue.train import fit

        torch.manual_seed(self.seed)
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=self.lr,
                                weight_decay=0.01)
        model.train()
        fit(model, loss_fn, data, optimizer=opt, batch_size=self.batch_size,
            epochs=self.epochs, seed=self.seed, drop_last=True, progress=False,
            log_every=10_000, **kw)
        model.eval()


def load_base(setup: Setup, application: str = "encoder", **build) -> nn.Module:
    """The base checkpoint (MLM/NSP heads dropped, pooler kept)."""
    from kexue.models import build_transformer_model

    build.setdefault("ignore", r"^cls\.")
    return build_transformer_model(checkpoint_path=setup.model_dir, model=setup.family,
                                   application=application, **build)


def _binarised(task: str, y: float) -> int:
    return int(y > 2.5) if task == "STS-B" else int(y)


def _target01(task: str, y: float) -> float:
    return y / 5 if task == "STS-B" else float(y)


def evaluate_cosine(encode: Callable[[Sequence[str]], np.ndarray], setup: Setup,
                    sohu: Sequence[Pair] | None = None) -> dict[str, float]:
    """Spearman ×100 on each dev slice; with ``sohu``, its labelA F1 at the cosine threshold
    that maximises F1 on the first 300 LCQMC train pairs."""
    out = {}
    for t in TASKS:
        dev = setup.dev(t)
        out[t] = 100 * spearman(pair_cosines(encode, dev), [p.label for p in dev])
        setup.log(f"  {t}: {out[t]:.2f}")
    if sohu is not None:
        lc = task_split("LCQMC", "train", setup.root)[:300]
        thr = best_threshold(pair_cosines(encode, lc), [p.label for p in lc])
        out["sohu_f1"] = binary_f1(pair_cosines(encode, sohu) > thr, [p.label for p in sohu])
        setup.log(f"  Sohu labelA F1: {out['sohu_f1']:.4f}")
    return out


# ---- siamese (bi-encoder) recipes ---------------------------------------------------------
class _Siamese(nn.Module):
    def __init__(self, encoder: nn.Module, head: nn.Module | None) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, a_ids, b_ids):
        z = torch.zeros_like
        return self.encoder(a_ids, z(a_ids)), self.encoder(b_ids, z(b_ids))


def train_siamese(setup: Setup, objective: str, sohu: Sequence[Pair] | None = None, *,
                  save: str | Path | None = None) -> dict[str, float]:
    """``save``: write the trained encoder there (:meth:`SentenceEncoder.save_pretrained`)."""
    from kexue.data import PadCollate
    from kexue.similarity.encoder import SentenceEncoder
    from kexue.similarity.heads import PairClassifierHead
    from kexue.similarity.losses import cosent_loss, cosine_regression_loss

    if objective not in ("classifier", "cosine", "cosent"):
        raise ValueError(f"objective must be classifier, cosine or cosent, got {objective!r}")
    tok = setup.tokenizer()
    torch.manual_seed(setup.seed)
    enc = SentenceEncoder(load_base(setup, with_pool=True), tok, "P3", maxlen=setup.maxlen)
    head = PairClassifierHead(enc.model.config.hidden_size, 2) if objective == "classifier" \
        else None
    model = _Siamese(enc, head)
    data = [{"a_ids": enc.tokenize([p.a])[0], "b_ids": enc.tokenize([p.b])[0],
             "label": _binarised(TASKS[t], p.label), "target": _target01(TASKS[t], p.label)}
            for t, p in setup.train_pairs()]

    def loss_fn(m: _Siamese, b) -> torch.Tensor:
        u, v = m(b["a_ids"], b["b_ids"])
        if objective == "classifier":
            return F.cross_entropy(m.head(u, v), b["label"])
        if objective == "cosine":
            return cosine_regression_loss(u, v, b["target"])
        return cosent_loss(u, v, b["target"])

    setup.log(f"siamese/{objective}: {len(data)} pairs, {setup.epochs} epoch(s)")
    setup.fit(model, loss_fn, data, collate_fn=PadCollate(mask_field=None))
    if save is not None:
        enc.save_pretrained(save, overwrite=True, recipe=objective, pairs=len(data))
    return evaluate_cosine(lambda s: enc.encode(s), setup, sohu)


# ---- SimBERT ------------------------------------------------------------------------------
def train_simbert(setup: Setup, scale: float = 30.0, sohu: Sequence[Pair] | None = None, *,
                  save: str | Path | None = None) -> dict[str, float]:
    """UniLM generation of the paired sentence + in-batch contrastive retrieval on [CLS].
    ``save``: write the model there, MLM head included (``kexue sim generate`` uses it)."""
    from kexue.data import PadCollate
    from kexue.similarity.encoder import SentenceEncoder
    from kexue.similarity.losses import simbert_contrastive_loss
    from kexue.train.seq2seq import IGNORE_INDEX, UniLMSeq2Seq, seq2seq_example

    tok = setup.tokenizer()
    torch.manual_seed(setup.seed)
    unilm = load_base(setup, application="unilm", ignore=r"^cls\.seq_relationship\.")
    s2s = UniLMSeq2Seq(unilm)
    positives = [p for t, p in setup.train_pairs() if _binarised(TASKS[t], p.label) == 1]
    # one example = the pair in both directions: rows 2i (a -> b) and 2i + 1 (b -> a)
    data = [(seq2seq_example(tok, p.a, p.b, 2 * setup.maxlen),
             seq2seq_example(tok, p.b, p.a, 2 * setup.maxlen)) for p in positives]
    collate = PadCollate({"labels": IGNORE_INDEX})

    def collate_pairs(batch):
        return collate([ex for pair in batch for ex in pair])

    grabbed: list = []
    unilm.register_forward_hook(lambda _m, _i, out: grabbed.append(out))

    def loss_fn(m: UniLMSeq2Seq, b) -> torch.Tensor:
        grabbed.clear()
        gen = m(b["token_ids"], b["segment_ids"], b["labels"], b["attention_mask"])
        cls = grabbed[-1].hidden[:, 0]
        return gen + simbert_contrastive_loss(cls, scale)

    setup.log(f"simbert: {len(data)} positive pairs x 2 directions")
    setup.fit(s2s, loss_fn, data, collate_fn=collate_pairs)
    enc = SentenceEncoder(unilm, tok, "P1", maxlen=setup.maxlen)
    if save is not None:
        enc.save_pretrained(save, overwrite=True, recipe="simbert", pairs=len(data))
    return evaluate_cosine(lambda s: enc.encode(s), setup, sohu)


# ---- cross-encoder matchers ---------------------------------------------------------------
def train_matcher(setup: Setup, mode: str,
                  sohu: Sequence[Pair] | None = None) -> dict[str, float]:
    """``mode``: ``"cln"`` (one conditional model, task id → every LayerNorm),
    ``"shared"`` (one unconditioned model on all tasks), ``"per-task"`` (one model a task,
    each on its own pairs: the same number of training pairs in all three modes)."""
    from kexue.data import PadCollate
    from kexue.similarity.matcher import CLNMatcher, build_cln_backbone

    if mode not in ("cln", "shared", "per-task"):
        raise ValueError(f"mode must be cln, shared or per-task, got {mode!r}")
    tok = setup.tokenizer()
    cond = 128

    def make(conditional: bool) -> CLNMatcher:
        torch.manual_seed(setup.seed)
        if conditional:
            bb = build_cln_backbone(setup.model_dir, cond_size=cond, family=setup.family)
        else:
            bb = load_base(setup)
        return CLNMatcher(bb, len(TASKS), cond_size=cond, conditional=conditional)

    def examples(pairs):
        out = []
        for t, p in pairs:
            ids, seg = tok.encode(p.a, p.b, maxlen=2 * setup.maxlen)
            out.append({"token_ids": ids, "segment_ids": seg, "task": t,
                        "label": _binarised(TASKS[t], p.label)})
        return out

    def loss_fn(m: CLNMatcher, b) -> torch.Tensor:
        logits = m(b["token_ids"], b["segment_ids"], b["attention_mask"], b["task"])
        return F.cross_entropy(logits, b["label"])

    @torch.inference_mode()
    def prob(m: CLNMatcher, pairs: Sequence[Pair], task: int) -> np.ndarray:
        out = []
        for i in range(0, len(pairs), 64):
            b = collate(examples([(task, p) for p in pairs[i:i + 64]]))
            out.append(m.match_probability(b["token_ids"], b["segment_ids"],
                                           b["attention_mask"], b["task"]).numpy())
        return np.concatenate(out)

    collate = PadCollate()
    models: dict[str, CLNMatcher] = {}
    if mode == "per-task":
        for t in TASKS:
            m = make(False)
            data = examples(setup.train_pairs([t]))
            setup.log(f"matcher/per-task {t}: {len(data)} pairs")
            setup.fit(m, loss_fn, data, collate_fn=collate)
            models[t] = m
    else:
        m = make(mode == "cln")
        data = examples(setup.train_pairs())
        setup.log(f"matcher/{mode}: {len(data)} pairs")
        setup.fit(m, loss_fn, data, collate_fn=collate)
        models = {t: m for t in TASKS}
    out = {}
    for t in TASKS:
        dev = setup.dev(t)
        out[t] = 100 * spearman(prob(models[t], dev, TASKS.index(t)), [p.label for p in dev])
        setup.log(f"  {t}: {out[t]:.2f}")
    if sohu is not None:  # Sohu pairs as LCQMC-task pairs (general-domain matching)
        lc = TASKS.index("LCQMC")
        pred = prob(models["LCQMC"], list(sohu), lc) > 0.5
        out["sohu_f1"] = binary_f1(pred, [p.label for p in sohu])
        setup.log(f"  Sohu labelA F1 (task LCQMC): {out['sohu_f1']:.4f}")
    return out


# ---- GRU + AM-Softmax ---------------------------------------------------------------------
def train_gru(setup: Setup, margin: float, scale: float = 30.0, epochs: int = 10,
              min_count: int = 2) -> dict[str, float]:
    """Groups = connected components of the positive train pairs of the binary tasks; then
    Spearman on the dev slices and top-k retrieval among the dev positives' groups (each
    sentence queries all the others; a hit = a same-group sentence in the top k)."""
    from kexue.data import sequence_padding
    from kexue.objectives import CosineClassifier, am_softmax_loss
    from kexue.similarity.gru import CharVocab, GRUEncoder, paraphrase_groups

    pos = [(p.a, p.b) for t, p in setup.train_pairs(BINARY) if p.label == 1]
    groups = paraphrase_groups(pos)
    vocab = CharVocab([s for g in groups for s in g], min_count=min_count)
    data = [(vocab.encode(s, setup.maxlen), gid) for gid, g in enumerate(groups) for s in g]
    torch.manual_seed(setup.seed)
    enc = GRUEncoder(len(vocab))
    model = nn.ModuleDict({"encoder": enc, "classifier": CosineClassifier(128, len(groups))})

    def collate(batch):
        return (torch.as_tensor(sequence_padding([x for x, _ in batch])),
                torch.tensor([y for _, y in batch]))

    def loss_fn(m, b):
        ids, y = b
        return am_softmax_loss(m["classifier"](m["encoder"](ids)), y, scale, margin)

    setup.log(f"gru margin={margin}: {len(groups)} groups, {len(data)} sentences, "
              f"vocab {len(vocab)}")
    from kexue.train import fit

    random.seed(setup.seed)
    fit(model, loss_fn, data, optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
        collate_fn=collate, batch_size=100, epochs=epochs, seed=setup.seed, progress=False,
        log_every=10_000)
    model.eval()

    def encode(texts):
        return enc.encode(vocab, list(texts), maxlen=setup.maxlen)

    out = evaluate_cosine(encode, setup)
    dev_pos = [(p.a, p.b) for t in BINARY for p in setup.dev(t) if p.label == 1]
    held = paraphrase_groups(dev_pos)
    sents = [s for g in held for s in g]
    gid = np.repeat(np.arange(len(held)), [len(g) for g in held])
    v = encode(sents)
    sim = v @ v.T
    np.fill_diagonal(sim, -np.inf)
    top = np.argsort(-sim, axis=1)[:, :10]
    hit = gid[top] == gid[:, None]
    for k in (1, 5, 10):
        out[f"top{k}"] = float(hit[:, :k].any(1).mean())
    setup.log(f"  retrieval among {len(sents)} held-out sentences ({len(held)} groups): "
              f"top1 {out['top1']:.4f} top5 {out['top5']:.4f} top10 {out['top10']:.4f}")
    return out


