"""kexue.data: data tools (exact external-memory shuffle, size parsing) and the batching
snippets of bert4keras (padding, collation, length-bucketed batches, text segmentation,
parallel map).

Names are imported on first use (PEP 562): ``kexue shuffle`` and the Dask shuffle's workers
import :mod:`kexue.data.shuffle` without paying for PyTorch, which the batching tools need
(measured: ``import kexue.data.shuffle`` took 5.4 s with the eager imports, on a loaded
2-core machine).
"""

from __future__ import annotations

import importlib

_WHERE = {
    "PadCollate": "kexue.data.batching",
    "sequence_padding": "kexue.data.batching",
    "parallel_apply": "kexue.data.parallel",
    "LengthBucketSampler": "kexue.data.samplers",
    "ShuffledBatchSampler": "kexue.data.samplers",
    "text_segmentate": "kexue.data.segmentate",
    "ShuffleReport": "kexue.data.shuffle",
    "shuffle_files": "kexue.data.shuffle",
    "parse_size": "kexue.data.sizes",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'kexue.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
