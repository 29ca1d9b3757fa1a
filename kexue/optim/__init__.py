"""kexue.optim: AdaX, AdaFactor and the bert4keras-style optimizer wrappers.

Every ``extend_with_*`` takes a ``torch.optim.Optimizer`` class and returns a subclass; they
compose in any order (the innermost wrapper edits the update first). One module per method:

- :mod:`kexue.optim.adax`  AdaX (kexue.fm/archives/7387)
- :mod:`kexue.optim.adafactor`  AdaFactor (kexue.fm/archives/7302)
- :mod:`kexue.optim.weight_decay`, :mod:`~kexue.optim.layer_adaptation`,
  :mod:`~kexue.optim.piecewise_linear`, :mod:`~kexue.optim.gradient_accumulation`,
  :mod:`~kexue.optim.lookahead`, :mod:`~kexue.optim.lazy_optimization`,
  :mod:`~kexue.optim.exponential_moving_average`, :mod:`~kexue.optim.parameter_wise_lr`
"""

from kexue.optim.adafactor import AdaFactor
from kexue.optim.adax import AdaX
from kexue.optim.exponential_moving_average import extend_with_exponential_moving_average
from kexue.optim.gradient_accumulation import extend_with_gradient_accumulation
from kexue.optim.layer_adaptation import extend_with_layer_adaptation
from kexue.optim.lazy_optimization import extend_with_lazy_optimization
from kexue.optim.lookahead import extend_with_lookahead
from kexue.optim.parameter_wise_lr import extend_with_parameter_wise_lr
from kexue.optim.piecewise_linear import extend_with_piecewise_linear_lr, piecewise_linear
from kexue.optim.weight_decay import extend_with_weight_decay

__all__ = [
    "AdaFactor",
    "AdaX",
    "extend_with_exponential_moving_average",
    "extend_with_gradient_accumulation",
    "extend_with_layer_adaptation",
    "extend_with_lazy_optimization",
    "extend_with_lookahead",
    "extend_with_parameter_wise_lr",
    "extend_with_piecewise_linear_lr",
    "extend_with_weight_decay",
    "piecewise_linear",
]
