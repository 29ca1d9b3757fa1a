"""Domain pretraining: a checkpoint continued with a vocabulary built for a new corpus."""

from __future__ import annotations

import pytest
import torch

from kexue.cli.vocab import main as vocab_main
from kexue.models import build_transformer_model, save_pretrained
from kexue.pretrain.config import load_config
from kexue.pretrain.model import build_pretrainer
from kexue.pretrain.run import base_vocab_path, carry_vocabulary, pretrain
from kexue.text.vocab import load_vocab

OLD = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "，", "。", "的", "天", "气", "今", "不",
       "错", "我", "们", "去", "公", "园", "a", "##b"]
DOC = ("今天天气不错，我们去公园散步。", "公园里的樱花开了，游客很多。",
       "天气预报说明天有雨，记得带伞。", "我们的 covid19 数据集有 2020 年的记录。")
TINY = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
            max_position_embeddings=64)

CONFIG = """
name = "domain"
[model]
family = "roformer"
checkpoint = "{checkpoint}"
[vocab]
path = "{vocab}"
simplified = false
{base}
[data]
train = ["{train}"]
valid = "{train}"
max_length = 32
whole_word = false
[objectives]
nsp = 1.0
[train]
batch_size = 2
steps = 2
warmup_steps = 1
checkpoint_every = 2
eval_every = 2
eval_examples = 4
threads = 1
log_every = 1
"""


@pytest.fixture
def domain(tmp_path):
    """A tiny random checkpoint with its vocab.txt, a corpus and its new char vocabulary."""
    torch.manual_seed(0)
    old = build_transformer_model({**TINY, "vocab_size": len(OLD)}, model="roformer",
                                  with_mlm=True, with_nsp=True)
    save_pretrained(old, tmp_path / "ckpt", vocab=OLD)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join("\n".join(DOC[i:] + DOC[:i]) for i in range(4)) + "\n",
                      encoding="utf-8")
    vocab = tmp_path / "vocab.txt"
    assert vocab_main(["build", str(corpus), "-o", str(vocab), "--min-count", "1", "-q"]) == 0
    return old, corpus, vocab


def _config(tmp_path, domain, base: str = "", checkpoint=None):
    _, corpus, vocab = domain
    path = tmp_path / "domain.toml"
    path.write_text(CONFIG.format(checkpoint=checkpoint or tmp_path / "ckpt", vocab=vocab,
                                  train=corpus, base=base), encoding="utf-8")
    return load_config(path)


def test_continuation_starts_from_the_carried_rows(tmp_path, domain):
    old, _, vocab = domain
    config = _config(tmp_path, domain)
    assert base_vocab_path(config) == str(tmp_path / "ckpt" / "vocab.txt")
    new_dict = load_vocab(vocab)
    carry = carry_vocabulary(config, new_dict)
    assert carry.known > 10 and "樱" in carry.unk_tokens and "##9" in carry.built
    model = build_pretrainer("roformer", {}, {"nsp": 1.0}, str(tmp_path / "ckpt"),
                             **carry.model_kwargs())
    rows, old_rows = model.model.embeddings.token.weight, old.embeddings.token.weight
    assert rows.shape[0] == len(new_dict)
    for token, i in new_dict.items():
        ids = carry.pieces[i]
        torch.testing.assert_close(rows[i], old_rows[ids].double().mean(0).float(),
                                   rtol=0, atol=0, msg=token)
    torch.testing.assert_close(model.head.bias, old.mlm.bias[[p[0] for p in carry.pieces]])


def test_pretrain_continues_a_checkpoint_on_a_new_vocabulary(tmp_path, domain):
    config = _config(tmp_path, domain)
    trainer = pretrain(config, tmp_path / "run", progress=False)
    assert trainer.step == 2
    out = tmp_path / "run" / "model"
    assert load_vocab(out / "vocab.txt") == load_vocab(domain[2])
    back = build_transformer_model(checkpoint_path=out, model="roformer", with_mlm=True,
                                   with_nsp=True)  # strict: every tensor is there
    assert back.embeddings.token.weight.shape[0] == len(load_vocab(domain[2]))
    report = back.load_report
    assert not report.unused and all(k.startswith("pooler.") for k in report.initialised)


def test_base_vocabulary_is_required_or_found(tmp_path, domain):
    (tmp_path / "ckpt" / "vocab.txt").rename(tmp_path / "old_vocab.txt")
    config = _config(tmp_path, domain)
    with pytest.raises(FileNotFoundError, match=r"no vocab\.txt beside it.*\[vocab\] base"):
        pretrain(config, tmp_path / "run1", progress=False)
    assert not (tmp_path / "run1" / "data").exists()  # refused before building anything
    config = _config(tmp_path, domain, base=f'base = "{tmp_path / "old_vocab.txt"}"')
    assert carry_vocabulary(config, load_vocab(domain[2])).known > 10
    path = tmp_path / "nock.toml"
    path.write_text('name = "x"\n[vocab]\npath = "v.txt"\nbase = "x.txt"\n'
                    '[data]\ntrain = ["a"]\nvalid = "b"\n[objectives]\nmlm = 1.0\n',
                    encoding="utf-8")
    with pytest.raises(ValueError, match=r"\[model\] checkpoint, which is missing"):
        load_config(path)
    path = tmp_path / "typo.toml"
    path.write_text('name = "x"\n[vocab]\npath = "v.txt"\nbse = "x.txt"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['bse'\] in \[vocab\]"):
        load_config(path)


def test_config_without_base_reads_as_before(tmp_path, domain):
    """``base`` is optional, not defaulted: a run started before it existed saved its config
    without it, and a resumed run refuses a config that reads differently."""
    config = _config(tmp_path, domain)
    assert set(config["vocab"]) == {"path", "simplified"}
    config = _config(tmp_path, domain, base='base = "x.txt"')
    assert config["vocab"]["base"] == "x.txt"
