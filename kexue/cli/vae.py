"""The geometric VAE (7725): AE vs. VAE vs. the naive regulariser on the digits, with figures.

Usage:

    kexue vae [--epochs 80] [--dim 2] [--pixel-std 0.2,0.707] [--img-dir docs/img]
              [--record results/recipes_classic_b.jsonl] [--json SUMMARY.json]

Trains the three variants (``ae``, ``vae``, ``naive``) on scikit-learn's 8x8 digits (fixed
80/20 split) at each decoder pixel std ``s`` (the squared error is weighted by 1/(2s²); the
article's unweighted loss is s = 0.707) and prints the reconstruction error on the report split,
the aggregated posterior's mean and covariance, the mean posterior σ, the share of N(0, I)
samples near a training code, and how close decoded N(0, I) samples come to real digits.
``--img-dir`` writes ``vae_codes.png`` (2-D codes: points vs. ellipses) and ``vae_samples.png``
(decoded prior samples), both for the first ``s``; they need ``--dim 2``.
"""

from __future__ import annotations

import argparse
import json
import sys

from kexue.cli._recipes import check_outputs, command_line, positive_float, positive_int, run_recipe


def _stds(text: str) -> list[float]:
    out = []
    for part in text.split(","):
        if part.strip():
            out.append(positive_float(part.strip()))
    if not out:
        raise argparse.ArgumentTypeError("--pixel-std needs at least one number")
    return out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kexue vae", description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=positive_int, default=80, help="epochs per model (80)")
    p.add_argument("--dim", type=positive_int, default=2, help="code dimension (2)")
    p.add_argument("--pixel-std", type=_stds, default=[0.2, 0.707],
                   help="comma list of decoder pixel stds s (default 0.2,0.707)")
    p.add_argument("--radius", type=positive_float, default=0.25,
                   help="coverage radius around the training codes (0.25)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--img-dir", default=None, help="folder for the two PNG figures")
    p.add_argument("--json", default=None, help="write the summary as JSON here")
    p.add_argument("--record", default=None, help="append result records to this JSON-lines file")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    return run_recipe("vae", lambda: _run(args, argv))


def _evaluate(model, d, radius: float, seed: int) -> dict:
    import numpy as np
    import torch

    from kexue.recipes.vae.geometry import code_stats, coverage, nearest_distance

    with torch.no_grad():
        mu, log_var = model.encode(torch.from_numpy(d.x_train))
        mu_t, _ = model.encode(torch.from_numpy(d.x_test))
        rec = float((model.decode(mu_t) - torch.from_numpy(d.x_test)).square().mean())
        g = torch.Generator().manual_seed(seed)
        samples = model.decode(torch.randn(500, model.dim, generator=g)).numpy()
    stats = code_stats(mu.numpy(), None if log_var is None else log_var.numpy())
    return {"reconstruction_mse": rec, "mean": stats.mean.tolist(), "cov": stats.cov.tolist(),
            "cov_error": stats.cov_error, "mean_norm": float(np.linalg.norm(stats.mean)),
            "mean_sigma": stats.mean_sigma.tolist(),
            "coverage": coverage(mu.numpy(), radius, seed=seed),
            "sample_nn_distance": nearest_distance(samples, d.x_train)}


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    import torch

    from kexue.io.atomic import write_text
    from kexue.recipes.digits import load_digits_split, require_sklearn
    from kexue.recipes.records import git_commit, write_records
    from kexue.recipes.vae.geometry import nearest_distance
    from kexue.recipes.vae.model import VARIANTS, train_autoencoder

    if args.img_dir is not None and args.dim != 2:
        raise ValueError("the figures show 2-D codes: use --dim 2 with --img-dir")
    check_outputs(args.img_dir, [args.json, args.record])
    require_sklearn()
    if args.img_dir is not None:
        from kexue.recipes.figures import pyplot

        pyplot()
    commit = git_commit()
    torch.set_num_threads(1)
    d = load_digits_split()
    baseline = nearest_distance(d.x_test, d.x_train)
    print(f"digits: {len(d.x_train)} train / {len(d.x_test)} report images, code dim {args.dim},"
          f" {args.epochs} epochs; real report images lie {baseline:.3f} (RMS) from their "
          f"nearest training image")
    print(f"{'s':>6} {'model':<6}{'rec MSE':>9}{'|mean|':>8}{'max|C-I|':>9}{'mean σ':>8}"
          f"{'cover':>7}{'sample NN':>10}")
    runs: dict[str, dict] = {}
    models = {}
    for s in args.pixel_std:
        for v in VARIANTS:
            m = train_autoencoder(v, d.x_train, dim=args.dim, epochs=args.epochs, pixel_std=s,
                                  seed=args.seed)
            r = _evaluate(m, d, args.radius, args.seed)
            runs[f"{v}@{s}"] = {"variant": v, "pixel_std": s, **r}
            if s == args.pixel_std[0]:
                models[v] = m
            sig = sum(r["mean_sigma"]) / len(r["mean_sigma"])
            print(f"{s:>6.3f} {v:<6}{r['reconstruction_mse']:>9.4f}{r['mean_norm']:>8.3f}"
                  f"{r['cov_error']:>9.3f}{sig:>8.3f}{r['coverage']:>7.3f}"
                  f"{r['sample_nn_distance']:>10.3f}")
    summary = {"real_nn_distance": baseline, "radius": args.radius, "runs": runs}
    if args.img_dir is not None:
        _figures(args.img_dir, models, d, args.pixel_std[0], args.seed)
    if args.json is not None:
        write_text(args.json, json.dumps(summary, indent=1) + "\n")
    if args.record is not None:
        write_records(args.record, _records(summary, args), command_line("vae", argv), commit)
    return 0


def _figures(img_dir: str, models: dict, d, s: float, seed: int) -> None:
    from pathlib import Path

    import numpy as np
    import torch
    from matplotlib.patches import Ellipse

    from kexue.recipes.figures import pyplot, save_png

    plt = pyplot()
    cmap = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, len(models), figsize=(4 * len(models), 4))
    pick = np.arange(0, len(d.x_test), 2)  # every other report image keeps the plot readable
    for ax, (v, m) in zip(axes, models.items()):
        with torch.no_grad():
            mu, log_var = m.encode(torch.from_numpy(d.x_test[pick]))
        mu = mu.numpy()
        colors = [cmap(int(c)) for c in d.y_test[pick]]
        if log_var is None:
            ax.scatter(mu[:, 0], mu[:, 1], s=6, c=colors)
        else:
            sd = np.exp(0.5 * log_var.numpy())
            for (x, y), (a, b), c in zip(mu, sd, colors):
                ax.add_patch(Ellipse((x, y), 2 * a, 2 * b, color=c, alpha=0.15, lw=0))
            ax.scatter(mu[:, 0], mu[:, 1], s=3, c=colors)
        for r in (1, 2):
            ax.add_patch(plt.Circle((0, 0), r, fill=False, ls="--", lw=0.8, color="grey"))
        lim = max(3.0, float(np.abs(mu).max()) * 1.05)
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", title=f"{v} (s = {s})")
    save_png(fig, Path(img_dir) / "vae_codes.png")

    fig, axes = plt.subplots(1, len(models), figsize=(3.2 * len(models), 3.4))
    for ax, (v, m) in zip(axes, models.items()):
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            imgs = m.decode(torch.randn(100, 2, generator=g)).numpy().reshape(10, 10, 8, 8)
        imgs = np.pad(imgs, ((0, 0), (0, 0), (0, 1), (0, 1)))  # a blank line between tiles
        grid = imgs.transpose(0, 2, 1, 3).reshape(90, 90)
        ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1)
        ax.set(title=f"{v}: decoded N(0, I)", xticks=[], yticks=[])
    save_png(fig, Path(img_dir) / "vae_samples.png")


def _records(s: dict, args: argparse.Namespace) -> list[dict]:
    data = "scikit-learn digits, fixed 80/20 split (kexue.recipes.digits)"
    recs = [{"claim": "VAE recipe: RMS pixel distance of a real report image to its nearest "
                      "training image (reference for the sample distances)",
             "article": "7725", "value": round(s["real_nn_distance"], 4), "unit": "RMS pixel",
             "data": data, "split": "report (20 %)"}]
    for r in s["runs"].values():
        v, ps = r["variant"], r["pixel_std"]
        base = f"{v}, code dim {args.dim}, pixel std s = {ps}"
        sig = ", ".join(f"{x:.3f}" for x in r["mean_sigma"])
        recs += [
            {"claim": f"{base}: max |cov - I| of the aggregated posterior (train codes)",
             "article": "7725", "value": round(r["cov_error"], 3), "unit": "abs. deviation",
             "data": data, "split": "train (80 %)",
             "notes": f"|mean| = {r['mean_norm']:.3f}; mean posterior sigma per axis {sig}; "
                      f"seed {args.seed}, {args.epochs} epochs"},
            {"claim": f"{base}: share of N(0, I) samples within {args.radius} of a training code",
             "article": "7725", "value": round(r["coverage"], 3), "unit": "fraction",
             "data": data, "split": "train (80 %)"},
            {"claim": f"{base}: RMS pixel distance of decoded N(0, I) samples to the nearest "
                      "training image", "article": "7725",
             "value": round(r["sample_nn_distance"], 4), "unit": "RMS pixel", "data": data,
             "split": "train (80 %)", "notes": "500 samples"},
            {"claim": f"{base}: reconstruction MSE per pixel of the report images (from mu)",
             "article": "7725", "value": round(r["reconstruction_mse"], 4),
             "unit": "MSE per pixel", "data": data, "split": "report (20 %)"},
        ]
    return recs
