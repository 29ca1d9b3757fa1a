"""``build_transformer_model``: config + checkpoint -> a ready ``nn.Module`` (bert4keras style)."""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from kexue.models.config import load_config_dict
from kexue.models.loading import _converted_shape, apply_key_map, vocab_transform
from kexue.models.registry import FAMILIES, Family, config_defaults, get_family
from kexue.models.sources import TensorSource, check_path, open_checkpoint
from kexue.models.tf_bundle import TFCheckpoint, find_prefix

__all__ = ["build_transformer_model", "init_weights", "FAMILIES", "CONFIG_FILES"]

_LOAD_OPTIONS = ("keep_tokens", "compound_tokens")
#: Config files looked for beside a checkpoint, in order (HF, Google/bert4keras, OpenAI GPT-2).
CONFIG_FILES = ("config.json", "bert_config.json", "hparams.json")


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


class _SkipInit(TorchFunctionMode):
    """Random initialisers do nothing on ``meta`` tensors (whose values do not exist anyway);
    without this, the first ``normal_`` on ``meta`` imports torch's reference kernels (seconds)."""

    SKIP = frozenset({"normal_", "uniform_", "zero_", "fill_", "ones_", "zeros_", "copy_"})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") in self.SKIP:
            target = args[0] if args else kwargs.get("tensor", kwargs.get("self"))
            if getattr(target, "is_meta", False):
                return target
        return func(*args, **kwargs)


def meta_build(family: Family, config, application: str, options: dict[str, Any]) -> nn.Module:
    """``family.build`` on the ``meta`` device: shapes and names, no memory, no init."""
    with torch.device("meta"), _SkipInit():
        return family.build(config, application, options)


def _find_config(checkpoint_path: str | Path) -> Path:
    tf = find_prefix(checkpoint_path)
    path = Path(checkpoint_path) if tf is not None else check_path(checkpoint_path)
    if tf is not None:
        folder = tf.parent
    elif path.is_dir():
        folder = path
    else:
        raise ValueError(f"checkpoint_path {path} is a weights file: pass config_path as well")
    for name in CONFIG_FILES:
        if (folder / name).is_file():
            return folder / name
    raise ValueError(
        f"no config file beside the checkpoint in {folder} (looked for {list(CONFIG_FILES)}): "
        "pass config_path"
    )


def build_transformer_model(
    config_path: str | Path | dict[str, Any] | None = None,
    checkpoint_path: str | Path | None = None,
    model: str | None = None,
    application: str = "encoder",
    *,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
    strict: bool = True,
    ignore: str | Iterable[str] | None = None,
    **kwargs: Any,
) -> nn.Module:
    """Build a Transformer of family ``model`` and (optionally) load a checkpoint.

    Args:
        config_path: a config path (``config.json``, Google ``bert_config.json``, OpenAI
            ``hparams.json``), a directory holding one, or a dict. ``None`` looks beside the
            checkpoint.
        checkpoint_path: an HF-format directory (``model.safetensors`` or
            ``pytorch_model.bin``), a weights file, or a **TensorFlow checkpoint** (its prefix
            ``.../bert_model.ckpt``, its ``.index`` file, or its directory), read without
            TensorFlow; ``None`` keeps the random init.
        model: a registered family; ``None`` (the default) takes it from the config's
            ``model_type`` (``bert`` when the config has none, as a Google
            ``bert_config.json``); an explicit family the config disagrees with raises. One of
            ``bert`` (``roberta``, ``wobert``), ``roformer``
            (``roformer_sim``), ``nezha``, ``gpt2``, ``gpt2_ml``, ``t5`` (``t5.1.1``, ``mt5``,
            ``mt5.1.1``, ``t5_pegasus``).
        application: ``encoder`` (bidirectional), ``lm`` (causal, with the MLM head as the
            LM head) or ``unilm`` (seq2seq mask from segment ids) for the BERT family; ``lm``
            or ``encoder`` (no LM head) for GPT-2 / GPT2_ML; ``encoder`` (the default) for
            T5, which is always the encoder-decoder. Every model returns a
            :class:`~kexue.models.outputs.ModelOutput` (``hidden`` first, then ``pooled``,
            ``nsp_logits``, ``logits`` when built), whatever the application and heads.
        **kwargs: config fields (override the file) and build options: ``with_pool``,
            ``with_nsp``, ``with_mlm``, ``hierarchical_position`` (never saved),
            ``residual_attention_scores``, ``layer_norm_cond_size``, ... (saved),
            ``keep_tokens``, ``compound_tokens`` and, for T5, ``with_lm``. Anything else
            raises ``TypeError``.

        dtype: the floating-point dtype of the returned model (``torch.bfloat16``,
            ``torch.float16``, ...); the weights are loaded in float32 and cast once.
        device: where the returned model lives (``"cuda"``, ``"cpu"``, ...).
        strict: ``True`` (the default) refuses a checkpoint holding keys the model does not
            use (a fine-tuned ``classifier.*``), listing them; ``False`` skips them.
        ignore: a regular expression (or a list of them) of checkpoint keys to skip even when
            ``strict``. Skipped keys are listed in ``model.load_report.skipped``.

    The load rule is the same for every family and format (:mod:`kexue.models.loading`): a
    head asked for (``with_pool``, ``with_mlm``, ``with_nsp``, an ``lm``/``unilm`` MLM head,
    an untied T5 LM head) that the checkpoint lacks is initialised fresh, named in
    ``model.load_report.new_heads`` and in a ``UserWarning``; any other missing weight and
    any shape mismatch is an error; TF optimizer slots are skipped by name.

    The checkpoint's names and shapes are checked against the config *before* the model is
    allocated, so a wrong ``vocab_size`` or layer count fails at once.

    Returns:
        The model in eval mode, with ``model.load_report`` when a checkpoint was loaded.
    """
    _refuse_hub_name(checkpoint_path)
    _refuse_hub_name(config_path)
    if model is None:
        model = _infer_family(config_path, checkpoint_path)
    family = get_family(model)
    config_cls = family.config_class
    field_names = {f.name for f in dataclasses.fields(config_cls)}
    accepted = field_names | set(config_cls.ALIASES) | set(_LOAD_OPTIONS) | set(family.options)
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise TypeError(
            f"build_transformer_model() got unexpected keyword argument(s) {unknown} for "
            f"model={model!r}"
        )
    keep_tokens = kwargs.pop("keep_tokens", None)
    compound_tokens = kwargs.pop("compound_tokens", None)
    options = {k: kwargs.pop(k, v) for k, v in family.options.items()}

    if config_path is None:
        if checkpoint_path is None:
            raise ValueError("give config_path, checkpoint_path, or both")
        config_path = _find_config(checkpoint_path)
    data = load_config_dict(config_path)
    for key, value in config_defaults(model).items():
        if key not in data and key not in kwargs:
            data[key] = value
    model_type = data.get("model_type")
    archs = data.get("architectures") or []
    if model_type in ("roberta", "xlm-roberta") or any(str(a).startswith("Roberta") for a in archs):
        raise ValueError(
            "this is an HF RobertaModel config (fairseq layout, positions offset by "
            "padding_idx + 1), which kexue does not load; Chinese RoBERTa-wwm checkpoints "
            "in the BERT layout (model_type 'bert') load with model='bert'"
        )
    if model_type is not None and model_type not in family.model_types:
        raise ValueError(
            f"the config says model_type={model_type!r}, but model={model!r} was requested; "
            f"try model={model_type!r}"
        )
    original_vocab = data.get("vocab_size", data.get("n_vocab", kwargs.get("vocab_size")))
    config = config_cls.from_dict(data, **kwargs)
    if keep_tokens is not None or compound_tokens:
        if checkpoint_path is None:
            raise ValueError("keep_tokens / compound_tokens need a checkpoint to take rows from")
        if keep_tokens is not None and not len(keep_tokens):
            raise ValueError("keep_tokens must not be empty")
        config.vocab_size = (len(keep_tokens) if keep_tokens is not None else original_vocab) + len(
            compound_tokens or []
        )

    if checkpoint_path is None:
        if not strict or ignore is not None:
            raise ValueError("strict= and ignore= apply to loading a checkpoint: give one")
        net = family.build(config, application, options)
        init_weights(net, std=float(data.get("initializer_range", 0.02)))
        return _place(net, dtype, device).eval()

    source = open_checkpoint(checkpoint_path)
    fmt = "tf" if isinstance(source, TFCheckpoint) else "hf"
    if fmt == "hf" and any(k.startswith("roberta.") for k in source.keys()):
        raise ValueError(
            f"{source.path} is an HF RobertaModel (fairseq layout, positions offset by "
            "padding_idx + 1), which kexue does not load; Chinese RoBERTa-wwm checkpoints "
            "in the BERT layout load with model='bert'"
        )
    if fmt not in family.key_maps:
        raise ValueError(f"kexue has no {fmt} key map for {family.name} checkpoints")
    key_map_fn = family.key_maps[fmt]
    vocab = vocab_transform(keep_tokens, compound_tokens)
    precheck(family, config, application, options, source, fmt, vocab)
    net = family.build(config, application, options)
    km = key_map_fn(net, source.keys(), vocab)
    report = apply_key_map(
        net, source, km, family=config.FAMILY, source=source.path, strict=strict, ignore=ignore
    )
    net.load_report = report
    if report.new_heads:
        fresh = sorted(k for k in report.initialised if k.split(".")[0] in report.new_heads)
        warnings.warn(
            f"{source.path} has no weights for the head(s) {report.new_heads} this model was "
            f"built with: initialised fresh (train them before use): {fresh}",
            UserWarning,
            stacklevel=2,
        )
    return _place(net, dtype, device).eval()


_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def _refuse_hub_name(path: Any) -> None:
    """A missing relative ``owner/name`` path is a model-hub name: say kexue does not
    download, and what to do instead."""
    if isinstance(path, str | Path) and not Path(path).exists() and _HUB_NAME.match(str(path)):
        raise ValueError(
            f"{str(path)!r} does not exist here and looks like a model-hub name: kexue never "
            "downloads models. Fetch the files (config.json, model.safetensors or "
            "pytorch_model.bin, vocab.txt) with your hub client, then pass their directory as "
            "checkpoint_path"
        )


def _infer_family(config_path: Any, checkpoint_path: Any) -> str:
    """The ``model=`` name from the config's ``model_type`` (``bert`` when it has none)."""
    if config_path is None:
        if checkpoint_path is None:
            raise ValueError("give config_path, checkpoint_path, or both")
        config_path = _find_config(checkpoint_path)
    model_type = load_config_dict(config_path).get("model_type")
    if model_type is None:
        return "bert"
    for family in FAMILIES.values():
        if model_type in family.model_types:
            return family.name
    raise ValueError(
        f"the config {config_path} says model_type={model_type!r}, which no kexue family "
        f"loads; known families: {sorted(FAMILIES)} (pass model= to choose one)"
    )


def _place(net: nn.Module, dtype: torch.dtype | None, device: str | torch.device | None):
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating-point torch.dtype, not {dtype!r}")
    if dtype is not None or device is not None:
        net = net.to(device=device, dtype=dtype)
    return net


def precheck(
    family: Family,
    config,
    application: str,
    options: dict[str, Any],
    source: TensorSource,
    fmt: str,
    vocab=None,
) -> None:
    """Compare the checkpoint's shapes with what ``config`` builds, on a one-layer model on
    the ``meta`` device (nothing allocated), and the checkpoint's size with the config's
    layer counts: a config that does not fit its checkpoint fails before the model exists."""
    key_map_fn = family.key_maps[fmt]
    keys = source.keys()

    def probe(**layers: int) -> nn.Module:
        small = dataclasses.replace(config, **{**{f: 1 for f in family.layer_fields}, **layers})
        return meta_build(family, small, application, options)

    one = probe()
    km = key_map_fn(one, keys, vocab)
    wrong = []
    for name, param in one.state_dict().items():
        rule = km.rules.get(name)
        if rule is None or rule.source not in source:
            continue
        shape = _converted_shape(rule, source.shape(rule.source))
        if shape is not None and shape != tuple(param.shape):
            wrong.append(
                f"{rule.source} {list(source.shape(rule.source))} but the config gives "
                f"{name} {list(param.shape)}"
            )
    if wrong:
        sizes = {
            k: getattr(config, k)
            for k in ("vocab_size", "hidden_size", "intermediate_size", "max_position_embeddings")
            if hasattr(config, k)
        }
        raise ValueError(
            f"the config does not match the checkpoint {source.path} (checked before building "
            f"the model; config {sizes}): " + "; ".join(wrong[:6])
            + (f"; ... ({len(wrong) - 6} more)" if len(wrong) > 6 else "")
        )
    base = sum(p.numel() for p in one.parameters())
    total = base
    for f in family.layer_fields:
        per_layer = sum(p.numel() for p in probe(**{f: 2}).parameters()) - base
        total += (getattr(config, f) - 1) * per_layer
    ignore = km.ignore[0] if km.ignore is not None else None
    stored = sum(source.numel(k) for k in keys if ignore is None or not ignore.search(k))
    if total > 2 * stored + (1 << 20):
        layers = {f: getattr(config, f) for f in family.layer_fields}
        raise ValueError(
            f"the config describes a model of {total:,} parameters but the checkpoint "
            f"{source.path} holds {stored:,} numbers: check the layer count(s) {layers} "
            "(checked before building the model)"
        )
