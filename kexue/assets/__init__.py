"""kexue's own pretrained models, shipped inside the package (trained here: issue 24).

``kexue.assets.path(NAME)`` is the HF-format directory of a shipped model, so a user never
needs to know where the package lives::

    import kexue
    from kexue.models import build_transformer_model
    from kexue.text import Tokenizer

    mlm = build_transformer_model(checkpoint_path=kexue.assets.path("kexue-mini-zh"),
                                  model="roformer", with_mlm=True, with_nsp=True)
    tokenizer = Tokenizer(kexue.assets.path("kexue-mini-zh") / "vocab.txt")

Each model directory holds ``config.json``, ``model.safetensors`` (float16), ``vocab.txt``
and ``README.md`` (its model card: data, config, steps, tokens seen, wall time, machine,
held-out metrics, the exact command). ``kexue.assets.family(NAME)`` is the ``model=`` to
pass. A model whose pretraining has not finished is listed but not shipped yet:
:func:`path` then says so.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["path", "family", "available", "MODELS"]

_ROOT = Path(__file__).resolve().parent

#: every model kexue ships (or will ship): name -> (family, one-line description)
MODELS: dict[str, tuple[str, str]] = {
    "kexue-mini-zh": ("roformer", "char-level RoFormer 4 x 256, whole-word MLM + NSP heads"),
    "kexue-mini-zh-char": ("roformer", "as kexue-mini-zh, character (not whole-word) masking"),
    "kexue-gpt-mini-zh": ("gpt2", "GPT-2 layout 4 x 256, same vocabulary, causal LM"),
    "kexue-sim-mini-zh": ("roformer", "kexue-mini-zh fine-tuned as a sentence encoder "
                          "(kexue sim; similarity.json names its pooling)"),
    "kexue-mwp-mini-zh": ("roformer", "kexue-mini-zh fine-tuned as the UniLM maths "
                          "word-problem solver (kexue mwp; mwp.json holds its settings)"),
    "kexue-xiangqi": ("gpt2", "chess GPT-2 4 x 128 over ICCS moves (20 tokens), kexue chess"),
}


def _check(name: str) -> None:
    if name not in MODELS:
        raise ValueError(f"unknown kexue model {name!r}; known: {sorted(MODELS)}")


def family(name: str) -> str:
    """The ``model=`` family of a shipped model (``"roformer"``, ``"gpt2"``)."""
    _check(name)
    return MODELS[name][0]


def available() -> list[str]:
    """Names of the models shipped in this installation."""
    return [n for n in MODELS if (_ROOT / n / "model.safetensors").is_file()]


def path(name: str) -> Path:
    """The HF-format directory of the shipped model ``name``.

    Raises ``ValueError`` for an unknown name and ``FileNotFoundError`` when the model is
    not shipped (yet) in this installation."""
    _check(name)
    d = _ROOT / name
    if not (d / "model.safetensors").is_file():
        raise FileNotFoundError(
            f"kexue model {name!r} is not shipped in this installation ({d} has no "
            f"model.safetensors): its pretraining is not finished; see docs/pretraining.md "
            f"to train it with `kexue pretrain`")
    return d
