"""AdaX in float32 for 2,000,000 consecutive steps of a constant gradient (the literal run).

    python experiments/optim_adax_two_million_steps.py [--steps 2000000] [--no-record]

AdaX's raw second-moment recursion ``v_t = (1 + b2) v_{t-1} + b2 g^2`` grows like
``(1 + b2)^t``, which overflows float32 after about 8.9e5 steps (b2 = 1e-4); ``kexue.optim.AdaX``
keeps the normalised ``v_hat`` instead (https://kexue.fm/archives/7387). This experiment makes
2,000,000 real ``AdaX.step`` calls from t = 1 with the constant gradient
``g = [1e-3, 1, 1e3, -5]`` and checks, as the test it replaces did:

- every parameter and state entry is finite (checked every 100,000 steps and at the end);
- ``m = g`` to 1e-5 relative, and ``v_hat = g^2`` up to the float32 rounding of 2M moving-average
  updates (allowed 2e-3 relative; the largest relative drift is recorded);
- the next update from the final state, taken at 0, is ``-lr g / (|g| + eps)`` to 1e-3.

The test suite keeps the short version (``tests/optim/test_adax.py``: 5,000 real steps, then
the real optimizer's counter moved to 8.8e5 ... 1,999,500 with 500 real steps after each, so the
last update is step 2,000,000). This one takes about a minute and a half on one core, which is
why it is not a test. Exits 1 if a check fails; otherwise appends a result record to
``results/optim.jsonl`` (unless ``--no-record``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kexue.optim import AdaX  # noqa: E402

COMMAND = "python experiments/optim_adax_two_million_steps.py"


def run(steps: int) -> dict:
    torch.set_num_threads(1)
    g = torch.tensor([1e-3, 1.0, 1e3, -5.0], dtype=torch.float32)
    p = torch.zeros(4, dtype=torch.float32, requires_grad=True)
    lr, eps = 1e-3, 1e-6
    opt = AdaX([p], lr=lr, betas=(0.9, 1e-4), eps=eps)
    p.grad = g.clone()
    start = time.perf_counter()
    done = 0
    while done < steps:
        chunk = min(100_000, steps - done)
        for _ in range(chunk):
            opt.step()
        done += chunk
        if not torch.isfinite(p).all():
            raise SystemExit(f"FAIL: parameter not finite after {done} steps")
    seconds = time.perf_counter() - start
    state = opt.state[p]
    assert state["step"] == steps
    finite = all(bool(torch.isfinite(state[k]).all()) for k in ("exp_avg", "exp_avg_sq"))
    drift_v = float(((state["exp_avg_sq"] - g * g).abs() / (g * g)).max())
    drift_m = float(((state["exp_avg"] - g).abs() / g.abs()).max())
    with torch.no_grad():
        p.zero_()
    opt.step()
    want = -lr * g / (g.abs() + eps)
    step_err = float(((p.detach() - want).abs() / want.abs()).max())
    return {"finite": finite, "v_hat_rel_drift": drift_v, "m_rel_error": drift_m,
            "next_step_rel_error": step_err, "seconds": seconds, "steps": steps}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=2_000_000)
    ap.add_argument("--no-record", action="store_true", help="do not append a result record")
    args = ap.parse_args(argv)
    r = run(args.steps)
    print(f"{r['steps']:,} float32 AdaX steps in {r['seconds']:.1f} s "
          f"({1e6 * r['seconds'] / r['steps']:.1f} us/step): finite={r['finite']}, "
          f"max rel drift of v_hat from g^2 = {r['v_hat_rel_drift']:.2e}, "
          f"max rel error of m = {r['m_rel_error']:.2e}, "
          f"next update rel error = {r['next_step_rel_error']:.2e}")
    ok = (r["finite"] and r["v_hat_rel_drift"] <= 2e-3 and r["m_rel_error"] <= 1e-5
          and r["next_step_rel_error"] <= 1e-3)
    if not ok:
        print("FAIL")
        return 1
    if not args.no_record and args.steps == 2_000_000:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                                text=True).stdout.strip()
        record = {
            "claim": "2,000,000 consecutive float32 AdaX steps of a constant gradient stay "
                     "finite; the normalised second moment drifts from g^2 by at most this "
                     "much (float32 rounding of the moving average)",
            "value": r["v_hat_rel_drift"], "unit": "relative error (max over entries)",
            "data": "synthetic: constant gradient [1e-3, 1, 1e3, -5], lr 1e-3, betas (0.9, 1e-4)",
            "command": COMMAND, "commit": commit,
            "date": datetime.date.today().isoformat(), "machine": "2-core CPU",
            "article": "7387",
            "notes": f"m = g to {r['m_rel_error']:.1e} relative; next update "
                     f"-lr g/(|g|+eps) to {r['next_step_rel_error']:.1e}; "
                     f"{r['seconds']:.0f} s on one thread of a shared (loaded) machine",
        }
        out = REPO / "results" / "optim.jsonl"
        out.parent.mkdir(exist_ok=True)
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"appended a record to {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
