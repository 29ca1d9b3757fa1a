import pytest
import torch
from torch import nn

from kexue.objectives import embedding_offset, find_embedding

from ._toy import toy


class TwoEmbeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.word = nn.Embedding(5, 3)
        self.pos = nn.Embedding(7, 3)
        self.lin = nn.Linear(3, 3)


def test_find_by_uniqueness_name_or_module():
    model, _, _ = toy()
    assert find_embedding(model) is model.tok
    assert find_embedding(model.tok) is model.tok
    two = TwoEmbeddings()
    assert find_embedding(two, "pos") is two.pos
    with pytest.raises(ValueError, match="word, pos"):
        find_embedding(two)
    with pytest.raises(ValueError, match="no submodule"):
        find_embedding(two, "nope")
    with pytest.raises(TypeError, match="not nn.Embedding"):
        find_embedding(two, "lin")
    with pytest.raises(ValueError, match="no nn.Embedding"):
        find_embedding(nn.Linear(2, 2))


def test_offset_hook_is_removed_even_after_error():
    model, ids, _ = toy()
    clean = model(ids)
    with pytest.raises(RuntimeError), embedding_offset(model.tok, lambda i, o: torch.ones_like(o)):
        assert not torch.equal(model(ids), clean)
        raise RuntimeError("boom")
    assert torch.equal(model(ids), clean)
    with (
        pytest.raises(ValueError, match="same batch"),
        embedding_offset(model.tok, lambda i, o: torch.zeros(1)),
    ):
        model(ids)
