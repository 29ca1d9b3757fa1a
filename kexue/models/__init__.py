"""kexue.models: Transformer families that load HuggingFace-format checkpoints exactly.

``build_transformer_model(config_path, checkpoint_path, model="bert", application="encoder",
**kwargs)`` is the entry point (HF-format directories and TensorFlow checkpoints);
``save_pretrained(model, dir)`` writes an HF-format directory; ``list_variables`` /
``load_variable`` read TensorFlow checkpoints without TensorFlow; ``KVCache`` is the
incremental-decoding cache of the model contract (docs/design.md).
"""

from kexue.models.bert import Bert
from kexue.models.build import FAMILIES, build_transformer_model
from kexue.models.cache import KVCache
from kexue.models.config import (
    BertConfig,
    GPT2Config,
    GPT2MLConfig,
    NezhaConfig,
    RoFormerConfig,
    T5Config,
)
from kexue.models.gpt2 import GPT2
from kexue.models.gpt2_ml import GPT2ML
from kexue.models.loading import LoadReport
from kexue.models.outputs import EncoderOutput, ModelOutput, logits_of
from kexue.models.registry import Family, family_of, get_family, register
from kexue.models.saving import save_pretrained
from kexue.models.t5 import T5
from kexue.models.tf_bundle import list_variables, load_variable

__all__ = [
    "build_transformer_model",
    "save_pretrained",
    "FAMILIES",
    "Family",
    "register",
    "get_family",
    "family_of",
    "list_variables",
    "load_variable",
    "KVCache",
    "ModelOutput",
    "EncoderOutput",
    "logits_of",
    "LoadReport",
    "Bert",
    "GPT2",
    "GPT2ML",
    "T5",
    "BertConfig",
    "RoFormerConfig",
    "NezhaConfig",
    "GPT2Config",
    "GPT2MLConfig",
    "T5Config",
]
