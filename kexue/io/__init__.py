"""File input and output shared by the whole package.

- :mod:`kexue.io.atomic`: the one atomic file writer (temporary file, fsync, rename) that every
  file kexue writes goes through.
- :mod:`kexue.io.lines`: the one line-file reader and writer (plain, gzip, bzip2, xz, zstd;
  read by content, written by name).
"""

from kexue.io.atomic import (
    atomic_directory,
    atomic_write,
    remove_stale_temps,
    stale_temps,
    write_bytes,
    write_text,
)

__all__ = [
    "atomic_directory",
    "atomic_write",
    "remove_stale_temps",
    "stale_temps",
    "write_bytes",
    "write_text",
]
