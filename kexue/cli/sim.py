"""Sentence vectors: encode texts, evaluate on pair files, search a corpus (SimBERT/8321).

Usage:

    kexue sim encode [--model DIR] FILE -o VECTORS.npy [--pooling P3] [--whitening W.npz]
    kexue sim eval PAIRS.tsv [PAIRS.tsv ...] [--model DIR] [--pooling P3] [--whitening W.npz]
    kexue sim search --vectors VECTORS.npy --corpus FILE [--model DIR] [-k 10]
        [--index exact|hnsw] QUERY ...
    kexue sim whiten [--model DIR] FILE -o W.npz [--dim 64]
    kexue sim generate --model DIR TEXT [-n 20] [-k 5] [--pooling P1]
    kexue sim compare [--model DIR] TEXT TEXT [TEXT ...]

``encode`` writes one float32 row per input line, in input order (``VECTORS.npy``) and a
sidecar ``VECTORS.npy.json`` naming the model, pooling and whitening; ``search`` refuses a
vectors file made by another model, pooling, whitening or dimension. ``eval`` prints
Spearman x100 between the cosines and the labels of any senteval_cn-format file
(``sentence1 TAB sentence2 TAB label``). ``generate`` samples SimBERT-style paraphrases from a
UniLM-trained model and ranks them by cosine. ``compare`` prints the cosine of the first text
with each of the others. ``--model`` defaults to the shipped similarity model kexue-sim-mini-zh.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kexue.cli._exitcodes import (
    OK,
    RUNTIME_ERROR,
    USAGE_ERROR,
    UsageError,
    check_input_file,
    check_output_file,
    did_you_mean,
    positive_int,
)

#: the shipped model ``--model`` defaults to
DEFAULT_MODEL = "kexue-sim-mini-zh"

_SUBCOMMANDS = ("encode", "eval", "search", "whiten", "generate", "compare")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None,
                   help="model directory (config.json, model.safetensors, vocab.txt); "
                        "default: the shipped similarity model kexue-sim-mini-zh")
    p.add_argument("--pooling", default=None,
                   help="P1 (cls), P2 (pooler), P3 (last-avg), P4 (first-last-avg); default: "
                        "the model's similarity.json, else P3")
    p.add_argument("--whitening", default=None, help="a whitening file from `kexue sim whiten`")
    p.add_argument("--maxlen", type=positive_int, default=None,
                   help="tokens per text (default: the model's similarity.json, else 64)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="texts per batch (64)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="CPU threads (default: kexue.threads rule)")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kexue sim", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("encode", help="one vector per input line -> .npy")
    e.add_argument("file", help="texts, one a line")
    e.add_argument("-o", "--output", required=True, help="VECTORS.npy to write")
    _common(e)
    v = sub.add_parser("eval", help="Spearman x100 on senteval_cn-format pair files")
    v.add_argument("pairs", nargs="+", help="sentence1 TAB sentence2 TAB label files")
    _common(v)
    s = sub.add_parser("search", help="nearest corpus lines of each query (exact or HNSW)")
    s.add_argument("queries", nargs="+", help="query texts")
    s.add_argument("--vectors", required=True, help="the corpus's VECTORS.npy")
    s.add_argument("--corpus", required=True, help="the corpus text file the vectors came from")
    s.add_argument("-k", "--top-k", type=positive_int, default=10, help="neighbours (10)")
    s.add_argument("--index", choices=("exact", "hnsw"), default="exact",
                   help="exact: blocked matrix products, no approximation (default); hnsw: "
                        "faiss's approximate graph index (pip install 'kexue[ann]')")
    _common(s)
    w = sub.add_parser("whiten", help="fit BERT-whitening on the texts of a file")
    w.add_argument("file", help="texts, one a line")
    w.add_argument("-o", "--output", required=True, help="whitening .npz to write")
    w.add_argument("--dim", type=positive_int, default=None, help="components kept (all)")
    _common(w)
    g = sub.add_parser("generate", help="SimBERT-style paraphrases (UniLM sampling + cosine)")
    g.add_argument("text", help="the sentence to paraphrase")
    g.add_argument("-n", "--samples", type=positive_int, default=20, help="samples drawn (20)")
    g.add_argument("-k", "--keep", type=positive_int, default=5, help="best kept (5)")
    g.add_argument("--top-k", type=positive_int, default=5, help="top-k sampling (5)")
    g.add_argument("--seed", type=int, default=0, help="sampling seed (0)")
    _common(g)
    c = sub.add_parser("compare", help="cosine of the first text with each of the others")
    c.add_argument("texts", nargs="+", help="two or more texts")
    _common(c)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-") and argv[0] not in _SUBCOMMANDS:
        print(f"kexue sim: error: unknown command {argv[0]!r}"
              f"{did_you_mean(argv[0], _SUBCOMMANDS)}; one of {', '.join(_SUBCOMMANDS)}",
              file=sys.stderr)
        return USAGE_ERROR
    args = _parser().parse_args(argv)
    try:
        _check(args)
    except UsageError as err:
        print(f"kexue sim {args.cmd}: error: {err}", file=sys.stderr)
        return USAGE_ERROR
    try:
        return {"encode": _encode, "eval": _eval, "search": _search, "whiten": _whiten,
                "generate": _generate, "compare": _compare}[args.cmd](args)
    except (ValueError, OSError, UnicodeDecodeError, ImportError) as err:
        msg = str(err) or type(err).__name__
        if isinstance(err, OSError) and err.strerror and err.filename:
            msg = f"{err.filename}: {err.strerror}"
        print(f"kexue sim {args.cmd}: error: {msg}", file=sys.stderr)
        return RUNTIME_ERROR


def _check(args: argparse.Namespace) -> None:
    from kexue.similarity.pooling import canonical

    try:
        if args.pooling is not None:
            canonical(args.pooling)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.model is not None:
        d = Path(args.model)
        if not d.is_dir():
            raise UsageError(f"model directory not found: {args.model}")
        if not (d / "vocab.txt").is_file() or not (d / "config.json").is_file():
            raise UsageError(f"{args.model} is not a model directory (needs config.json and "
                             f"vocab.txt)")
    if args.whitening is not None:
        check_input_file(args.whitening, "whitening file")
    if args.cmd in ("encode", "whiten"):
        check_input_file(args.file)
        check_output_file(args.output)
    elif args.cmd == "eval":
        for f in args.pairs:
            check_input_file(f, "pair file")
    elif args.cmd == "search":
        check_input_file(args.vectors, "vectors file")
        check_input_file(args.corpus, "corpus file")


def _model_dir(args: argparse.Namespace) -> tuple[Path, str | None]:
    import kexue

    if args.model is not None:
        return Path(args.model), None
    return kexue.assets.path(DEFAULT_MODEL), kexue.assets.family(DEFAULT_MODEL)


def _encoder(args: argparse.Namespace):
    from kexue.similarity.encoder import SentenceEncoder
    from kexue.threads import set_threads

    set_threads(args.threads)
    path, family = _model_dir(args)
    return SentenceEncoder.from_pretrained(path, args.pooling, family=family,
                                           maxlen=args.maxlen, whitening=args.whitening)


def _meta(args: argparse.Namespace, enc) -> dict:
    from kexue.similarity.search import model_fingerprint

    path, _ = _model_dir(args)
    white = None
    if args.whitening is not None:
        white = model_fingerprint_file(args.whitening)
    return {"model": str(path.resolve()), "model_fingerprint": model_fingerprint(path),
            "pooling": enc.pooling, "whitening": white, "maxlen": enc.maxlen}


def model_fingerprint_file(path: str) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _texts(path: str) -> list[str]:
    from kexue.io.lines import read_lines

    out = []
    for n, raw in enumerate(read_lines(path), 1):
        try:
            line = raw.decode("utf-8").rstrip("\n").rstrip("\r")
        except UnicodeDecodeError:
            raise ValueError(f"{path}:{n}: not valid UTF-8") from None
        if not line.strip():
            raise ValueError(f"{path}:{n}: empty line (an empty sentence has no vector)")
        out.append(line)
    if not out:
        raise ValueError(f"{path} holds no text")
    return out


def _encode(args: argparse.Namespace) -> int:
    from kexue.similarity.search import save_vectors

    texts = _texts(args.file)
    enc = _encoder(args)
    vecs = enc.encode(texts, args.batch_size)
    save_vectors(args.output, vecs, _meta(args, enc))
    print(f"{args.output}: {vecs.shape[0]} x {vecs.shape[1]} float32 ({enc.pooling}"
          f"{', whitened' if enc.whitening is not None else ''})", file=sys.stderr)
    return OK


def _whiten(args: argparse.Namespace) -> int:
    from kexue.similarity.whitening import Whitening

    if args.whitening is not None:
        raise ValueError("--whitening makes no sense when fitting one")
    texts = _texts(args.file)
    enc = _encoder(args)
    w = Whitening.fit(enc.encode(texts, args.batch_size), args.dim)
    w.save(args.output)
    print(f"{args.output}: whitening {w.dim} -> {w.n_components} fitted on {len(texts)} "
          f"texts ({enc.pooling})", file=sys.stderr)
    return OK


def _eval(args: argparse.Namespace) -> int:
    from kexue.similarity.data import read_pairs
    from kexue.similarity.evaluate import spearman_pairs

    sets = [(f, read_pairs(f)) for f in args.pairs]  # bad files fail before the model loads
    enc = _encoder(args)
    for f, pairs in sets:
        rho = spearman_pairs(lambda s: enc.encode(s, args.batch_size), pairs)
        print(f"{f}\t{len(pairs)} pairs\tSpearman x100 = {rho:.2f}")
    return OK


def _compare(args: argparse.Namespace) -> int:
    from kexue.similarity.encoder import check_texts
    from kexue.similarity.metrics import cosine

    texts = check_texts(args.texts)
    if len(texts) < 2:
        raise ValueError("compare needs at least two texts: the first is compared with the rest")
    enc = _encoder(args)
    v = enc.encode(texts, args.batch_size)
    for text, cos in zip(texts[1:], cosine(v[[0] * (len(texts) - 1)], v[1:]), strict=True):
        print(f"{cos:.4f}\t{texts[0]}\t{text}")
    return OK


def _search(args: argparse.Namespace) -> int:
    from kexue.similarity.encoder import check_texts
    from kexue.similarity.search import HNSWIndex, load_vectors, topk_cosine

    queries = check_texts(args.queries, "query")
    corpus = _texts(args.corpus)
    enc = _encoder(args)
    meta = _meta(args, enc)
    vecs, _ = load_vectors(args.vectors, dim=enc.dim, expect={
        k: meta[k] for k in ("model_fingerprint", "pooling", "whitening", "maxlen")})
    if vecs.shape[0] != len(corpus):
        raise ValueError(f"{args.vectors} holds {vecs.shape[0]} vectors but {args.corpus} has "
                         f"{len(corpus)} lines: not the file they were encoded from")
    q = enc.encode(queries, args.batch_size)
    if args.index == "hnsw":
        scores, index = HNSWIndex(vecs).search(q, args.top_k)
    else:
        scores, index = topk_cosine(q, vecs, args.top_k)
    for q, srow, irow in zip(queries, scores, index, strict=True):
        print(f"# {q}")
        for r, (s, i) in enumerate(zip(srow, irow, strict=True), 1):
            print(f"{r}\t{s:.4f}\t{i + 1}\t{corpus[i]}")
    return OK


def _generate(args: argparse.Namespace) -> int:
    from kexue.models import build_transformer_model
    from kexue.similarity.encoder import read_settings
    from kexue.similarity.generate import similar_sentences
    from kexue.text import Tokenizer
    from kexue.threads import set_threads

    if args.whitening is not None:
        raise ValueError("generate ranks by the model's own cosine: --whitening is not used")
    set_threads(args.threads)
    path, family = _model_dir(args)
    saved = read_settings(path)
    model = build_transformer_model(checkpoint_path=path, model=family, application="unilm",
                                    ignore=r"^cls\.seq_relationship\.")
    for text, score in similar_sentences(model, Tokenizer(path / "vocab.txt"), args.text,
                                         n=args.samples, k=args.keep, top_k=args.top_k,
                                         maxlen=args.maxlen or saved.get("maxlen", 32),
                                         seed=args.seed,
                                         pooling=args.pooling or saved.get("pooling", "P1")):
        print(f"{score:.4f}\t{text}")
    return OK
