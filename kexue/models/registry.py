"""One registration per model family: config class, model builder, key maps per format.

A :class:`Family` says everything kexue knows about one architecture: its config class, how
to build the module from a config and the build options, the ``model_type`` values a
``config.json`` may carry, and one key map per checkpoint *format* (``"hf"``: transformers
layout; ``"tf"``: the TensorFlow releases' variable names). Saving runs the ``"hf"`` key map
backwards, so loading and saving can never disagree. A new family or format is one
:func:`register` call or one entry in ``key_maps``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from kexue.models import keymaps, tf_keymaps
from kexue.models.bert import Bert
from kexue.models.config import (
    BertConfig,
    GPT2Config,
    GPT2MLConfig,
    NezhaConfig,
    RoFormerConfig,
    T5Config,
    _Config,
)
from kexue.models.gpt2 import GPT2
from kexue.models.gpt2_ml import GPT2ML
from kexue.models.loading import KeyMap, Transform
from kexue.models.t5 import T5

__all__ = [
    "Family", "FAMILIES", "register", "get_family", "family_of", "config_defaults", "KeyMapFn"
]

KeyMapFn = Callable[[nn.Module, "list[str] | None", "Transform | None"], KeyMap]


@dataclass(frozen=True)
class Family:
    """A model family.

    Attributes:
        name: the canonical ``model=`` name.
        config_class: its typed config.
        build: ``(config, application, options) -> nn.Module``.
        model_types: ``model_type`` values its ``config.json`` may carry (the first is written).
        key_maps: checkpoint format -> key-map function ``(model, keys, vocab) -> KeyMap``.
        options: extra build options besides the config's own option fields.
        heads: the build options that add every head (``kexue convert`` keeps the heads a
            checkpoint has).
        architectures: ``(model) -> list of transformers class names`` written to config.json.
        layer_fields: config fields counting repeated layers (for the size check before
            allocating).
    """

    name: str
    config_class: type[_Config]
    build: Callable[[Any, str, dict[str, Any]], nn.Module]
    model_types: tuple[str, ...]
    key_maps: dict[str, KeyMapFn]
    architectures: Callable[[nn.Module], list[str]]
    options: dict[str, Any] = field(default_factory=dict)
    heads: dict[str, Any] = field(default_factory=dict)
    layer_fields: tuple[str, ...] = ("num_hidden_layers",)


FAMILIES: dict[str, Family] = {}
_ALIASES: dict[str, str] = {}
_ALIAS_DEFAULTS: dict[str, dict[str, Any]] = {}


def register(family: Family, *aliases: str | tuple[str, dict[str, Any]]) -> Family:
    """Add ``family`` and alternative ``model=`` names for it; an alias given as
    ``(name, defaults)`` fills config fields its releases' configs leave out."""
    FAMILIES[family.name] = family
    for alias in aliases:
        name, defaults = alias if isinstance(alias, tuple) else (alias, {})
        _ALIASES[name] = family.name
        _ALIAS_DEFAULTS[name] = defaults
    return family


def config_defaults(name: str) -> dict[str, Any]:
    """Config fields implied by the ``model=`` name (e.g. ``mt5.1.1``: an untied LM head)."""
    return dict(_ALIAS_DEFAULTS.get(name, {}))


def known_names() -> list[str]:
    return sorted([*FAMILIES, *_ALIASES])


def get_family(name: str) -> Family:
    key = _ALIASES.get(name, name)
    if key not in FAMILIES:
        raise ValueError(f"unknown model family {name!r}; known: {known_names()}")
    return FAMILIES[key]


def family_of(model: nn.Module) -> Family:
    """The family of a kexue model (by its config)."""
    config = getattr(model, "config", None)
    name = getattr(config, "FAMILY", None)
    if name not in FAMILIES:
        raise TypeError(f"{type(model).__name__} is not a kexue model of a registered family")
    return FAMILIES[name]


# ----------------------------------------------------------------------------- families


def _bert_build(config, application: str, options: dict[str, Any]) -> nn.Module:
    return Bert(config, application=application)


def _bert_archs(prefix: str) -> Callable[[nn.Module], list[str]]:
    def archs(model: nn.Module) -> list[str]:
        if model.mlm is not None and model.nsp is not None:
            return [f"{prefix}ForPreTraining"]
        if model.mlm is not None:
            return [f"{prefix}ForMaskedLM"]
        return [f"{prefix}Model"]

    return archs


def _decoder_build(cls: type) -> Callable[[Any, str, dict[str, Any]], nn.Module]:
    def build(config, application: str, options: dict[str, Any]) -> nn.Module:
        return cls(config, application=application)

    return build


def _t5_build(config, application: str, options: dict[str, Any]) -> nn.Module:
    if application != "encoder":
        raise ValueError("T5 is built as the full encoder-decoder: leave application='encoder'")
    return T5(config, with_lm=options.get("with_lm", True))


_BERT_MAPS = {"hf": keymaps.bert_key_map, "tf": tf_keymaps.bert_tf_key_map}
_BERT_HEADS = {"with_pool": True, "with_nsp": True, "with_mlm": True}

register(
    Family("bert", BertConfig, _bert_build, ("bert",), _BERT_MAPS, _bert_archs("Bert"),
           heads=_BERT_HEADS),
    "roberta",
    "wobert",
)
register(
    Family(
        "roformer", RoFormerConfig, _bert_build, ("roformer",), _BERT_MAPS,
        _bert_archs("RoFormer"), heads=_BERT_HEADS,
    ),
    "roformer_sim",
)
register(
    Family("nezha", NezhaConfig, _bert_build, ("nezha",), _BERT_MAPS, _bert_archs("Nezha"),
           heads=_BERT_HEADS),
)
register(
    Family(
        "gpt2", GPT2Config, _decoder_build(GPT2), ("gpt2",),
        {"hf": keymaps.gpt2_key_map, "tf": tf_keymaps.gpt2_tf_key_map},
        lambda m: ["GPT2LMHeadModel"],
    ),
)
register(
    Family(
        "gpt2_ml", GPT2MLConfig, _decoder_build(GPT2ML), ("gpt2_ml",),
        {"hf": keymaps.gpt2_ml_key_map, "tf": tf_keymaps.gpt2_ml_tf_key_map},
        lambda m: ["GPT2ML"],
    ),
)
register(
    Family(
        "t5", T5Config, _t5_build, ("t5", "mt5"),
        {"hf": keymaps.t5_key_map, "tf": tf_keymaps.t5_tf_key_map},
        lambda m: ["T5ForConditionalGeneration" if m.lm_head is not None else "T5Model"],
        options={"with_lm": True},
        heads={"with_lm": True},
        layer_fields=("num_hidden_layers", "num_decoder_layers"),
    ),
    ("t5.1.1", {"tie_word_embeddings": False}),
    ("mt5", {"tie_word_embeddings": False}),
    ("mt5.1.1", {"tie_word_embeddings": False}),
    ("t5_pegasus", {"tie_word_embeddings": False}),
)
