"""A RUGAN training checkpoint measured exactly as `zoo publish` / `zoo evaluate` would measure its card, before
deciding whether to publish it (issue 17: which of a run's `last.ckpt` / `physics-best.ckpt` holds the targets).

Loads the Lightning checkpoint with `weights_only=True` and runs `zoo.evaluation.rugan.evaluation_rows` (fresh
hybrid Metropolis + Wolff references at L = 16, 32, 64, 128; arXiv:2002.07055 gives figures, the targets are ours)
with the data arguments of the run's config, then prints the card's summary metrics and writes the rows and the
summary to --out.  One process, the threads torch is given.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/rugan_evaluate_checkpoint.py \\
        --ckpt runs/rugan/ising-T-L16-global/checkpoints/last.ckpt --config rugan/ising-T-L16-global \\
        --out runs/rugan/ising-T-L16-global/eval-last.json
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ckpt", required=True, help="a RUGAN Lightning checkpoint (.ckpt)")
    p.add_argument("--config", required=True, help="the run's config (name or path): its data arguments")
    p.add_argument("--seed", type=int, default=1000, help="evaluation seed (zoo evaluate's default: data seed + 1000)")
    p.add_argument("--quick", action="store_true", help="4x fewer samples")
    p.add_argument("--out", required=True, help="JSON to write (refuses to overwrite; delete it first)")
    a = p.parse_args(argv)
    out = Path(a.out)
    if out.exists():
        raise ValueError(f"--out {out} exists; delete it or pick another path (nothing of yours is overwritten)")
    from zoo.commands import _load_config, datamodule_from_config
    from zoo.evaluation.rugan import evaluation_rows, summarize
    from zoo.rugan import RUGAN

    _, data_args = datamodule_from_config(_load_config(a.config))
    model = RUGAN.load_from_checkpoint(a.ckpt, map_location="cpu", weights_only=True).eval()
    step = int(torch.load(a.ckpt, map_location="cpu", weights_only=True)["global_step"])
    t0 = time.time()
    # the key `zoo evaluate` / `zoo publish` use, so a seed here means the same draws as there
    rows = evaluation_rows(model, data_args, seed=a.seed, quick=a.quick, progress=True)
    summary = summarize(rows)
    for m in summary:
        print(f"{m['name']:<36} {m['value']:.4f}  {m['split']}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"ckpt": a.ckpt, "global_step": step, "generator_steps": int(model.generator_steps),
                               "config": a.config, "seed": a.seed, "quick": a.quick,
                               "ema_decay": model.hparams.get("ema_decay"), "wall_s": time.time() - t0,
                               "threads": torch.get_num_threads(), "loadavg_end": list(os.getloadavg()),
                               "summary": summary, "rows": rows}, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
