"""Parse human-readable byte sizes: ``512K``, ``256M``, ``4G``; a plain number means bytes."""

from __future__ import annotations

import re

__all__ = ["parse_size"]

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_PATTERN = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*", re.IGNORECASE)


def parse_size(size: int | str) -> int:
    """Return ``size`` in bytes.

    Accepts a non-negative ``int`` (bytes) or a string: a number with an optional binary
    suffix ``K``, ``M``, ``G``, ``T`` (powers of 1024; ``KB``/``KiB`` and lower case are accepted
    too), e.g. ``"512K"`` -> 524288, ``"1.5G"``, ``"300"`` -> 300. Raises ``ValueError`` on
    anything else (negative numbers, unknown suffixes, empty strings) and ``TypeError`` on
    other types.
    """
    if isinstance(size, bool) or not isinstance(size, int | str):
        raise TypeError(f"size must be an int or a string like '256M', got {type(size).__name__}")
    if isinstance(size, int):
        if size < 0:
            raise ValueError(f"size must be non-negative, got {size}")
        return size
    match = _PATTERN.fullmatch(size)
    if match is None:
        raise ValueError(
            f"invalid size {size!r}: expected a number with an optional K, M, G or T suffix "
            "(e.g. 512K, 256M, 4G; a plain number means bytes)"
        )
    number, unit = match.groups()
    value = float(number) * _UNITS[unit.upper()]
    if unit == "" and "." in number:
        raise ValueError(f"invalid size {size!r}: a plain byte count must be a whole number")
    return int(value)
