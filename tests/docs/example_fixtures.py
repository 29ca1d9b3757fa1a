"""The files the README's and docs' examples name, written on the fly into a scratch folder.

Tiny random checkpoints in the HF format (``bert_dir`` with the MLM/NSP heads and pooler,
``gpt2_dir``, ``t5_dir``), the Google Chinese vocabulary from shared data as ``vocab.txt`` and
a few small text files (``raw.txt``, ``gold.txt``, ``corpus.jsonl``...). Nothing is downloaded.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
VOCAB = REPO.parent / "shared" / "data" / "vocab" / "google_zh_vocab.txt"
if not VOCAB.is_file():  # a worktree beside the main checkout
    VOCAB = Path("/work/shared/data/vocab/google_zh_vocab.txt")
GOLD = ["今天 天气 不错", "科学 空间 的 文章", "我们 一起 去 公园 散步 吧"] * 40

TINY_BERT = {"vocab_size": 21128, "hidden_size": 16, "num_hidden_layers": 2,
             "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 128}
TINY_GPT2 = {"vocab_size": 64, "n_positions": 128, "n_embd": 16, "n_layer": 2, "n_head": 2}
TINY_T5 = {"vocab_size": 64, "d_model": 16, "d_kv": 8, "d_ff": 32, "num_layers": 2,
           "num_heads": 2}


def write_fixtures(folder: Path) -> Path:
    """Fill ``folder`` with every file the examples read; returns it."""
    from kexue.models import build_transformer_model, save_pretrained

    torch.manual_seed(0)
    shutil.copyfile(VOCAB, folder / "vocab.txt")
    bert = build_transformer_model(TINY_BERT, with_pool=True, with_nsp=True, with_mlm=True)
    save_pretrained(bert, folder / "bert_dir", vocab=folder / "vocab.txt")
    save_pretrained(build_transformer_model(TINY_GPT2, model="gpt2", application="lm"),
                    folder / "gpt2_dir")
    save_pretrained(build_transformer_model(TINY_T5, model="t5"), folder / "t5_dir")
    (folder / "gold.txt").write_text("\n".join(GOLD) + "\n", encoding="utf-8")
    (folder / "raw.txt").write_text("\n".join(g.replace(" ", "") for g in GOLD) + "\n",
                                    encoding="utf-8")
    for name in ("corpus.txt", "corpus1.txt", "corpus2.txt"):
        shutil.copyfile(folder / "raw.txt", folder / name)
    corpus = folder / "corpus"
    corpus.mkdir()
    for name in ("a", "b"):
        lines = [json.dumps({"id": f"{name}{i}"}) for i in range(50)]
        (corpus / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copyfile(corpus / "a.jsonl", folder / "corpus.jsonl")
    return folder
