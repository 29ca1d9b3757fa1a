"""kexue (科学): the methods of the Scientific Spaces blog (kexue.fm) as a tested PyTorch toolkit.

Subpackages, one area each (see README "Where things live"):

- ``kexue.models``      Transformer families and ``build_transformer_model``
- ``kexue.layers``      attention, normalisation, position encodings, heads
- ``kexue.optim``       AdaX, AdaFactor and the bert4keras-style optimizer wrappers
- ``kexue.objectives``  losses, regularizers, adversarial training and other small methods
- ``kexue.decoding``    batched autoregressive decoding with a KV cache
- ``kexue.text``        tokenizers, WoBERT words, word discovery and segmentation
- ``kexue.data``        data tools (external-memory shuffle, ...)
- ``kexue.recipes``     runnable end-to-end recipes on real data
- ``kexue.astro``       the blog's yearly sky-event calendar from JPL DE421 (torch-free)
- ``kexue.pretrain``  MLM / whole-word MLM / NSP / UniLM / causal-LM pretraining recipes
- ``kexue.assets``    kexue's own shipped models: ``kexue.assets.path("kexue-mini-zh")``
- ``kexue.cli``         the ``kexue`` command line (``kexue demo``, ``kexue shuffle``, ...)
"""

__version__ = "0.1.0"

from kexue import assets  # noqa: E402,F401  (light: pathlib only)
