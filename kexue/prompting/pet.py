"""PET training: fine-tune the MLM head on the cloze itself (https://kexue.fm/archives/7764;
Schick & Schütze, arXiv 2001.07676).

Each labelled input is encoded with the pattern and its mask slot's target is the label's
(first) verbalizer word; on top, the article's extra BERT-style random masking (rate 15 %,
80 % ``[MASK]`` / 10 % random token / 10 % kept) is applied to the other text tokens, whose
originals are targets too. Unlabelled texts (semi-supervised PET) get no pattern, only the
random masking. The loss is the MLM cross-entropy averaged over all target positions:

    L = − (1/|T|) Σ_{(i, t) ∈ T} log p_θ(x_t^target | x̃_i)

Trained with :func:`kexue.train.fit` (Adam; the article uses lr 1e-5 with a base-size BERT,
a small model wants more). After training, score with :class:`MLMClassifier` and the same
pattern and verbalizer.

Pitfalls: the pattern's own mask slot is never re-masked or replaced by the random masking;
the prompt's literal tokens may be masked (as in the reference); dropout is on while training.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from kexue.data.batching import sequence_padding
from kexue.prompting._model import resolve_maxlen
from kexue.prompting.pattern import Pattern
from kexue.prompting.verbalizer import Verbalizer

__all__ = ["pet_examples", "random_masking", "pet_finetune"]

IGNORE = -100


def random_masking(ids: list[int], targets: list[int], *, rate: float, mask_id: int,
                   vocab_size: int, special: set[int], generator: torch.Generator
                   ) -> tuple[list[int], list[int]]:
    """BERT masking of the positions of ``ids`` that are not special and have no target yet:
    each chosen with probability ``rate``; of those 80 % become ``mask_id``, 10 % a random
    token, 10 % stay; chosen positions get their original token as target."""
    ids, targets = list(ids), list(targets)
    u = torch.rand(len(ids), generator=generator).tolist()
    v = torch.rand(len(ids), generator=generator).tolist()
    r = torch.randint(vocab_size, (len(ids),), generator=generator).tolist()
    for i, tok in enumerate(ids):
        if tok in special or targets[i] != IGNORE or u[i] >= rate:
            continue
        targets[i] = tok
        if v[i] < 0.8:
            ids[i] = mask_id
        elif v[i] < 0.9:
            ids[i] = r[i]
    return ids, targets


def pet_examples(tokenizer, pattern: Pattern, verbalizer: Verbalizer, texts: Sequence[str],
                 labels: Sequence, pairs: Sequence[str] | None = None, *, maxlen: int,
                 truncate: bool = True) -> list[tuple[list[int], list[int]]]:
    """``(token_ids, targets)`` of each labelled input: the cloze with the label's first word
    as the target of its mask slot (``-100`` elsewhere)."""
    word_ids = verbalizer.token_ids(tokenizer)
    index = {lab: j for j, lab in enumerate(verbalizer.labels)}
    if len(word_ids) and len({len(ws[0]) for ws in word_ids}) != 1:
        raise ValueError("PET training needs label words of one token length")
    out = []
    for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
        if label not in index:
            raise ValueError(f"label {label!r} is not in the verbalizer {verbalizer.labels}")
        target_word = word_ids[index[label]][0]
        enc = pattern.encode(tokenizer, text, None if pairs is None else pairs[i],
                             n_masks=len(target_word), maxlen=maxlen, truncate=truncate)
        targets = [IGNORE] * len(enc.token_ids)
        for pos, tok in zip(enc.mask_positions, target_word):
            targets[pos] = tok
        out.append((enc.token_ids, targets))
    return out


def pet_finetune(model: torch.nn.Module, tokenizer, pattern: Pattern, verbalizer: Verbalizer,
                 texts: Sequence[str], labels: Sequence, pairs: Sequence[str] | None = None,
                 *, unlabeled: Sequence[str] = (), epochs: int = 10, lr: float = 1e-4,
                 batch_size: int = 16, mask_rate: float = 0.15, maxlen: int | None = None,
                 seed: int = 0, **fit_options):
    """Fine-tune ``model`` (an MLM, in place) with the PET loss; returns fit's ``Trainer``.

    Args:
        texts, labels, pairs: the labelled examples (``pairs`` for pair patterns).
        unlabeled: texts trained with the random-masking MLM loss only (semi-supervised PET).
        epochs, lr, batch_size: Adam optimisation (``torch.optim.Adam``).
        mask_rate: the extra random masking rate (0 switches it off).
        maxlen: tokens per row (default: the model's positions); longer inputs are cut.
        seed: seeds the data order and the random masking.
        **fit_options: passed to :func:`kexue.train.fit` (``callbacks``, ``checkpoint_dir``...).
    """
    from kexue.train import fit

    if not 0.0 <= mask_rate < 1.0:
        raise ValueError(f"mask_rate must be in [0, 1), got {mask_rate}")
    maxlen = resolve_maxlen(model, maxlen)
    data = pet_examples(tokenizer, pattern, verbalizer, texts, labels, pairs, maxlen=maxlen)
    for t in unlabeled:
        ids, _ = tokenizer.encode(t, maxlen=maxlen)
        data.append((ids, [IGNORE] * len(ids)))
    td = tokenizer.token_dict
    special = {td[t] for t in (tokenizer.cls_token, tokenizer.sep_token, tokenizer.pad_token,
                               tokenizer.mask_token) if t in td}
    mask_id = td[tokenizer.mask_token]
    gen = torch.Generator().manual_seed(seed)
    pad_id = td.get(tokenizer.pad_token, 0)

    def collate(rows):
        ids, tgt = [], []
        for r_ids, r_tgt in rows:
            if mask_rate > 0:
                r_ids, r_tgt = random_masking(r_ids, r_tgt, rate=mask_rate, mask_id=mask_id,
                                              vocab_size=tokenizer.vocab_size,
                                              special=special, generator=gen)
            ids.append(r_ids)
            tgt.append(r_tgt)
        return {
            "token_ids": torch.from_numpy(sequence_padding(ids, value=pad_id, dtype="int64")),
            "targets": torch.from_numpy(sequence_padding(tgt, value=IGNORE, dtype="int64")),
            "attention_mask": torch.from_numpy(sequence_padding(
                [[1] * len(r) for r in ids], value=0, dtype="int64")),
        }

    def loss_fn(m, batch):
        ids = batch["token_ids"]
        out = m(ids, torch.zeros_like(ids), attention_mask=batch["attention_mask"])
        logits = out.logits
        return torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(), batch["targets"].reshape(-1),
            ignore_index=IGNORE)

    torch.manual_seed(seed)  # dropout
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    options = dict(progress=False, log_every=10_000)
    options.update(fit_options)
    trainer = fit(model, loss_fn, data, optimizer=opt, collate_fn=collate,
                  batch_size=batch_size, epochs=epochs, seed=seed, **options)
    model.eval()
    return trainer
