"""kexue.objectives: losses, regularizers, adversarial training and small numerical methods.

One module per method family (see docs/objectives.md):

- ``flooding``                 flooding ``|L - b| + b`` (7643)
- ``imbalance``                logit adjustment, class weights, focal, smooth F1 (7615, 7708)
- ``multilabel``               multilabel categorical cross-entropy, dense and sparse (7359)
- ``am_softmax``               AM-Softmax loss and the cosine classifier head (5743)
- ``sparse_softmax``           sparse softmax / sparse CE over the top-k, decode mask (8046)
- ``nce``                      NCE and negative-sampling losses (5617)
- ``teaforn``                  TeaForN nested teacher forcing (7818)
- ``embedding``                find a model's embedding layer, perturb its output
- ``adversarial``              FGM (global / per-sample) and VAT (7234, 7466)
- ``gradient_penalty``         gradient penalty on inputs / embeddings (7234)
- ``noise``                    Gaussian noise and the Rademacher Jacobian penalty (7466)
- ``gradient_regularization``  explicit gradient regularization on parameters (7787)
- ``adversarial_validation``   train-vs-test discriminator, importance weights, sampling (7805)
- ``estimators``               policy-gradient and zeroth-order gradient estimators (7737)
- ``squareplus``               SquarePlus activation (8833)
- ``mitchell``                 Mitchell approximate multiply / divide (7991)
- ``vae``                      Gaussian KL and the naive code regulariser of a VAE (7725)
- ``siamese``                  SimSiam negative cosine and BYOL normalised MSE (7980)
"""

from .adversarial import FGM, VAT, kl_divergence_from_logits
from .adversarial_validation import (
    balanced_batches,
    discriminator_probabilities,
    importance_weights,
    roc_auc,
    sample_validation,
)
from .am_softmax import AMSoftmaxLoss, CosineClassifier, am_softmax_loss
from .embedding import embedding_offset, find_embedding
from .estimators import policy_gradient_loss, zeroth_order_gradient
from .flooding import Flooding, flooding
from .gradient_penalty import gradient_penalty
from .gradient_regularization import gradient_regularized_backward, parameter_gradient_norm
from .imbalance import (
    FocalLoss,
    LogitAdjustedCrossEntropy,
    SmoothF1CrossEntropy,
    class_weighted_cross_entropy,
    class_weights,
    focal_loss,
    logit_adjusted_cross_entropy,
    logit_adjustment,
    prior_from_counts,
    smooth_f1,
    smooth_f1_cross_entropy,
    smooth_macro_f1,
    smoothed_accuracy,
    softmax_focal_loss,
)
from .mitchell import mitchell_divide, mitchell_multiply
from .multilabel import (
    MultilabelCategoricalCrossentropy,
    multilabel_categorical_crossentropy,
    sparse_multilabel_categorical_crossentropy,
)
from .nce import nce_loss, negative_sampling_loss
from .noise import GaussianNoise, embedding_noise, jacobian_penalty
from .siamese import byol_loss, negative_cosine, simsiam_loss
from .sparse_softmax import (
    SparseCrossEntropy,
    sparse_cross_entropy,
    sparse_softmax,
    topk_logit_mask,
)
from .squareplus import SOFTPLUS_MINIMAX_B, SOFTPLUS_UPPER_BOUND_B, SquarePlus, squareplus
from .teaforn import teaforn_logits, teaforn_loss
from .vae import gaussian_kl, naive_code_regularizer

__all__ = [
    "AMSoftmaxLoss",
    "CosineClassifier",
    "FGM",
    "Flooding",
    "FocalLoss",
    "GaussianNoise",
    "LogitAdjustedCrossEntropy",
    "MultilabelCategoricalCrossentropy",
    "SOFTPLUS_MINIMAX_B",
    "SOFTPLUS_UPPER_BOUND_B",
    "SmoothF1CrossEntropy",
    "SparseCrossEntropy",
    "SquarePlus",
    "VAT",
    "am_softmax_loss",
    "balanced_batches",
    "class_weighted_cross_entropy",
    "class_weights",
    "discriminator_probabilities",
    "embedding_noise",
    "embedding_offset",
    "find_embedding",
    "flooding",
    "focal_loss",
    "gradient_penalty",
    "gradient_regularized_backward",
    "importance_weights",
    "jacobian_penalty",
    "kl_divergence_from_logits",
    "logit_adjusted_cross_entropy",
    "logit_adjustment",
    "mitchell_divide",
    "mitchell_multiply",
    "multilabel_categorical_crossentropy",
    "nce_loss",
    "negative_sampling_loss",
    "parameter_gradient_norm",
    "policy_gradient_loss",
    "prior_from_counts",
    "roc_auc",
    "sample_validation",
    "smooth_f1",
    "smooth_f1_cross_entropy",
    "smooth_macro_f1",
    "smoothed_accuracy",
    "softmax_focal_loss",
    "sparse_cross_entropy",
    "sparse_multilabel_categorical_crossentropy",
    "sparse_softmax",
    "squareplus",
    "teaforn_logits",
    "teaforn_loss",
    "topk_logit_mask",
    "zeroth_order_gradient",
    "byol_loss",
    "negative_cosine",
    "simsiam_loss",
    "gaussian_kl",
    "naive_code_regularizer",
]
