"""Extraction labels for SPACES by recursive ROUGE matching (kexue.fm/archives/8046, stage 1).

The extractor needs a 0/1 label per source sentence, but a summary is not a set of source
sentences. SPACES matches them by divide and conquer, preserving order:

1. take the **longest** summary sentence ``i``;
2. find the source sentence ``j`` most similar to it (the weighted ROUGE
   ``0.2·R1 + 0.4·R2 + 0.4·RL`` on **characters**, so a long legal name weighs by its length);
3. recurse on ``(source[:j+1], summary[:i])`` and on ``(source[j:], summary[i+1:])``.

A source sentence may be matched more than once; every matched one gets label 1. Pitfalls:
the two halves share sentence ``j`` (inclusive slices), and the first version's extra pruning
rule was dropped by the author: extraction should aim at recall and leave deletion to the
generator.
"""

from __future__ import annotations

from collections.abc import Sequence

from kexue.data.segmentate import text_segmentate
from kexue.text.rouge import weighted_rouge

__all__ = ["SEPARATORS", "split_sentences", "extract_matching", "extraction_labels"]

#: SPACES' clause separators, strongest first.
SEPARATORS = "\n。；：，"


def split_sentences(text: str, limit: int | None = None) -> list[str]:
    """``text`` cut at every separator of :data:`SEPARATORS` (separators stay attached); with
    ``limit``, only the last ``limit`` clauses are kept (SPACES keeps the last 256)."""
    pieces = text_segmentate(text, 1, SEPARATORS)
    return pieces[-limit:] if limit else pieces


def extract_matching(texts: Sequence[str], summaries: Sequence[str], start_i: int = 0,
                     start_j: int = 0) -> list[tuple[int, int]]:
    """Pairs ``(summary index, source index)`` of the recursive matching (module docstring),
    sorted by summary index; every summary sentence appears once."""
    if not texts or not summaries:
        return []
    i = max(range(len(summaries)), key=lambda k: (len(summaries[k]), -k))
    scores = [weighted_rouge(t, summaries[i], unit="char") for t in texts]
    j = max(range(len(texts)), key=lambda k: (scores[k], -k))
    left = extract_matching(texts[: j + 1], summaries[:i], start_i, start_j)
    right = extract_matching(texts[j:], summaries[i + 1 :], start_i + i + 1, start_j + j)
    return left + [(start_i + i, start_j + j)] + right


def extraction_labels(texts: Sequence[str], summary: str) -> list[int]:
    """0/1 label of every source sentence: 1 when the matching picks it for some summary
    sentence."""
    pairs = extract_matching(texts, split_sentences(summary))
    chosen = {j for _, j in pairs}
    return [int(k in chosen) for k in range(len(texts))]
