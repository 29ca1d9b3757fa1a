"""The geometric view of the VAE (kexue.fm/archives/7725) on the 8x8 digits.

- :mod:`kexue.recipes.vae.model`    MLP auto-encoder, VAE and the naive-regulariser variant
- :mod:`kexue.recipes.vae.geometry` aggregated-posterior moments and N(0, I) coverage

Run it with ``kexue vae`` (``kexue/cli/vae.py``).
"""

from kexue.recipes.vae.geometry import CodeStats, code_stats, coverage, nearest_distance
from kexue.recipes.vae.model import VARIANTS, CodeAutoEncoder, train_autoencoder

__all__ = ["VARIANTS", "CodeAutoEncoder", "CodeStats", "code_stats", "coverage",
           "nearest_distance", "train_autoencoder"]
