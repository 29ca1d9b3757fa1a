"""Typed configurations, one dataclass per model family.

``Config.from_dict`` accepts HuggingFace ``config.json`` naming and Google / bert4keras naming
(``max_position``, ``segment_vocab_size``, ``dropout_rate``, ...). HF metadata keys
(``architectures``, ``transformers_version``, ``torch_dtype``, token ids, ...) are accepted and
ignored; keys that would change the math must hold the value kexue implements, and any other
unknown key raises ``ValueError`` naming it. A missing required field raises naming it.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

__all__ = [
    "BertConfig",
    "RoFormerConfig",
    "NezhaConfig",
    "GPT2Config",
    "GPT2MLConfig",
    "T5Config",
    "load_config_dict",
    "option",
]


def option(default: Any) -> Any:
    """A build option (bert4keras habit: ``with_pool``, ``with_mlm``, ...): a config field so
    the model reads it in one place, but never written to ``config.json``."""
    return field(default=default, metadata={"option": True})

# Keys that describe a checkpoint but do not change the forward math.
METADATA = frozenset(
    {
        "architectures",
        "dtype",
        "torch_dtype",
        "transformers_version",
        "model_type",
        "_name_or_path",
        "name_or_path",
        "bos_token_id",
        "eos_token_id",
        "pad_token_id",
        "sep_token_id",
        "decoder_start_token_id",
        "use_cache",
        "initializer_range",
        "initializer_factor",
        "classifier_dropout",
        "id2label",
        "label2id",
        "num_labels",
        "problem_type",
        "output_past",
        "gradient_checkpointing",
        "directionality",
        "pooler_fc_size",
        "pooler_num_attention_heads",
        "pooler_num_fc_layers",
        "pooler_size_per_head",
        "pooler_type",
        "return_dict",
        "output_hidden_states",
        "output_attentions",
        "torchscript",
        "chunk_size_feed_forward",
        "tokenizer_class",
        "prefix",
        "task_specific_params",
        "finetuning_task",
        "max_length",
        "num_beams",
        "_attn_implementation_autoset",
        "attn_implementation",
        "tf_legacy_loss",
        "use_bfloat16",
        "pruned_heads",
        "bad_words_ids",
        "forced_bos_token_id",
        "forced_eos_token_id",
        "remove_invalid_values",
        "classifier_dropout_prob",
        "summary_type",
        "summary_use_proj",
        "summary_activation",
        "summary_proj_to_labels",
        "summary_first_dropout",
        "n_ctx",
        "reorder_and_upcast_attn",
        "sequence_length",
        "embedding_dropout_rate",
        "rope_scaling",
    }
)


def load_config_dict(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """Read a ``config.json`` path (or a directory holding one), or copy a dict."""
    if isinstance(source, dict):
        return dict(source)
    path = Path(source)
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise ValueError(f"config file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"config file {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"config file {path} must hold a JSON object")
    return data


@dataclass
class _Config:
    """Shared parsing: aliases, metadata, fixed-value keys, required fields."""

    ALIASES: ClassVar[dict[str, str]] = {}
    # kexue field -> the name transformers writes in config.json (when they differ)
    HF_NAMES: ClassVar[dict[str, str]] = {}
    # key -> the only value(s) kexue implements for this family
    FIXED: ClassVar[dict[str, tuple[Any, ...]]] = {}
    FAMILY: ClassVar[str] = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any], **overrides: Any) -> _Config:
        names = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        unknown: list[str] = []
        for source in (data, overrides):
            for key, value in source.items():
                name = cls.ALIASES.get(key, key)
                if name in names:
                    values[name] = value
                elif key in cls.FIXED:
                    if value not in cls.FIXED[key]:
                        raise ValueError(
                            f"{cls.FAMILY} config: {key}={value!r} is not supported "
                            f"(kexue implements {key} in {list(cls.FIXED[key])})"
                        )
                elif key in METADATA:
                    continue
                else:
                    unknown.append(key)
        if unknown:
            raise ValueError(
                f"{cls.FAMILY} config: unknown keys {sorted(unknown)}; they could change the "
                f"model's math, so kexue refuses to guess (known fields: {sorted(names)})"
            )
        required = [
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
            and f.name not in values
        ]
        if required:
            raise ValueError(f"{cls.FAMILY} config is missing required field(s): {required}")
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        """Check values and fill derived defaults (subclasses)."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def architecture(self) -> dict[str, Any]:
        """The fields that define the weights and the math (what ``config.json`` holds),
        under transformers' names; build options are left out."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.metadata.get("option"):
                continue
            out[self.HF_NAMES.get(f.name, f.name)] = getattr(self, f.name)
        return out

    # ------------------------------------------------------------------ field checks
    def _fail(self, name: str, what: str) -> None:
        value = getattr(self, name)
        raise ValueError(f"{self.FAMILY} config: {name} must be {what}, got {value!r}")

    def _ints(self, *names: str, minimum: int = 1, optional: bool = False) -> None:
        for name in names:
            value = getattr(self, name)
            if optional and value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                self._fail(name, "a positive int" if minimum == 1 else f"an int >= {minimum}")

    def _floats(self, *names: str, low: float, high: float | None = None,
                low_open: bool = True, high_open: bool = True) -> None:
        for name in names:
            value = getattr(self, name)
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            ok = ok and math.isfinite(value) and (value > low if low_open else value >= low)
            if ok and high is not None:
                ok = value < high if high_open else value <= high
            if not ok:
                rng = f"{'(' if low_open else '['}{low}, {high if high is not None else 'inf'}"
                rng += ")" if high is None or high_open else "]"
                self._fail(name, f"a finite number in {rng}")

    def _bools(self, *names: str) -> None:
        for name in names:
            if not isinstance(getattr(self, name), bool):
                self._fail(name, "true or false")

    def _acts(self, *names: str) -> None:
        from kexue.layers.activations import ACTIVATIONS

        for name in names:
            if getattr(self, name) not in ACTIVATIONS:
                self._fail(name, f"one of {sorted(ACTIVATIONS)}")


_BERT_ALIASES = {
    "max_position": "max_position_embeddings",
    "segment_vocab_size": "type_vocab_size",
    "dropout_rate": "hidden_dropout_prob",
    "attention_dropout_rate": "attention_probs_dropout_prob",
    "layer_norm_epsilon": "layer_norm_eps",
    "attention_head_size": "head_size",
}


@dataclass
class BertConfig(_Config):
    """BERT / RoBERTa-zh (Devlin et al., arXiv 1810.04805): post-LN encoder, absolute positions.

    Besides the checkpoint fields it carries kexue's model options, which may also be given
    as keyword arguments to ``build_transformer_model``.
    """

    FAMILY: ClassVar[str] = "bert"
    ALIASES: ClassVar[dict[str, str]] = _BERT_ALIASES
    FIXED: ClassVar[dict[str, tuple[Any, ...]]] = {
        "position_embedding_type": ("absolute",),
        "is_decoder": (False,),
        "add_cross_attention": (False,),
        "tie_word_embeddings": (True,),
        "is_encoder_decoder": (False,),
    }

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    hidden_act: str = "gelu"
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    embedding_size: int | None = None
    head_size: int | None = None
    pad_token_id: int = 0
    # architecture variants kexue adds (saved: they change the math)
    residual_attention_scores: bool = False
    layer_norm_cond_size: int | None = None
    layer_norm_cond_hidden_size: int | None = None
    layer_norm_cond_act: str = "linear"
    # build options (bert4keras names; never saved)
    with_pool: bool | str = option(False)
    with_nsp: bool = option(False)
    with_mlm: bool = option(False)
    hierarchical_position: bool | float = option(False)

    @property
    def cond_norm_kwargs(self) -> dict:
        """Keyword arguments of every conditional :class:`kexue.layers.LayerNorm` of the model."""
        return dict(
            cond_size=self.layer_norm_cond_size,
            cond_hidden_size=self.layer_norm_cond_hidden_size,
            cond_act=self.layer_norm_cond_act,
        )

    def validate(self) -> None:
        self._ints(
            "vocab_size",
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
        )
        self._ints("type_vocab_size", "pad_token_id", minimum=0)
        self._ints("embedding_size", "head_size", "layer_norm_cond_size",
                   "layer_norm_cond_hidden_size", optional=True)
        self._floats("layer_norm_eps", low=0.0)
        self._floats("hidden_dropout_prob", "attention_probs_dropout_prob", low=0.0, high=1.0,
                     low_open=False)
        self._bools("residual_attention_scores", "with_nsp", "with_mlm")
        self._acts("hidden_act", "layer_norm_cond_act")
        if self.pad_token_id >= self.vocab_size:
            self._fail("pad_token_id", f"below vocab_size {self.vocab_size}")
        hp = self.hierarchical_position
        if not isinstance(hp, bool) and not (
            isinstance(hp, float) and math.isfinite(hp) and 0.0 < hp < 1.0
        ):
            self._fail("hierarchical_position", "true, false or an alpha in (0, 1)")
        if self.embedding_size is None:
            self.embedding_size = self.hidden_size
        if self.head_size is None:
            if self.hidden_size % self.num_attention_heads:
                raise ValueError(
                    f"{self.FAMILY} config: hidden_size {self.hidden_size} is not divisible by "
                    f"num_attention_heads {self.num_attention_heads}"
                )
            self.head_size = self.hidden_size // self.num_attention_heads
        if self.with_pool not in (False, True, "tanh", "linear"):
            raise ValueError(
                f"with_pool must be False, True, 'tanh' or 'linear', got {self.with_pool!r}"
            )
        if self.with_nsp and not self.with_pool:
            self.with_pool = True
        if self.with_nsp and self.with_pool == "linear":
            raise ValueError("with_nsp needs the tanh pooler, not with_pool='linear'")


@dataclass
class RoFormerConfig(BertConfig):
    """RoFormer (https://kexue.fm/archives/8265): BERT with rotary positions, no position table."""

    FAMILY: ClassVar[str] = "roformer"
    FIXED: ClassVar[dict[str, tuple[Any, ...]]] = {
        k: v for k, v in BertConfig.FIXED.items() if k != "position_embedding_type"
    }
    max_position_embeddings: int = 1536
    rotary_value: bool = False

    def validate(self) -> None:
        super().validate()
        self._bools("rotary_value")


@dataclass
class NezhaConfig(BertConfig):
    """NEZHA (arXiv 1909.00204): BERT with functional relative positions on keys and values."""

    FAMILY: ClassVar[str] = "nezha"
    FIXED: ClassVar[dict[str, tuple[Any, ...]]] = {
        **{k: v for k, v in BertConfig.FIXED.items() if k != "position_embedding_type"},
        "use_relative_position": (True,),
    }
    max_relative_position: int = 64

    def validate(self) -> None:
        super().validate()
        self._ints("max_relative_position")


_GPT_ALIASES = {
    "n_embd": "hidden_size",
    "n_layer": "num_hidden_layers",
    "n_head": "num_attention_heads",
    "n_inner": "intermediate_size",
    "n_positions": "max_position_embeddings",
    "max_position": "max_position_embeddings",
    "layer_norm_epsilon": "layer_norm_eps",
    "activation_function": "hidden_act",
    "resid_pdrop": "hidden_dropout_prob",
    "dropout_rate": "hidden_dropout_prob",
    "attn_pdrop": "attention_probs_dropout_prob",
    "attention_dropout_rate": "attention_probs_dropout_prob",
    "embd_pdrop": "embedding_dropout_prob",
}


@dataclass
class GPT2Config(_Config):
    """OpenAI GPT-2 (pre-LN, final LN, tied LM head, ``gelu_new``)."""

    FAMILY: ClassVar[str] = "gpt2"
    ALIASES: ClassVar[dict[str, str]] = _GPT_ALIASES
    HF_NAMES: ClassVar[dict[str, str]] = {
        "hidden_size": "n_embd",
        "num_hidden_layers": "n_layer",
        "num_attention_heads": "n_head",
        "intermediate_size": "n_inner",
        "max_position_embeddings": "n_positions",
        "layer_norm_eps": "layer_norm_epsilon",
        "hidden_act": "activation_function",
        "hidden_dropout_prob": "resid_pdrop",
        "attention_probs_dropout_prob": "attn_pdrop",
        "embedding_dropout_prob": "embd_pdrop",
    }
    FIXED: ClassVar[dict[str, tuple[Any, ...]]] = {
        "scale_attn_weights": (True,),
        "scale_attn_by_inverse_layer_idx": (False,),
        "add_cross_attention": (False,),
        "tie_word_embeddings": (True,),
        "is_encoder_decoder": (False,),
        "is_decoder": (False, True),
    }

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int | None = None
    hidden_act: str = "gelu_new"
    max_position_embeddings: int = 1024
    layer_norm_eps: float = 1e-5
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    embedding_dropout_prob: float = 0.1

    @classmethod
    def from_dict(cls, data: dict[str, Any], **overrides: Any) -> _Config:
        # OpenAI's hparams.json: ``n_vocab``, and ``n_ctx`` as the position count
        data = dict(data)
        if "n_vocab" in data:
            data.setdefault("vocab_size", data.pop("n_vocab"))
        names = ("n_positions", "max_position_embeddings", "max_position")
        if "n_ctx" in data and not any(k in data or k in overrides for k in names):
            data["n_positions"] = data["n_ctx"]
        return super().from_dict(data, **overrides)

    def validate(self) -> None:
        self._ints("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                   "max_position_embeddings")
        self._ints("intermediate_size", optional=True)
        self._floats("layer_norm_eps", low=0.0)
        self._floats("hidden_dropout_prob", "attention_probs_dropout_prob",
                     "embedding_dropout_prob", low=0.0, high=1.0, low_open=False)
        self._acts("hidden_act")
        if self.intermediate_size is None:
            self.intermediate_size = 4 * self.hidden_size
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"{self.FAMILY} config: hidden_size {self.hidden_size} is not divisible by "
                f"num_attention_heads {self.num_attention_heads}"
            )


@dataclass
class GPT2MLConfig(GPT2Config):
    """GPT2_ML (https://kexue.fm/archives/7292): embedding LN, attention without LN, FFN with
    LN on both sides, erf GELU, tied head; no final LN."""

    FAMILY: ClassVar[str] = "gpt2_ml"
    intermediate_size: int | None = None
    hidden_act: str = "gelu"
    max_position_embeddings: int = 1024
    layer_norm_eps: float = 1e-5


_T5_ALIASES = {
    "attention_head_size": "head_size",
    "d_model": "hidden_size",
    "d_kv": "head_size",
    "d_ff": "intermediate_size",
    "num_layers": "num_hidden_layers",
    "num_heads": "num_attention_heads",
    "layer_norm_epsilon": "layer_norm_eps",
    "dropout_rate": "hidden_dropout_prob",
}


@dataclass
class T5Config(_Config):
    """T5 / T5.1.1 / mT5 encoder-decoder (arXiv 1910.10683).

    ``feed_forward_proj`` is ``"gated-gelu"`` for T5.1.1 and mT5, ``"relu"`` for the original
    T5. ``tie_word_embeddings`` and ``scale_decoder_outputs`` decide whether the LM head reuses
    the shared embedding and whether the decoder output is scaled by ``d_model**-0.5`` first.
    """

    FAMILY: ClassVar[str] = "t5"
    ALIASES: ClassVar[dict[str, str]] = _T5_ALIASES
    HF_NAMES: ClassVar[dict[str, str]] = {
        v: k for k, v in _T5_ALIASES.items() if k != "attention_head_size"
    }
    FIXED: ClassVar[dict[str, tuple[Any, ...]]] = {
        "is_encoder_decoder": (True,),
        "is_decoder": (False,),
        "dense_act_fn": ("gelu_new", "relu", "gelu", "silu"),
        "is_gated_act": (True, False),
        "attention_scale": (False,),  # bert4keras T5 configs: T5 attention is unscaled
    }

    vocab_size: int
    hidden_size: int
    head_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_decoder_layers: int | None = None
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    layer_norm_eps: float = 1e-6
    hidden_dropout_prob: float = 0.1
    feed_forward_proj: str = "gated-gelu"
    # absent means tied, as in transformers (whose 4.x configs omit the default)
    tie_word_embeddings: bool = True
    scale_decoder_outputs: bool | None = None
    pad_token_id: int = 0

    def validate(self) -> None:
        self._ints(
            "vocab_size",
            "hidden_size",
            "head_size",
            "intermediate_size",
            "num_hidden_layers",
            "num_attention_heads",
            "relative_attention_num_buckets",
            "relative_attention_max_distance",
        )
        self._ints("num_decoder_layers", optional=True)
        self._ints("pad_token_id", minimum=0)
        self._floats("layer_norm_eps", low=0.0)
        self._floats("hidden_dropout_prob", low=0.0, high=1.0, low_open=False)
        self._bools("tie_word_embeddings")
        if self.scale_decoder_outputs is not None:
            self._bools("scale_decoder_outputs")
        if self.pad_token_id >= self.vocab_size:
            self._fail("pad_token_id", f"below vocab_size {self.vocab_size}")
        if self.num_decoder_layers is None:
            self.num_decoder_layers = self.num_hidden_layers
        if self.feed_forward_proj not in ("gated-gelu", "relu", "gated-relu", "gated-silu"):
            raise ValueError(f"t5 config: unsupported feed_forward_proj {self.feed_forward_proj!r}")
        if self.scale_decoder_outputs is None:
            self.scale_decoder_outputs = bool(self.tie_word_embeddings)

    @classmethod
    def from_dict(cls, data: dict[str, Any], **overrides: Any) -> _Config:
        # bert4keras T5 configs (mT5, T5 PEGASUS): ``hidden_act: ["gelu", "linear"]`` is the
        # gated-GELU feed-forward, ``"relu"`` the original one; ``is_dropout`` is metadata
        data = dict(data)
        act = data.pop("hidden_act", None)
        if act is not None:
            acts = [act] if isinstance(act, str) else list(act)
            if acts in (["gelu", "linear"], ["relu", "linear"]):
                data.setdefault("feed_forward_proj", f"gated-{acts[0]}")
            elif acts == ["relu"]:
                data.setdefault("feed_forward_proj", "relu")
            else:
                raise ValueError(f"t5 config: unsupported hidden_act {act!r}")
        data.pop("is_dropout", None)
        return super().from_dict(data, **overrides)

    @property
    def gated(self) -> bool:
        return self.feed_forward_proj.startswith("gated")

    @property
    def act(self) -> str:
        name = self.feed_forward_proj.split("-")[-1]
        return "gelu_new" if name == "gelu" else name
