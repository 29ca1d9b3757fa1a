"""BioWord / FlyVec binary word vectors (kexue.fm/archives/8159) and their baselines.

- :mod:`kexue.recipes.bioword.corpus`     jieba words of a corpus slice, vocabulary, windows
- :mod:`kexue.recipes.bioword.biohash`    BioHash: the energy, the winner-only rule, top-k hashes
- :mod:`kexue.recipes.bioword.baselines`  FlyHash, SimHash, PPMI-SVD and skip-gram (SGNS) vectors
- :mod:`kexue.recipes.bioword.evaluate`   word-similarity / analogy sets, Spearman, similarities

Run it with ``kexue bioword`` (``kexue/cli/bioword.py``).
"""

from kexue.recipes.bioword.biohash import BioHash, top_k_hash

__all__ = ["BioHash", "top_k_hash"]
