"""Few-shot PET vs fine-tuning a classifier head on the same labels (https://kexue.fm/archives/7764),
FewCLUE ``train_few_all`` -> ``dev_few_all``, several seeds.

    python experiments/prompting_fewshot.py --task eprstmt --seeds 0,1,2 --epochs 3 --maxlen 32 \\
        --out /work/runs/issue17-prompting/fewshot-eprstmt.json --record results/prompting.jsonl

PET: :func:`kexue.prompting.pet_finetune` (MLM loss at the mask + 15 % random masking) with
the task's pattern, scored with :class:`~kexue.prompting.MLMClassifier`. Head: a linear layer
on the pooled ``[CLS]`` output, the whole model trained with cross-entropy through
:func:`kexue.train.fit`. Same model, labels, epochs, learning rate, batch size and maxlen for
both. ``--eval-file`` scores any file of the same format (e.g. the held-back test_public);
``--out`` keeps finished runs so the same command resumes.

``--cv-epochs 3,10,30`` chooses each method's number of epochs without looking at the report
split (CONVENTIONS §4: FewCLUE has no dev split besides it): ``--folds``-fold cross-validation
on ``train_few_all`` alone (seed 0), the best mean fold accuracy wins, ties to fewer epochs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "experiments"))

from prompting_fewclue import DATA, METHOD_NAMES, article_value, chance  # noqa: E402


def run_pet(t, model_dir, train, dev, args, seed):
    from kexue.prompting import Pattern, Verbalizer, load_model, pet_finetune
    from kexue.prompting.fewclue import evaluate_pet

    model, tok = load_model(model_dir, with_mlm=True)
    verb = Verbalizer(t.words)
    pet_finetune(model, tok, Pattern(args.pattern or t.pattern), verb,
                 [e.text for e in train], [e.label for e in train],
                 [e.pair for e in train] if t.pair else None, epochs=args.epochs, lr=args.lr,
                 batch_size=args.batch_size, maxlen=args.maxlen, seed=seed)
    return evaluate_pet(t, model, tok, dev, pattern=args.pattern, maxlen=args.maxlen)


def run_head(t, model_dir, train, dev, args, seed):
    import torch

    from kexue.data.batching import sequence_padding
    from kexue.prompting import load_model
    from kexue.train import fit

    torch.manual_seed(seed)
    model, tok = load_model(model_dir, with_pool=True)
    head = torch.nn.Linear(model.config.hidden_size, len(t.labels))
    net = torch.nn.ModuleDict({"bert": model, "head": head})

    def encode(e):
        ids, seg = tok.encode(e.text, e.pair, maxlen=args.maxlen)
        return ids, seg

    data = [(*encode(e), t.labels.index(e.label)) for e in train]

    def collate(rows):
        pad = lambda xs: torch.from_numpy(sequence_padding(xs, value=0, dtype="int64"))  # noqa
        return {"ids": pad([r[0] for r in rows]), "seg": pad([r[1] for r in rows]),
                "mask": pad([[1] * len(r[0]) for r in rows]),
                "y": torch.tensor([r[2] for r in rows])}

    def logits(m, b):
        return m["head"](m["bert"](b["ids"], b["seg"], attention_mask=b["mask"]).pooled)

    def loss_fn(m, b):
        return torch.nn.functional.cross_entropy(logits(m, b), b["y"])

    fit(net, loss_fn, data, optimizer=torch.optim.Adam(net.parameters(), lr=args.lr),
        collate_fn=collate, batch_size=args.batch_size, epochs=args.epochs, seed=seed,
        progress=False, log_every=10_000)
    net.eval()
    correct = 0
    with torch.no_grad():
        test = [(*encode(e), t.labels.index(e.label)) for e in dev]
        for s in range(0, len(test), 32):
            b = collate(test[s:s + 32])
            correct += int((logits(net, b).argmax(-1) == b["y"]).sum())
    return correct / len(dev)


def choose_epochs(method, t, model_dir, train, args, candidates, folds):
    """``(best epochs, {epochs: mean fold accuracy})`` by k-fold CV on the training labels."""
    import random

    order = list(range(len(train)))
    random.Random(0).shuffle(order)
    parts = [order[i::folds] for i in range(folds)]
    run = {"pet": run_pet, "head": run_head}[method]
    means = {}
    for epochs in candidates:
        accs = []
        for held in parts:
            fit_on = [train[i] for i in order if i not in held]
            sub = argparse.Namespace(**{**vars(args), "epochs": epochs})
            accs.append(run(t, model_dir, fit_on, [train[i] for i in held], sub, 0))
        means[epochs] = sum(accs) / len(accs)
        print(f"cv {method} epochs {epochs}: {means[epochs]:.3f} {accs}", flush=True)
    best = max(candidates, key=lambda e: (means[e], -e))
    return best, means


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="kexue-mini-zh")
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--task", default="eprstmt")
    p.add_argument("--methods", default="pet,head")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--maxlen", type=int, default=32)
    p.add_argument("--pattern", default=None, help="PET pattern (default: the task's)")
    p.add_argument("--eval-file", default=None, help="default: TASK/dev_few_all.json")
    p.add_argument("--cv-epochs", default=None,
                   help="comma-separated candidates; each method's epochs chosen by CV on train")
    p.add_argument("--folds", type=int, default=4)
    p.add_argument("--out", default=None)
    p.add_argument("--record", default=None)
    args = p.parse_args(argv)

    import torch

    import kexue
    from kexue.prompting import fewclue
    from kexue.recipes.records import git_commit, write_records

    torch.set_num_threads(1)
    commit = git_commit(ROOT)
    model_dir = Path(args.model) if Path(args.model).is_dir() else kexue.assets.path(args.model)
    t = fewclue.task(args.task, args.data)
    train = fewclue.read(t, Path(args.data) / args.task / "train_few_all.json")
    eval_file = Path(args.eval_file or Path(args.data) / args.task / "dev_few_all.json")
    dev = fewclue.read(t, eval_file)
    done = json.loads(Path(args.out).read_text()) if args.out and Path(args.out).exists() else {}
    epochs = {m: args.epochs for m in args.methods.split(",")}
    cv = {}
    if args.cv_epochs:
        for method in args.methods.split(","):
            key = f"cv/{method}"
            if key not in done:
                best, means = choose_epochs(method, t, model_dir, train, args,
                                            [int(e) for e in args.cv_epochs.split(",")],
                                            args.folds)
                done[key] = {"epochs": best, "fold_accuracy": {str(k): round(v, 4)
                                                               for k, v in means.items()}}
                if args.out:
                    from kexue.io.atomic import write_text
                    write_text(args.out, json.dumps(done, indent=1))
            epochs[method] = done[key]["epochs"]
            cv[method] = done[key]["fold_accuracy"]
    seeds = [int(s) for s in args.seeds.split(",")]
    for seed in seeds:  # seed-major: pairs finish together
        for method in args.methods.split(","):
            key = f"{method}/{seed}"
            if key in done:
                continue
            start = time.time()
            run = {"pet": run_pet, "head": run_head}[method]
            sub = argparse.Namespace(**{**vars(args), "epochs": epochs[method]})
            done[key] = {"accuracy": run(t, model_dir, train, dev, sub, seed),
                         "seconds": round(time.time() - start, 1)}
            print(key, done[key], flush=True)
            if args.out:
                from kexue.io.atomic import write_text
                write_text(args.out, json.dumps(done, indent=1))
    records = []
    for method in args.methods.split(","):
        accs = [100 * v["accuracy"] for k, v in done.items()
                if k.startswith(method + "/") and int(k.split("/")[1]) in seeds]
        mean = statistics.mean(accs)
        std = statistics.stdev(accs) if len(accs) > 1 else 0.0
        print(f"{METHOD_NAMES[method + '-few' if method == 'pet' else method]}: "
              f"{mean:.2f} ± {std:.2f} (n={len(accs)}; chance {chance(args.task):.1f})")
        m = "pet-few" if method == "pet" else "head"
        rec = {"claim": f"few-shot {METHOD_NAMES[m]} accuracy on FewCLUE {args.task} "
                        f"{eval_file.stem} with {model_dir.name}",
               "value": {"mean": round(mean, 2), "std": round(std, 2), "n": len(accs)},
               "unit": "accuracy %", "data": f"shared/data/fewclue/{args.task}/{eval_file.name}",
               "split": f"train_few_all -> {eval_file.stem}", "fewclue_task": args.task,
               "method": m, "model": model_dir.name, "chance": round(chance(args.task), 2),
               "notes": f"seeds {args.seeds}; epochs {epochs[method]}"
                        + (f" (chosen by {args.folds}-fold CV on train_few_all among "
                           f"{args.cv_epochs}: mean fold accuracy {cv[method]})"
                           if method in cv else "")
                        + f", lr {args.lr}, batch {args.batch_size}, maxlen {args.maxlen}; "
                        f"per seed {[round(a, 2) for a in accs]}"}
        art = article_value(m, args.task) if m == "pet-few" else article_value(
            "RoBERTa fine-tune (few-shot)", args.task)
        if art is not None:
            rec.update(article="8671", article_value=art)
            rec["notes"] += "; article: base-size model on test_public"
        records.append(rec)
    if args.record:
        command = "python experiments/prompting_fewshot.py " + " ".join(
            argv if argv is not None else sys.argv[1:])
        write_records(args.record, records, command, commit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
