"""Locate the embedding layer of any model and add offsets to its output (shared by the
adversarial, gradient-penalty, VAT and noise regularizers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from torch import Tensor, nn

__all__ = ["find_embedding", "embedding_offset"]


def find_embedding(model: nn.Module, name: str | None = None) -> nn.Embedding:
    """Return the ``nn.Embedding`` to perturb.

    ``model`` may be the embedding itself. Otherwise ``name`` is a submodule path
    (``model.get_submodule(name)``, e.g. ``"embeddings.token"`` for a kexue BERT); without
    ``name`` the model must contain exactly one ``nn.Embedding`` (a Transformer has token,
    position and segment embeddings, so pass ``name`` there).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected an nn.Module, got {type(model).__name__}")
    if isinstance(model, nn.Embedding) and name is None:
        return model
    if name is not None:
        try:
            sub = model.get_submodule(name)
        except AttributeError as err:
            raise ValueError(f"model has no submodule named {name!r}") from err
        if not isinstance(sub, nn.Embedding):
            raise TypeError(f"submodule {name!r} is a {type(sub).__name__}, not nn.Embedding")
        return sub
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Embedding)]
    if not found:
        raise ValueError("model contains no nn.Embedding; pass the embedding module or a name")
    if len(found) > 1:
        names = ", ".join(n for n, _ in found)
        raise ValueError(f"model has several nn.Embedding modules ({names}); pass name=...")
    return found[0][1]


@contextmanager
def embedding_offset(
    embedding: nn.Embedding, offset: Callable[[Tensor, Tensor], Tensor]
) -> Iterator[None]:
    """While active, every forward of ``embedding`` returns ``out + offset(ids, out)``.

    The weights are never touched, so nothing needs restoring; the hook is removed on exit,
    even after an exception. Only calls that go through the module's ``forward`` see the
    offset (a tied output projection that reads ``embedding.weight`` directly does not).
    """

    def hook(module: nn.Module, args: tuple, out: Tensor) -> Tensor:
        extra = offset(args[0], out)
        if extra.shape != out.shape:
            raise ValueError(
                f"embedding output has shape {tuple(out.shape)} but the perturbation has "
                f"{tuple(extra.shape)}; run the perturbed forward on the same batch"
            )
        return out + extra

    handle = embedding.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()
