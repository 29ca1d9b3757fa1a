"""``build_transformer_model``: config + checkpoint -> a ready ``nn.Module`` (bert4keras style)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kexue.models import keymaps
from kexue.models.bert import Bert
from kexue.models.config import (
    BertConfig,
    GPT2Config,
    GPT2MLConfig,
    NezhaConfig,
    RoFormerConfig,
    T5Config,
    load_config_dict,
)
from kexue.models.gpt2 import GPT2
from kexue.models.gpt2_ml import GPT2ML
from kexue.models.loading import apply_key_map, find_weights, read_weights, vocab_transform
from kexue.models.t5 import T5

__all__ = ["build_transformer_model", "init_weights", "FAMILIES"]

# model name -> (config class, key map, model_type values its config.json may carry)
FAMILIES: dict[str, tuple[type, Any, tuple[str, ...]]] = {
    "bert": (BertConfig, keymaps.bert_key_map, ("bert",)),
    "roberta": (BertConfig, keymaps.bert_key_map, ("bert",)),
    "roformer": (RoFormerConfig, keymaps.bert_key_map, ("roformer",)),
    "nezha": (NezhaConfig, keymaps.bert_key_map, ("nezha",)),
    "gpt2": (GPT2Config, keymaps.gpt2_key_map, ("gpt2",)),
    "gpt2_ml": (GPT2MLConfig, keymaps.gpt2_ml_key_map, ("gpt2_ml",)),
    "t5": (T5Config, keymaps.t5_key_map, ("t5", "mt5")),
    "t5.1.1": (T5Config, keymaps.t5_key_map, ("t5", "mt5")),
    "mt5.1.1": (T5Config, keymaps.t5_key_map, ("t5", "mt5")),
}

_LOAD_OPTIONS = ("keep_tokens", "compound_tokens")


def init_weights(model: nn.Module, std: float = 0.02) -> None:
    """BERT-style initialisation for a model built without a checkpoint: dense and embedding
    weights ~ N(0, std), biases 0, norm gains 1 (the config's ``initializer_range``, 0.02 by
    default). Conditional LayerNorm's dense layers stay zero, so CLN still starts as LN."""
    with torch.no_grad():
        for name, module in model.named_modules():
            if ".cond_scale" in f".{name}" or ".cond_offset" in f".{name}":
                continue
            if isinstance(module, nn.Linear | nn.Embedding):
                module.weight.normal_(0.0, std)
                if getattr(module, "bias", None) is not None:
                    module.bias.zero_()


_T5_OPTIONS = ("with_lm",)


def build_transformer_model(
    config_path: str | Path | dict[str, Any] | None = None,
    checkpoint_path: str | Path | None = None,
    model: str = "bert",
    application: str = "encoder",
    **kwargs: Any,
) -> nn.Module:
    """Build a Transformer of family ``model`` and (optionally) load an HF-format checkpoint.

    Args:
        config_path: a ``config.json`` path, a directory holding one, or a dict; HF or
            Google/bert4keras naming. ``None`` reads ``config.json`` beside the checkpoint.
        checkpoint_path: a directory with ``config.json`` + ``model.safetensors`` or
            ``pytorch_model.bin``, or a weights file; ``None`` keeps the random init.
        model: ``bert``/``roberta``, ``roformer``, ``nezha``, ``gpt2``, ``gpt2_ml``, ``t5``
            (``t5.1.1``, ``mt5.1.1`` are aliases).
        application: ``encoder`` (hidden states, or :class:`EncoderOutput` with heads),
            ``lm`` (causal, logits) or ``unilm`` (seq2seq mask from segment ids, logits) for the
            BERT family; ``lm`` or ``encoder`` (hidden states) for GPT-2 / GPT2_ML;
            ``encoder`` (the default) for T5, which is always the encoder-decoder.
        **kwargs: config fields (override the file: ``with_pool``, ``with_mlm``, ``with_nsp``,
            ``residual_attention_scores``, ``hierarchical_position``,
            ``layer_norm_cond_size``, ...), ``keep_tokens``, ``compound_tokens`` and, for T5,
            ``with_lm``. Anything else raises ``TypeError``.

    Returns:
        The model in eval mode, with ``model.load_report`` when a checkpoint was loaded.
    """
    if model not in FAMILIES:
        raise ValueError(f"unknown model family {model!r}; known: {sorted(FAMILIES)}")
    config_cls, key_map_fn, model_types = FAMILIES[model]
    field_names = {f.name for f in dataclasses.fields(config_cls)}
    accepted = field_names | set(config_cls.ALIASES) | set(_LOAD_OPTIONS)
    if config_cls is T5Config:
        accepted |= set(_T5_OPTIONS)
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise TypeError(
            f"build_transformer_model() got unexpected keyword argument(s) {unknown} for "
            f"model={model!r}"
        )
    keep_tokens = kwargs.pop("keep_tokens", None)
    compound_tokens = kwargs.pop("compound_tokens", None)
    with_lm = kwargs.pop("with_lm", True)

    if config_path is None:
        if checkpoint_path is None:
            raise ValueError("give config_path, checkpoint_path, or both")
        if not Path(checkpoint_path).is_dir():
            raise ValueError(
                f"checkpoint_path {checkpoint_path} is a file: pass config_path as well"
            )
        config_path = Path(checkpoint_path) / "config.json"
    data = load_config_dict(config_path)
    model_type = data.get("model_type")
    archs = data.get("architectures") or []
    if model_type in ("roberta", "xlm-roberta") or any(str(a).startswith("Roberta") for a in archs):
        raise ValueError(
            "this is an HF RobertaModel config (fairseq layout, positions offset by "
            "padding_idx + 1), which kexue does not load; Chinese RoBERTa-wwm checkpoints "
            "in the BERT layout (model_type 'bert') load with model='bert'"
        )
    if model_type is not None and model_type not in model_types:
        raise ValueError(
            f"the config says model_type={model_type!r}, but model={model!r} was requested; "
            f"try model={model_type!r}"
        )
    original_vocab = data.get("vocab_size", kwargs.get("vocab_size"))
    config = config_cls.from_dict(data, **kwargs)
    if keep_tokens is not None or compound_tokens:
        if keep_tokens is not None and not len(keep_tokens):
            raise ValueError("keep_tokens must not be empty")
        new_vocab = (len(keep_tokens) if keep_tokens is not None else original_vocab) + len(
            compound_tokens or []
        )
        config.vocab_size = new_vocab

    if config_cls is T5Config:
        if application != "encoder":
            raise ValueError("T5 is built as the full encoder-decoder: leave application='encoder'")
        net: nn.Module = T5(config, with_lm=with_lm)
    elif config_cls in (GPT2Config, GPT2MLConfig):
        cls = GPT2ML if config_cls is GPT2MLConfig else GPT2
        net = cls(config, application=application)
    else:
        net = Bert(config, application=application)

    if checkpoint_path is None and (keep_tokens is not None or compound_tokens):
        raise ValueError("keep_tokens / compound_tokens need a checkpoint to take rows from")
    if checkpoint_path is None:
        init_weights(net, std=float(data.get("initializer_range", 0.02)))
    else:
        weights = find_weights(checkpoint_path)
        tensors = read_weights(weights)
        keys = list(tensors)
        if any(k.startswith("roberta.") for k in keys):
            raise ValueError(
                f"{weights} is an HF RobertaModel (fairseq layout, positions offset by "
                "padding_idx + 1), which kexue does not load; Chinese RoBERTa-wwm checkpoints "
                "in the BERT layout load with model='bert'"
            )
        km = key_map_fn(net, keys, vocab_transform(keep_tokens, compound_tokens))
        keymaps.bind_tied(km, tensors)
        net.load_report = apply_key_map(net, tensors, km, family=config.FAMILY, source=str(weights))
    return net.eval()
