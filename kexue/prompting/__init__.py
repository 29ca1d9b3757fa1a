"""Reading a pretrained BERT's own heads instead of training a new one.

- :class:`Pattern`, :class:`Verbalizer`, :class:`MLMClassifier`: classification as a cloze
  (PET, https://kexue.fm/archives/7764), zero-shot or after :func:`pet_finetune`.
- :class:`NSPClassifier`, :func:`samples_contrast`, :func:`fit_thresholds`: the NSP head as a
  zero-shot scorer (NSP-BERT, https://kexue.fm/archives/8671).
- :mod:`kexue.prompting.perturbed`: Perturbed Masking impact matrices, unsupervised word
  segmentation and parse trees (https://kexue.fm/archives/7476).
- :mod:`kexue.prompting.fewclue`: the FewCLUE tasks' readers, patterns and prompts.

See ``docs/prompting.md``.
"""

from kexue.prompting._model import load as load_model
from kexue.prompting.mlm import MLMClassifier
from kexue.prompting.nsp import NSPClassifier, apply_thresholds, fit_thresholds, samples_contrast
from kexue.prompting.pattern import Pattern
from kexue.prompting.pet import pet_finetune
from kexue.prompting.verbalizer import Verbalizer

__all__ = [
    "Pattern",
    "Verbalizer",
    "MLMClassifier",
    "NSPClassifier",
    "samples_contrast",
    "fit_thresholds",
    "apply_thresholds",
    "pet_finetune",
    "load_model",
]
