"""Exact uniform line shuffle of files far larger than memory (Rao/Sandelius scatter).

Article: 有限内存下全局打乱几百G文件（Python）, https://kexue.fm/archives/8662 (Su Jianlin, 2021).
The article's own two-phase method (cut the corpus into ``m`` consecutive chunks, shuffle each,
then emit one line of every chunk per round in a fresh random order) is **not** a uniform
permutation, as the article says: it reaches only ``(m!)^n (n!)^m`` of the ``(mn)!`` orders.
This package uses the two-pass scatter of C. R. Rao (Sankhya 1961) and Sandelius (1962), also
described by Jane Street ("How to shuffle a big dataset", 2018) and by Lemire (2010):

1. **Scatter.** Send every line, independently and uniformly at random, to one of ``k``
   buckets (lines keep their input order inside a bucket).
2. **Shuffle.** Visit the buckets in order 0..k-1. A bucket that fits the memory budget is read
   into memory, permuted with an unbiased Fisher-Yates shuffle and appended to the output; a
   bucket that does not fit is scattered again (step 1) into sub-buckets with fresh randomness
   and handled recursively, in place of the bucket.

**Why every permutation is equally likely.** Let the input have ``n`` lines and fix an output
order ``sigma``. For a vector of bucket sizes ``(n_1, ..., n_k)`` summing to ``n``, the output
equals ``sigma`` exactly when (a) every line whose ``sigma``-position lies in the ``b``-th block
of ``n_b`` consecutive positions was sent to bucket ``b`` -- one labelling, probability
``k^-n`` -- and (b) each bucket's permutation puts its lines in the ``sigma`` order -- one
permutation of each bucket, probability ``prod_b 1/n_b!`` given the labels. Summing over size
vectors, ``P(sigma) = sum_{n_1+..+n_k=n} k^-n prod_b 1/n_b!``, which does not depend on
``sigma``: the output is uniform. The argument only needs each bucket to be shuffled
*uniformly given its contents*, independently of the labels; a bucket that is scattered again
is shuffled uniformly by induction on the recursion (the choice "in memory or recurse" depends
only on the bucket's contents, never on its order, and terminates with probability one because
a bucket of ``m >= 2`` lines stays whole with probability ``k^(1-m) <= 1/2``). So the result is
exactly uniform for any memory budget, fan-out and storage layout -- unlike the article's
method. Where a bucket's bytes are kept (a region of the output file, an overflow file), which
thread shuffles it, and where its shuffled lines are written (at the bucket's offset, which is
the total size of the buckets before it) change nothing in this argument: the labels are drawn
line by line in input order and each bucket is permuted by its own random stream. (As for
every seeded shuffle, the randomness comes from a PRNG, PCG64 here; "exact" is about the
algorithm given ideal random bits.)

Mechanics (one module per job):

- :mod:`~kexue.data.shuffle.reader`: inputs as blocks of whole lines in a large reused
  buffer.
- :mod:`~kexue.data.shuffle.lines` and ``_core.c``: lines as an int64 array of line ends;
  finding separators and gathering lines in a given order run in C with the GIL released.
- :mod:`~kexue.data.shuffle.scatter`: phase 1 (NumPy labels, stable sort, gather, one write per
  bucket per run of lines; the writes on a second thread).
- :mod:`~kexue.data.shuffle.store`: buckets as regions of one file plus an overflow file; for a
  file output, the output's own temporary file holds the regions and phase 2 writes each
  bucket back into it, at or before its region.
- :mod:`~kexue.data.shuffle.emit`: phase 2, one bucket per thread (read, permute, gather,
  write at the bucket's offset).
- :mod:`~kexue.data.shuffle.sink`: the output (atomic rename, stdout, shards).
- :mod:`~kexue.data.shuffle.fileio`: every write of an output or temporary file, buffers.
- :mod:`~kexue.data.shuffle.run`: :func:`shuffle_files`, the order of the phases and cleanup.

Cost: every byte is read and written twice when the buckets fit, plus one more pass over a
bucket that has to be split again. Peak memory is the budget plus a fixed overhead (the
interpreter and NumPy, and a 4 MiB output block per thread; the scatter's three read and
staging buffers of budget/8, at most 8 MiB each, are freed before phase 2), with one caveat: a
single line is always held whole in memory.

Lines are bytes separated by ``separator`` (``\\n``; ``\\0`` with ``-z``): any encoding, CRLF
(the ``\\r`` stays part of the line), empty lines. A last line without a separator gets one,
so multiple inputs mix as one corpus and no two lines are glued together.
"""

from kexue.data.shuffle.lines import LINE_OVERHEAD
from kexue.data.shuffle.run import MAX_OPEN_FILES, ShuffleReport, shuffle_files

__all__ = ["shuffle_files", "ShuffleReport", "LINE_OVERHEAD", "MAX_OPEN_FILES"]
