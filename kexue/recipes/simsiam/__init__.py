"""SimSiam / BYOL dynamics (kexue.fm/archives/7980): why stop-gradient does not collapse.

- :mod:`kexue.recipes.simsiam.ode`    the article's scalar gradient-flow toy and its invariant
- :mod:`kexue.recipes.simsiam.train`  a small SimSiam / BYOL on the 8x8 digits, the per-dimension
  std of the normalised embedding and a linear probe

Run it with ``kexue simsiam`` (``kexue/cli/simsiam.py``).
"""

from kexue.recipes.simsiam.ode import MODES, ToyTrajectory, conserved, simulate

__all__ = ["MODES", "ToyTrajectory", "conserved", "simulate"]
