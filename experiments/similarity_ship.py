"""Ship a trained sentence encoder as ``kexue/assets/kexue-sim-mini-zh`` with its model card.

    python experiments/similarity_ship.py --model runs/sim/models/classifier \
        [--record results/similarity.jsonl]

``--model`` is a directory written by ``experiments/similarity_supervised.py RECIPE --save DIR``
(weights + ``similarity.json``). The weights are stored in float16; the shipped directory is
then scored as a user loads it (float16 read into float32): Spearman x100 on the five whole dev
parts, the Sohu labelA F1 and 8541's demo pairs. The card's numbers come from that scoring and
from the training run's result record (the one whose command saved ``--model``), never typed
in. Refuses a model without its training record, or a directory over the 25 MB budget.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
NAME = "kexue-sim-mini-zh"
BUDGET = 25 * 2**20
#: kexue.fm/archives/8541's demo pairs and RoFormer-Sim-FT base's cosines
DEMO = (("今天天气不错", "今天天气很好", 0.977), ("今天天气不错", "今天天气不好", 0.624),
        ("我喜欢北京", "我很喜欢北京", 0.992), ("我喜欢北京", "我不喜欢北京", 0.529),
        ("给我推荐一款红色的车", "推荐一辆红车", 0.987),
        ("给我推荐一款红色的车", "给我推荐一款黑色的车", 0.719))
RECIPES = {"classifier": "the `[u, v, |u−v|]` classifier head of 8541 (binary cross-entropy; "
                         "STS-B binarised at > 2.5), cosine at inference",
           "cosine": "8541's cosine loss t(cos−1)² + (1−t)cos²",
           "cosent": "CoSENT (8847)",
           "simbert": "SimBERT (7427): UniLM generation of the paired sentence + in-batch "
                      "contrastive loss on [CLS] (scale 30)"}


def training_records(records: Path, model: Path) -> list[dict]:
    """The records of the training run that saved ``model`` (``--save model`` in its
    command)."""
    out = []
    for line in records.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        cmd = shlex.split(rec.get("command", ""))
        if "--save" in cmd and Path(cmd[cmd.index("--save") + 1]) == model:
            out.append(rec)
    return out


def score(model_dir: Path) -> tuple[dict[str, float], list[float]]:
    """Spearman x100 per whole dev part, the Sohu F1, and the demo cosines of a directory."""
    from kexue.recipes.similarity import train as T
    from kexue.similarity.data import default_root, read_sohu
    from kexue.similarity.encoder import SentenceEncoder
    from kexue.similarity.metrics import cosine

    enc = SentenceEncoder.from_pretrained(model_dir)
    setup = T.Setup(model_dir, None, dev_limit=10**9, log=lambda s: print(s, flush=True))
    out = T.evaluate_cosine(enc.encode, setup,
                            read_sohu(default_root() / "sohu2021" / "samples.txt"))
    a = enc.encode([x for x, _, _ in DEMO])
    b = enc.encode([y for _, y, _ in DEMO])
    return out, [float(c) for c in cosine(a, b)]


def card(settings: dict, train: list[dict], scores: dict, demo: list[float], size: int,
         params: int, commit: str, command: str, model_arg: str) -> str:
    from kexue.similarity.data import TASKS

    notes = train[0]["notes"]
    trained = {r["task"]: r["value"] for r in train if r.get("task")}
    lines = [
        f"# {NAME}",
        "",
        "kexue's sentence-similarity model (issue 18): the shipped `kexue-mini-zh` (a 4 x 256",
        f"RoFormer pretrained here) fine-tuned with {RECIPES[settings['recipe']]}",
        "(https://kexue.fm/archives/8541). It maps a sentence to a 256-dimensional vector",
        f"({settings['pooling']} pooling, at most {settings['maxlen']} tokens); the cosine of "
        "two vectors is their similarity.",
        "",
        "```bash",
        "kexue sim compare 今天天气不错 今天天气很好 今天天气不好",
        "kexue sim encode corpus.txt -o corpus.npy   # then kexue sim search",
        "```",
        "",
        "```python",
        "import kexue",
        "from kexue.similarity.encoder import SentenceEncoder",
        "",
        f'enc = SentenceEncoder.from_pretrained(kexue.assets.path("{NAME}"))',
        "```",
        "",
        "| | |",
        "|---|---|",
        f"| architecture | RoFormer, 4 layers x 256, 4 heads; {params:,} parameters "
        f"({size / 2**20:.1f} MB, float16 safetensors) |",
        f"| training | {notes} |",
        f"| data | {settings['pairs']:,} train pairs from the train parts of ATEC, BQ, LCQMC, "
        "PAWSX (first 80 % of each `*.valid.data`) and STS-B (`STS-B.train.data`): the fixed "
        "splits of CONVENTIONS §4 |",
        "| machine | 2-core x86-64 CPU, torch 2.13.0+cpu, one thread |",
        f"| code | kexue commit `{commit}` shipped this model |",
        "",
        "## Held-out numbers",
        "",
        "Spearman x100 of the cosines on the whole dev parts (never trained on: the last 20 % of",
        "each `*.valid.data`, STS-B's `valid`), measured on the shipped float16 weights; the",
        "article's RoFormer-Sim-FT (base, on the test splits, with far more data) beside them.",
        "",
        "| | " + " | ".join(TASKS) + " |",
        "|---|" + "---:|" * len(TASKS),
        "| this model | " + " | ".join(f"{scores[t]:.2f}" for t in TASKS) + " |",
        "| before shipping (float32, the training run) | "
        + " | ".join(f"{trained[t]:.2f}" if t in trained else "–" for t in TASKS) + " |",
        "| RoFormer-Sim-FT base (8541) | 51.71 | 73.48 | 79.56 | 62.84 | 78.28 |",
        "",
        f"Sohu 2021 `labelA` F1 (973 sample pairs, cosine threshold chosen on 300 LCQMC train "
        f"pairs): {scores['sohu_f1']:.4f}.",
        "",
        "8541's demo pairs (cosine; the article's RoFormer-Sim-FT base in brackets):",
        "",
        "| pair | cosine |",
        "|---|---:|",
    ]
    for (a, b, art), c in zip(DEMO, demo, strict=True):
        lines.append(f"| {a} / {b} | {c:.3f} ({art}) |")
    lines += [
        "",
        "## Limits",
        "",
        f"A 4-layer model trained on {settings['pairs']:,} pairs, far below a base model "
        "fine-tuned on the full data. It does not separate negations: "
        f"{DEMO[1][1]} is at cosine {demo[1]:.3f} from {DEMO[1][0]} and {DEMO[0][1]} at "
        f"{demo[0]:.3f} (the article: {DEMO[1][2]} and {DEMO[0][2]}); "
        f"{DEMO[3][1]} {demo[3]:.3f} vs {DEMO[2][1]} {demo[2]:.3f}. The article credits its "
        "negation sensitivity to NLI data, which is not available here.",
        "",
        "## Reproduce",
        "",
        "```bash",
        train[0]["command"],
        f"python experiments/similarity_ship.py --model {model_arg}" + command,
        "```",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    import torch

    from kexue.io.atomic import atomic_directory
    from kexue.recipes.records import git_commit, write_records
    from kexue.similarity.data import TASKS
    from kexue.similarity.encoder import SentenceEncoder, read_settings

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="a directory from similarity_supervised "
                    "--save")
    ap.add_argument("--records", default=str(REPO / "results" / "similarity.jsonl"))
    ap.add_argument("--record", default=None, help="append the shipped model's numbers here")
    ap.add_argument("--out", default=str(REPO / "kexue" / "assets" / NAME),
                    help="where to ship (default: the package's assets)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    model = Path(a.model)
    settings = read_settings(model)
    if settings.get("recipe") not in RECIPES:
        raise SystemExit(f"{model}: no similarity.json naming a shipped-able recipe")
    train = training_records(Path(a.records), model)
    if not train:
        raise SystemExit(f"no record in {a.records} of the run that saved {model}: train it "
                         "with experiments/similarity_supervised.py --save --record")
    commit = git_commit()
    enc = SentenceEncoder.from_pretrained(model)
    enc.model.half()
    params = sum(p.numel() for p in enc.model.parameters())
    with tempfile.TemporaryDirectory() as scratch:
        staged = enc.save_pretrained(Path(scratch) / NAME, **{
            k: v for k, v in settings.items() if k not in ("pooling", "maxlen")})
        size = sum(f.stat().st_size for f in staged.iterdir())
        if size > BUDGET:
            raise SystemExit(f"{model} is {size / 2**20:.1f} MB in float16, over 25 MB")
        scores, demo = score(staged)
        extra = f" --record {a.record}" if a.record else ""
        text = card(settings, train, scores, demo, size, params, commit, extra, a.model)
        (staged / "README.md").write_text(text, encoding="utf-8")
        with atomic_directory(a.out, overwrite=True) as tmp:
            for f in staged.iterdir():
                shutil.copyfile(f, Path(tmp) / f.name)
    print(f"shipped {NAME}: {size / 2**20:.1f} MB")
    if a.record:
        cmd = shlex.join(["python", "experiments/similarity_ship.py", *sys.argv[1:]])
        recs = [{"claim": f"shipped {NAME} Spearman x100 on {t} dev (all pairs)",
                 "value": round(scores[t], 2), "unit": "Spearman x100",
                 "data": f"shared/data/similarity ({t} dev part)", "split": "dev",
                 "table": "shipped", "task": t, "article": "8541",
                 "notes": f"float16 weights as shipped; recipe {settings['recipe']}"}
                for t in TASKS]
        recs.append({"claim": f"shipped {NAME} Sohu labelA F1", "value": round(
            scores["sohu_f1"], 4), "unit": "F1", "data": "shared/data/sohu2021/samples.txt",
            "split": "all", "table": "shipped", "task": "sohu_f1", "article": "8337"})
        recs += [{"claim": f"shipped {NAME} cosine of {x} / {y}", "value": round(c, 4),
                  "unit": "cosine", "data": "8541's demo pairs", "split": "demo",
                  "table": "shipped-demo", "article": "8541", "article_value": art}
                 for (x, y, art), c in zip(DEMO, demo, strict=True)]
        write_records(a.record, recs, cmd, commit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
