"""kexue.train: ``fit`` with Keras-style callbacks, EMA evaluation, resumable checkpoints and
torchrun data parallelism (kexue.fm/archives/5765 and its follow-ups). One job a module:

- :mod:`kexue.train.loop`  ``fit`` / ``Trainer``
- :mod:`kexue.train.callbacks`  the callback hooks
- :mod:`kexue.train.evaluation`  ``Evaluator``, ``EarlyStopping``
- :mod:`kexue.train.schedules`  ``Warmup``, ``PiecewiseLinearLR``, ``LRSchedule``,
  ``ScheduledValue``
- :mod:`kexue.train.logs`  ``ProgressBar``, ``CSVLogger``, ``TensorBoardLogger``,
  ``LearningCurves``
- :mod:`kexue.train.weights`  ``ModelCheckpoint`` and safetensors inference weights
- :mod:`kexue.train.checkpoint`  the resumable checkpoint format
- :mod:`kexue.train.distributed`  torchrun set-up, sharding and metric reduction
- :mod:`kexue.train.fsdp`  ``strategy="fsdp"``: FSDP2 sharding, full-state gather, re-sharding

Batching helpers (``sequence_padding``, ``PadCollate``, samplers) live in :mod:`kexue.data`.
"""

from kexue.train import distributed, fsdp
from kexue.train.callbacks import Callback, CallbackList
from kexue.train.checkpoint import CheckpointError, latest_checkpoint, load_checkpoint
from kexue.train.evaluation import EarlyStopping, Evaluator
from kexue.train.logs import (
    CSVLogger,
    LearningCurves,
    ProgressBar,
    TensorBoardLogger,
    plot_history,
)
from kexue.train.loop import NonFiniteLossError, Trainer, fit
from kexue.train.schedules import LRSchedule, PiecewiseLinearLR, ScheduledValue, Warmup
from kexue.train.weights import ModelCheckpoint, load_weights, save_weights

__all__ = [
    "CSVLogger",
    "Callback",
    "CallbackList",
    "CheckpointError",
    "EarlyStopping",
    "Evaluator",
    "LRSchedule",
    "LearningCurves",
    "ModelCheckpoint",
    "NonFiniteLossError",
    "PiecewiseLinearLR",
    "ProgressBar",
    "ScheduledValue",
    "TensorBoardLogger",
    "Trainer",
    "Warmup",
    "distributed",
    "fit",
    "fsdp",
    "latest_checkpoint",
    "load_checkpoint",
    "load_weights",
    "plot_history",
    "save_weights",
]
