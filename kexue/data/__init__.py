"""kexue.data: data tools (exact external-memory shuffle, size parsing) and the batching
snippets of bert4keras (padding, collation, length-bucketed batches, text segmentation,
parallel map)."""

from kexue.data.batching import PadCollate, sequence_padding
from kexue.data.parallel import parallel_apply
from kexue.data.samplers import LengthBucketSampler, ShuffledBatchSampler
from kexue.data.segmentate import text_segmentate
from kexue.data.shuffle import ShuffleReport, shuffle_files
from kexue.data.sizes import parse_size

__all__ = [
    "LengthBucketSampler",
    "PadCollate",
    "ShuffleReport",
    "ShuffledBatchSampler",
    "parallel_apply",
    "parse_size",
    "sequence_padding",
    "shuffle_files",
    "text_segmentate",
]
