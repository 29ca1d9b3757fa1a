"""SPACES: extract-then-generate long-document summarisation (kexue.fm/archives/8046).

- :mod:`.matching`: sentence splitting and the recursive extraction-label matcher;
- :mod:`.extractor`: frozen sentence vectors + gated dilated convolutions, k-fold
  cross-prediction;
- :mod:`.generator`: the UniLM generator with the BIO copy head (labels and constrained
  decoding live in :mod:`kexue.decoding.copy`; the metric in :mod:`kexue.text.rouge`);
- :mod:`.data`: the CSL and CAIL 2020 readers with the fixed splits.
"""
