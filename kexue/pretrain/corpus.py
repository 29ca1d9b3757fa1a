"""Read a pretraining corpus: line files (plain or gzip), documents separated by empty lines.

The package-wide line-file reader (plain, gzip, bzip2, xz, zstd by content) belongs to the
corpora issue; until it lands, :func:`read_lines` is this one small stdlib reader of plain and
gzip files (gzip recognised by its magic bytes, not by the name), used only by the pretraining
pipeline. Replace its body with the shared reader when that exists.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterable, Iterator, Sequence

__all__ = ["read_lines", "documents"]

_GZIP_MAGIC = b"\x1f\x8b"


def read_lines(path: str | os.PathLike) -> Iterator[str]:
    """The lines of a UTF-8 text file, plain or gzip (by content), without their newline."""
    with open(path, "rb") as raw:
        magic = raw.read(2)
        raw.seek(0)
        binary = gzip.GzipFile(fileobj=raw) if magic == _GZIP_MAGIC else raw
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
