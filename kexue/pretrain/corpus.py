"""Read a pretraining corpus: line files, documents separated by empty lines.

Files are opened through the package's one line-file reader, :mod:`kexue.io.lines`: plain,
gzip, bzip2, xz or zstd, recognised by content (not by name), concatenated members read whole,
and a truncated or corrupt file reported with its name and byte offset.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator, Sequence

from kexue.io.lines import open_input

__all__ = ["read_lines", "documents"]


def read_lines(path: str | os.PathLike) -> Iterator[str]:
    """The lines of a UTF-8 text file, plain or compressed (by content), without their
    newline."""
    binary = io.BufferedReader(open_input(path), 1 << 20)
    with io.TextIOWrapper(binary, encoding="utf-8", newline=None) as text:
        for line in text:
            yield line.rstrip("\r\n")


def documents(paths: Sequence[str | os.PathLike] | Iterable[str | os.PathLike]
              ) -> Iterator[list[str]]:
    """Documents (lists of non-empty lines) of the files in order: an empty (or blank) line
    ends a document, and so does the end of each file; empty documents are skipped."""
    for path in paths:
        doc: list[str] = []
        for line in read_lines(path):
            line = line.strip()
            if line:
                doc.append(line)
            elif doc:
                yield doc
                doc = []
        if doc:
            yield doc
