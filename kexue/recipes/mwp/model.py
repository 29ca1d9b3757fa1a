"""The UniLM solver (kexue.fm/archives/7809): a BERT-family model with an MLM head reads
``[CLS] question [SEP]`` and writes ``equation [SEP]`` under the UniLM mask.

Training uses the shared seq2seq piece (:mod:`kexue.train.seq2seq`: examples, labels, loss);
decoding uses :class:`kexue.decoding.AutoRegressiveDecoder`, many problems at once (beam
search with bert4keras's settings: no length penalty, stop when the best beam is final), with
the optional :class:`~kexue.recipes.mwp.constraints.WellFormedHook`.

A solver directory holds ``model/`` (an HF-format checkpoint with its ``vocab.txt``) and
``mwp.json`` (the recipe settings: family, ``maxlen``, the common constants the constrained
decoder allows); it is written atomically (:func:`save_solver`).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from kexue.recipes.mwp.constraints import WellFormedHook, question_numbers
from kexue.recipes.mwp.slots import SLOT, fill_slots, mask_equation, mask_question, slot_tokens

__all__ = ["SolverConfig", "Solver", "common_constants", "load_solver", "save_solver",
           "build_model", "simplified_vocab", "slot_init_ids", "DEFAULT_CHECKPOINT"]

DEFAULT_CHECKPOINT = "kexue-mini-zh"


@dataclass
class SolverConfig:
    """Recipe settings saved beside the model (``mwp.json``)."""

    family: str = "roformer"
    maxlen: int = 192
    max_new_tokens: int = 64
    constants: list[str] = field(default_factory=lambda: ["1", "2", "100", "3.14"])
    #: 0: the article's literal numbers; n > 0: the question's first n distinct numbers are
    #: the slots ``[N0]`` ... (:mod:`kexue.recipes.mwp.slots`), in the vocab's last n rows
    number_slots: int = 0


def common_constants(problems: Sequence, top: int = 30) -> list[str]:
    """The ``top`` numbers that training equations use most often without the question
    writing them (``100`` for percentages, ``1``, ``2``, ``3.14``...), most frequent first."""
    counts: Counter[str] = Counter()
    for p in problems:
        seen = set(question_numbers(p.question))
        for n in question_numbers(p.equation):
            if n not in seen:
                counts[n] += 1
    return [n for n, _ in counts.most_common(top)]


_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def simplified_vocab(tokenizer, texts: Sequence[str]) -> list[str]:
    """The tokens the solver keeps (bert4keras's ``keep_tokens`` idea, taken further): the
    special tokens, every token of ``texts`` (the training questions and equations) and every
    all-digit token (so any number of a new question stays representable), in the original
    vocabulary order. A smaller output layer is most of the training cost on a CPU."""
    seen: set[str] = set(_SPECIALS)
    for text in texts:
        seen.update(tokenizer.tokenize(text))
    vocab = tokenizer.token_dict
    for token in vocab:
        stem = token[2:] if token.startswith("##") else token
        if stem.isdigit() and stem.isascii():
            seen.add(token)
    kept = [t for t in vocab if t in seen]
    front = [t for t in _SPECIALS if t in vocab]
    return front + [t for t in kept if t not in _SPECIALS]


def slot_init_ids(tokenizer, n: int) -> list[int]:
    """Rows of ``tokenizer``'s vocabulary that start the ``n`` slot embeddings: slot ``k``
    starts as the token ``str(k)`` (distinct, number-like rows; ``[UNK]`` when absent)."""
    return [tokenizer.token_to_id(str(k)) for k in range(n)]


def build_model(checkpoint: str | os.PathLike | None = None, *, family: str | None = None,
                keep_tokens: Sequence[int] | None = None, random_init: bool = False,
                ) -> torch.nn.Module:
    """A UniLM model from ``checkpoint`` (default the shipped ``kexue-mini-zh``), keeping the
    vocabulary rows ``keep_tokens``; ``random_init`` keeps only the checkpoint's shape (the
    baseline that shows what pretraining buys)."""
    import kexue.assets
    from kexue.models import build_transformer_model

    if checkpoint is None:
        checkpoint, family = kexue.assets.path(DEFAULT_CHECKPOINT), kexue.assets.family(
            DEFAULT_CHECKPOINT)
    kw = {} if keep_tokens is None else {"keep_tokens": list(keep_tokens)}
    model = build_transformer_model(checkpoint_path=checkpoint, model=family,
                                    application="unilm", **kw)
    if random_init:
        from kexue.models.build import init_weights

        torch.manual_seed(0)
        init_weights(model)
        with torch.no_grad():
            for name, param in model.named_parameters():
                if "norm" in name.lower() or "ln" in name.split("."):
                    param.fill_(1.0 if name.endswith("weight") else 0.0)
                elif name.endswith("bias"):
                    param.zero_()
    return model


class Solver:
    """A trained (or training) UniLM model with its tokenizer: questions in, expressions out.

    Args:
        model: a BERT-family model built with ``application="unilm"``.
        tokenizer: its :class:`kexue.text.Tokenizer`.
        config: the recipe settings.
    """

    def __init__(self, model: torch.nn.Module, tokenizer, config: SolverConfig) -> None:
        from kexue.decoding import AutoRegressiveDecoder

        self.model, self.tokenizer, self.config = model, tokenizer, config
        missing = [t for t in slot_tokens(config.number_slots) if t not in tokenizer.extra_specials]
        if missing:
            raise ValueError(f"the solver uses {config.number_slots} number slots, but its "
                             f"tokenizer does not keep {missing[0]} whole (pass "
                             f"extra_specials=slot_tokens({config.number_slots}))")
        self.end_id = tokenizer.token_to_id(tokenizer.sep_token)
        self.decoder = AutoRegressiveDecoder(model, end_id=self.end_id, pad_id=0)
        self.hook = WellFormedHook(tokenizer.token_to_id, self.end_id)

    def example(self, question: str, equation: str) -> dict[str, list[int]]:
        """One training example (:func:`kexue.train.seq2seq.seq2seq_example`)."""
        from kexue.train.seq2seq import seq2seq_example

        question, numbers = self.mask(question)
        if numbers:
            equation = mask_equation(equation, numbers)
        return seq2seq_example(self.tokenizer, question, equation, maxlen=self.config.maxlen)

    def mask(self, question: str) -> tuple[str, list[str]]:
        """The question as the model reads it (numbers in slots when the solver uses them)
        and the slots' numbers."""
        if not self.config.number_slots:
            return question, []
        return mask_question(question, self.config.number_slots)

    def prompt(self, question: str) -> list[int]:
        """``[CLS] question [SEP]`` ids, the question cut to leave room for the answer."""
        return self._encode_prompt(self.mask(question)[0])

    def _encode_prompt(self, masked: str) -> list[int]:
        limit = self.config.maxlen - self.config.max_new_tokens
        return self.tokenizer.encode(masked, maxlen=max(limit, 3))[0]

    def _number_ids(self, masked: str, slotted: Sequence[str]) -> list[list[int]]:
        """Token ids of every number the constrained decoder allows: the question's (its
        slots, when the solver uses them) and the common constants."""
        numbers = set(question_numbers(SLOT.sub(" ", masked))) | set(self.config.constants)
        out = [[self.tokenizer.token_to_id(t)] for t in slot_tokens(len(slotted))]
        for n in sorted(numbers):
            ids = self.tokenizer.encode(n)[0][1:-1]
            if ids:
                out.append(ids)
        return out

    def text(self, ids: Sequence[int]) -> str:
        """The expression text of generated ids (WordPiece ``##`` joined, no spaces)."""
        tokens = [self.tokenizer.id_to_token(i) for i in ids if i != self.end_id and i != 0]
        return "".join(t[2:] if t.startswith("##") else t for t in tokens)

    @torch.inference_mode()
    def solve(self, questions: Sequence[str], *, beams: int = 1, constrained: bool = False,
              batch_size: int = 64) -> list[str]:
        """The best expression for every question, decoded ``batch_size`` problems at a time
        (beam search of width ``beams``; greedy for 1), optionally constrained."""
        if not isinstance(beams, int) or beams < 1:
            raise ValueError(f"beams must be an int >= 1, got {beams!r}")
        was_training = self.model.training
        self.model.eval()
        masked = [self.mask(q) for q in questions]
        prompts = [self._encode_prompt(m) for m, _ in masked]
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        out: list[str] = [""] * len(prompts)
        try:
            for start in range(0, len(order), batch_size):
                chunk = order[start: start + batch_size]
                batch = [prompts[i] for i in chunk]
                kw: dict = {"max_new_tokens": self.config.max_new_tokens}
                if constrained:
                    kw["hooks"] = [self.hook]
                    kw["states"] = [self.hook.new_state(self._number_ids(*masked[i]))
                                    for i in chunk]
                if beams == 1:
                    gen = self.decoder.greedy(batch, **kw)
                else:
                    gen = self.decoder.beam_search(batch, num_beams=beams, length_penalty=0.0,
                                                   early_stopping="best", **kw)
                for i, cands in zip(chunk, gen.tolist(), strict=True):
                    out[i] = fill_slots(self.text(cands[0]), masked[i][1])
        finally:
            self.model.train(was_training)
        return out


def save_solver(solver: Solver, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Write ``solver`` as a directory (``model/`` + ``mwp.json``), atomically."""
    from kexue.io.atomic import atomic_directory
    from kexue.models import save_pretrained

    with atomic_directory(path, overwrite=overwrite) as tmp:
        save_pretrained(solver.model, tmp / "model", vocab=solver.tokenizer.token_dict)
        (tmp / "mwp.json").write_text(json.dumps(asdict(solver.config), indent=2) + "\n",
                                      encoding="utf-8")
    return Path(path)


def load_solver(path: str | os.PathLike) -> Solver:
    """Read a solver directory written by :func:`save_solver` (``model/`` + ``mwp.json``), or
    a flat one (``mwp.json`` beside ``config.json``, ``model.safetensors``, ``vocab.txt``: the
    shipped ``kexue-mwp-mini-zh``)."""
    from kexue.models import build_transformer_model
    from kexue.text import Tokenizer

    path = Path(path)
    weights = path / "model" if (path / "model").is_dir() else path
    if not (path / "mwp.json").is_file() or not (weights / "config.json").is_file():
        raise FileNotFoundError(f"{path} is not a solver directory (no mwp.json and model/; "
                                f"train one with `kexue mwp train`)")
    try:
        settings = json.loads((path / "mwp.json").read_text(encoding="utf-8"))
        config = SolverConfig(**settings)
    except (json.JSONDecodeError, TypeError) as err:
        raise ValueError(f"{path / 'mwp.json'}: not a solver configuration ({err})") from None
    model = build_transformer_model(checkpoint_path=weights, model=config.family,
                                    application="unilm")
    tokenizer = Tokenizer(weights / "vocab.txt",
                          extra_specials=slot_tokens(config.number_slots))
    return Solver(model, tokenizer, config)
