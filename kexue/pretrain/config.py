"""The TOML config of a pretraining run (one file per model, ``kexue pretrain --config``).

Sections and their keys (all checked; an unknown key is an error naming it):

- top level: ``name`` (the run's and the exported model's name).
- ``[model]``: ``family`` (a kexue family: ``roformer``, ``bert``, ``nezha``, ``gpt2``, ...),
  ``checkpoint`` (optional: an HF or TF checkpoint to continue from, domain pretraining), and
  any config field of the family (``hidden_size``, ``num_hidden_layers``, ...);
  ``vocab_size`` is filled from the vocabulary. With a checkpoint, its own config gives the
  fields and those written here override them.
- ``[vocab]``: ``path`` (a BERT ``vocab.txt``), ``simplified`` (bert4keras's simplified
  vocabulary: redundant multi-character tokens dropped, ``keep_tokens`` for a checkpoint),
  ``base`` (optional, with ``[model] checkpoint``: the checkpoint's own vocabulary; default its
  ``vocab.txt``, in the checkpoint directory or beside a TF checkpoint or weights file). With a
  checkpoint, the model's vocabulary is ``path`` (simplified or not) and its embedding rows,
  tied MLM output and MLM bias are carried over from ``base``: a token ``base`` holds keeps its
  row, any other starts at the mean of the rows of its pieces
  (:func:`kexue.text.vocab_carry.carry_over`; ``path`` may equal ``base``).
- ``[data]``: ``train`` (list of files or glob patterns), ``valid`` (one file),
  ``max_length``, ``whole_word``, ``mask_rate``.
- ``[objectives]``: weights, e.g. ``nsp = 1.0`` (MLM + NSP), ``mlm = 1.0``,
  ``unilm = 0.5`` + ``mlm = 0.5``, ``lm = 1.0``.
- ``[train]``: ``batch_size``, ``steps``, ``lr``, ``warmup_steps``, ``final_lr`` (fraction of
  ``lr`` reached linearly at the last step), ``weight_decay``, ``clip_grad_norm``, ``seed``,
  ``checkpoint_every``, ``eval_every``, ``eval_examples``, ``threads`` (CPU threads per
  process; ``0``, the default, applies the rule of :mod:`kexue.threads`: at most 4, never
  more than this machine's CPUs shared among its workers), ``precision``, ``log_every``.

Relative paths are relative to the directory the command runs in (the repository root for
the configs shipped in ``kexue/pretrain/configs/``).
"""

from __future__ import annotations

import glob
import os
import tomllib
from typing import Any

__all__ = ["load_config", "DEFAULTS", "OPTIONAL", "train_files"]

DEFAULTS: dict[str, dict[str, Any]] = {
    "model": {"family": "roformer", "checkpoint": ""},
    "vocab": {"path": "", "simplified": True},
    "data": {"train": [], "valid": "", "max_length": 128, "whole_word": True,
             "mask_rate": 0.15},
    "objectives": {},
    "train": {"batch_size": 64, "steps": 1000, "lr": 1e-3, "warmup_steps": 100,
              "final_lr": 0.0, "weight_decay": 0.01, "clip_grad_norm": 1.0, "seed": 0,
              "checkpoint_every": 500, "eval_every": 500, "eval_examples": 512,
              "threads": 0, "precision": "fp32", "log_every": 50},
}

#: Keys allowed without a default: present in the loaded config only when given, so the config
#: of a run started before they existed reads the same (a run refuses a changed config).
OPTIONAL: dict[str, set[str]] = {"vocab": {"base"}}


def load_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a config; returns it with defaults filled in."""
    with open(path, "rb") as f:
        try:
            raw = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"config {os.fspath(path)!r} is not valid TOML: {e}") from None
    unknown = set(raw) - set(DEFAULTS) - {"name"}
    if unknown:
        raise ValueError(f"config {os.fspath(path)!r}: unknown section(s) {sorted(unknown)}")
    if not isinstance(raw.get("name"), str) or not raw["name"]:
        raise ValueError(f"config {os.fspath(path)!r}: needs a name = \"...\"")
    out: dict[str, Any] = {"name": raw["name"]}
    for section, defaults in DEFAULTS.items():
        given = raw.get(section, {})
        if not isinstance(given, dict):
            raise ValueError(f"config: [{section}] must be a table")
        if section not in ("model", "objectives"):
            known = set(defaults) | OPTIONAL.get(section, set())
            bad = set(given) - known
            if bad:
                raise ValueError(f"config: unknown key(s) {sorted(bad)} in [{section}] "
                                 f"(known: {sorted(known)})")
        merged = {**defaults, **given}
        for key, value in defaults.items():
            if key in given and isinstance(value, (int, float)) and not isinstance(value, bool):
                if isinstance(given[key], bool) or not isinstance(given[key], (int, float)):
                    raise ValueError(f"config: [{section}] {key} must be a number, got "
                                     f"{given[key]!r}")
        out[section] = merged
    if not out["objectives"]:
        raise ValueError("config: [objectives] is empty (e.g. nsp = 1.0)")
    if not out["vocab"]["path"]:
        raise ValueError("config: [vocab] path is missing")
    if "base" in out["vocab"] and not isinstance(out["vocab"]["base"], str):
        raise ValueError("config: [vocab] base must be a path (a string)")
    if out["vocab"].get("base") and not out["model"]["checkpoint"]:
        raise ValueError("config: [vocab] base is the vocabulary of [model] checkpoint, "
                         "which is missing")
    if not out["data"]["train"] or not out["data"]["valid"]:
        raise ValueError("config: [data] needs train (files or patterns) and valid")
    if isinstance(out["data"]["train"], str):
        out["data"]["train"] = [out["data"]["train"]]
    return out


def train_files(config: dict[str, Any]) -> list[str]:
    """The training files: each pattern expanded (sorted); a pattern matching nothing is an
    error."""
    files: list[str] = []
    for pattern in config["data"]["train"]:
        found = sorted(glob.glob(pattern))
        if not found:
            raise FileNotFoundError(f"no training file matches {pattern!r} (relative paths "
                                    f"are relative to {os.getcwd()})")
        files.extend(found)
    return files
