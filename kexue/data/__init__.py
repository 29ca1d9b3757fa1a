"""kexue.data: data tools that scale (exact external-memory shuffle, size parsing)."""

from kexue.data.shuffle import ShuffleReport, shuffle_files
from kexue.data.sizes import parse_size

__all__ = ["shuffle_files", "ShuffleReport", "parse_size"]
