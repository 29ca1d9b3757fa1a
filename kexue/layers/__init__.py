"""kexue.layers: the building blocks of the Transformer families."""

from kexue.layers.activations import get_activation
from kexue.layers.attention import MultiHeadAttention
from kexue.layers.conv import GatedDilatedConv1d
from kexue.layers.dense import Dense, linear
from kexue.layers.embeddings import Embeddings
from kexue.layers.feedforward import FeedForward
from kexue.layers.heads import MLMHead, NSPHead, Pooler
from kexue.layers.normalization import LayerNorm, RMSNorm
from kexue.layers.pooling import AttentionPooling1d
from kexue.layers.positions import (
    NezhaRelativePosition,
    RotaryPosition,
    T5RelativeBias,
    apply_rotary,
    hierarchical_positions,
)

__all__ = [
    "get_activation",
    "MultiHeadAttention",
    "GatedDilatedConv1d",
    "AttentionPooling1d",
    "Dense",
    "linear",
    "Embeddings",
    "FeedForward",
    "MLMHead",
    "NSPHead",
    "Pooler",
    "LayerNorm",
    "RMSNorm",
    "NezhaRelativePosition",
    "RotaryPosition",
    "T5RelativeBias",
    "apply_rotary",
    "hierarchical_positions",
]
