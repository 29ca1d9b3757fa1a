"""Run a pretraining config: token stores, model, ``kexue.train.fit``, export.

``pretrain(config, run_dir)`` does, in order:

1. the vocabulary (``[vocab]``) and the token stores ``RUN_DIR/data/train`` and
   ``RUN_DIR/data/valid``, built once (kexue.pretrain.tokens) and reused after; a store built
   with another vocabulary or other files is refused;
2. ``RUN_DIR/config.toml``: a copy of the config on the first start; a later start with a
   different config is refused (resume with the same command, or use a new run directory);
3. the model (kexue.pretrain.model): fresh, or ``[model] checkpoint`` continued with its
   embedding rows carried over to the config's vocabulary (:func:`carry_vocabulary`, checked
   before the token stores are built); AdamW with decoupled weight decay (none on biases and
   LayerNorms), warm-up then linear decay (``PiecewiseLinearLR``), and ``fit`` on the
   stream (kexue.pretrain.examples) with resumable checkpoints in ``RUN_DIR/checkpoints``
   (the stream position is saved in them), ``log.csv``, held-out metrics every
   ``eval_every`` steps on the first ``eval_examples`` examples of the validation shard,
   and ``curves.png``;
4. ``RUN_DIR/model``: the trained model with its heads, float16, written by
   ``save_pretrained`` with the vocabulary.

Under ``torchrun`` every rank runs this; rank 0 builds the stores while the others wait, and
each rank reads every ``world``-th example.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kexue.data import PadCollate
from kexue.io.atomic import write_text
from kexue.pretrain.config import train_files
from kexue.pretrain.examples import PretrainStream, SpecialIds
from kexue.pretrain.model import BertPretrainer, build_pretrainer
from kexue.pretrain.tokens import TokenStore, build_token_store

__all__ = ["pretrain", "load_tokenizer", "open_store", "evaluate", "collate",
           "base_vocab_path", "carry_vocabulary"]

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def collate(examples: list[dict]) -> dict[str, torch.Tensor]:
    return PadCollate({"labels": -100})(examples)


def load_tokenizer(config: dict[str, Any]):
    """``(tokenizer, token_dict, keep_tokens or None)`` of the config's vocabulary."""
    from kexue.text import Tokenizer
    from kexue.text.vocab import load_vocab

    path = config["vocab"]["path"]
    if not os.path.isfile(path):
        raise FileNotFoundError(f"vocabulary {path!r} does not exist")
    if config["vocab"]["simplified"]:
        token_dict, keep = load_vocab(path, simplified=True, startswith=SPECIALS)
    else:
        token_dict, keep = load_vocab(path), None
    return Tokenizer(token_dict), token_dict, keep


def base_vocab_path(config: dict[str, Any]) -> str:
    """The vocabulary of ``[model] checkpoint``: ``[vocab] base``, else the checkpoint's
    ``vocab.txt`` (in its directory, or beside a TF checkpoint prefix or weights file)."""
    if config["vocab"].get("base"):
        path = config["vocab"]["base"]
        if not os.path.isfile(path):
            raise FileNotFoundError(f"[vocab] base {path!r} does not exist")
        return path
    checkpoint = config["model"]["checkpoint"]
    folder = checkpoint if os.path.isdir(checkpoint) else os.path.dirname(checkpoint) or "."
    path = os.path.join(folder, "vocab.txt")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"the checkpoint {checkpoint!r} has no vocab.txt beside it: "
                                f"name its vocabulary in [vocab] base")
    return path


def carry_vocabulary(config: dict[str, Any], token_dict: dict[str, int]):
    """The :class:`kexue.text.vocab_carry.CarryOver` from the checkpoint's vocabulary to
    ``token_dict`` (the config's), or ``None`` without ``[model] checkpoint``."""
    from kexue.text.vocab_carry import carry_over

    if not config["model"]["checkpoint"]:
        return None
    return carry_over(base_vocab_path(config), token_dict)


def _vocab_sha(token_dict: dict[str, int]) -> str:
    text = "\n".join(t for t, _ in sorted(token_dict.items(), key=lambda kv: kv[1]))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def open_store(path: Path, files: list[str], tokenizer, token_dict: dict[str, int], *,
               whole_word: bool, build: bool = True, progress: bool = False) -> TokenStore:
    """Open the token store at ``path`` (building it when absent and ``build``; otherwise
    waiting for another rank to build it), and check it matches the vocabulary and files."""
    if not (path / "meta.json").exists():
        if build:
            path.parent.mkdir(parents=True, exist_ok=True)
            build_token_store(files, tokenizer, path, whole_word=whole_word, progress=progress)
        else:
            while not (path / "meta.json").exists():
                time.sleep(2)
    store = TokenStore(path)
    if store.meta["vocab_sha256"] != _vocab_sha(token_dict):
        raise ValueError(f"token store {path} was built with another vocabulary: delete it "
                         f"or use another run directory")
    built_from = [os.path.basename(s["path"]) for s in store.meta["sources"]]
    if built_from != [os.path.basename(f) for f in files]:
        raise ValueError(f"token store {path} was built from {built_from}, the config names "
                         f"{[os.path.basename(f) for f in files]}")
    if whole_word and not store.meta["whole_word"]:
        raise ValueError(f"token store {path} has no word marks (built without whole_word)")
    return store


@torch.no_grad()
def evaluate(pretrainer: torch.nn.Module, examples: list[dict], batch_size: int = 64
             ) -> dict[str, float]:
    """Held-out metrics of fixed examples: masked-token accuracy (``val_mlm_acc``; UniLM:
    next-token accuracy on targets), NSP accuracy, or LM perplexity (``val_ppl``)."""
    was_training = pretrainer.training
    device = next(pretrainer.parameters()).device

    def batches():
        for i in range(0, len(examples), batch_size):
            yield {k: v.to(device) for k, v in collate(examples[i:i + batch_size]).items()}

    pretrainer.eval()
    try:
        if isinstance(pretrainer, BertPretrainer):
            right = total = nsp_right = nsp_total = 0
            for batch in batches():
                pred, nsp = pretrainer.predict(**batch)
                labels = batch["labels"][batch["labels"] != -100]
                right += int((pred == labels).sum())
                total += int(labels.numel())
                if nsp is not None:
                    nsp_right += int((nsp.argmax(-1) == batch["nsp_label"]).sum())
                    nsp_total += len(batch["nsp_label"])
            out = {"val_mlm_acc": right / max(total, 1)}
            if nsp_total:
                out["val_nsp_acc"] = nsp_right / nsp_total
            return out
        nll = count = 0.0
        for batch in batches():
            s, n = pretrainer.nll(**batch)
            nll += s
            count += n
        return {"val_ppl": float(np.exp(nll / max(count, 1)))}
    finally:
        pretrainer.train(was_training)


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for p in model.parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def _config_text(config: dict[str, Any]) -> str:
    import json

    return json.dumps(config, sort_keys=True, indent=1) + "\n"


def pretrain(config: dict[str, Any], run_dir: str | os.PathLike, *, progress: bool = True,
             steps: int | None = None) -> Any:
    """Train ``config`` (see kexue.pretrain.config) in ``run_dir``, resuming when it holds
    checkpoints; returns the ``Trainer``. ``steps`` stops earlier (a trial run; the LR
    schedule still follows the config's steps)."""
    from kexue.models import save_pretrained
    from kexue.threads import set_threads
    from kexue.train import Evaluator, LearningCurves, PiecewiseLinearLR, fit
    from kexue.train import distributed as dist

    tc = config["train"]
    run = Path(run_dir)
    rank, world = dist.setup()  # joins torchrun's process group (a no-op otherwise)
    # threads = 0: kexue's rule (kexue/threads.py), shared among this machine's workers
    local = int(os.environ.get("LOCAL_WORLD_SIZE", world))  # set by torchrun
    set_threads(int(tc["threads"]), processes=max(1, local))
    main = rank == 0
    run.mkdir(parents=True, exist_ok=True)
    saved = run / "config.json"
    if saved.exists():
        if saved.read_text(encoding="utf-8") != _config_text(config):
            raise ValueError(f"{run} holds a run with another config ({saved}); resume with "
                             f"the same config or choose another run directory")
    elif main:
        write_text(saved, _config_text(config))

    tokenizer, token_dict, _ = load_tokenizer(config)
    carry = carry_vocabulary(config, token_dict)
    dc = config["data"]
    store = open_store(run / "data" / "train", train_files(config), tokenizer, token_dict,
                       whole_word=dc["whole_word"], build=main, progress=progress and main)
    vstore = open_store(run / "data" / "valid", [dc["valid"]], tokenizer, token_dict,
                        whole_word=dc["whole_word"], build=main)
    specials = SpecialIds(token_dict)
    objectives = {k: float(v) for k, v in config["objectives"].items()}
    common = dict(max_length=dc["max_length"], objectives=objectives,
                  whole_word=dc["whole_word"], mask_rate=dc["mask_rate"])
    stream = PretrainStream(store, specials, seed=tc["seed"], rank=rank, world_size=world,
                            **common)
    held_out = PretrainStream(vstore, specials, seed=12345, shuffle=False, **common)
    valid = []
    for ex in held_out:
        valid.append(ex)
        if len(valid) >= tc["eval_examples"]:
            break

    mc = dict(config["model"])
    family = mc.pop("family")
    checkpoint = mc.pop("checkpoint") or None
    if carry is None:
        mc["vocab_size"] = len(token_dict)
    elif main and progress:
        print(f"vocabulary: {len(token_dict)} tokens, {carry.known} with their checkpoint "
              f"row, {len(carry.built)} from the mean of their pieces "
              f"({len(carry.unk_tokens)} of them from [UNK])")
    torch.manual_seed(tc["seed"])
    model = build_pretrainer(family, mc, objectives, checkpoint,
                             **(carry.model_kwargs() if carry is not None else {}))
    if torch.cuda.is_available():  # under torchrun, torch.cuda's device is LOCAL_RANK's
        model.to(torch.device("cuda", torch.cuda.current_device()))
    opt = torch.optim.AdamW(_param_groups(model, tc["weight_decay"]), lr=tc["lr"])
    total = int(tc["steps"])
    schedule = {int(tc["warmup_steps"]): 1.0, total: float(tc["final_lr"])}
    monitor = "val_ppl" if "lm" in objectives else "val_mlm_acc"
    callbacks = [PiecewiseLinearLR(schedule),
                 Evaluator(lambda m: evaluate(m, valid), monitor=monitor,
                           every_steps=tc["eval_every"],
                           mode="min" if monitor == "val_ppl" else "max", keep_best=False),
                 LearningCurves(run / "curves.png", title=config["name"])]
    trainer = fit(model, lambda m, b: m(**b), stream, optimizer=opt,
                  batch_size=tc["batch_size"], steps=min(total, steps or total),
                  collate_fn=collate, clip_grad_norm=tc["clip_grad_norm"],
                  precision=tc["precision"], callbacks=callbacks,
                  checkpoint_dir=run / "checkpoints",
                  checkpoint_every=tc["checkpoint_every"], resume=True, seed=tc["seed"],
                  log_every=tc["log_every"], progress=progress)
    if main and trainer.step >= total:
        export = model.export().to(torch.float16)
        save_pretrained(export, run / "model", vocab=token_dict, overwrite=True)
    return trainer
