"""Speed of the batched particle-GAN ensemble (zoo.ntk_gan_sweep) vs the same runs one by one.

    python benchmarks/perf_ntk_gan_sweep.py [--steps 20] [--repeats 3]

Both sides run the same R = 13 runs (13 values of r, section-2.4 settings: N = 200, one hidden layer)
for the same number of outer steps in this process, one thread; the result is the median wall time
of each and their ratio, at critic width 2048 (the thesis's) and 256 (our CPU sweep), written to
benchmarks/results/ntk_gan_sweep_perf.json.  The one-by-one baseline uses the same hand-written
gradients with R = 1 (so the ratio isolates batching, not autograd).
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from zoo import ntk_gan_sweep as S  # noqa: E402


def _time(fn, repeats):
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--n-disc", type=int, default=4)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    ratios = np.logspace(-2, 0, 13)
    rows = []
    for width in (256, 2048):
        kw = dict(n_disc=a.n_disc, steps=a.steps, width=width)
        batched = _time(lambda: S.run_ensemble(ratios, **kw), a.repeats)
        single = _time(lambda: [S.run_ensemble([r], **kw) for r in ratios], a.repeats)
        rows.append({"width": width, "runs": len(ratios), "outer_steps": a.steps, "n_disc": a.n_disc,
                     "batched_s": batched, "one_by_one_s": single, "speedup": single / batched,
                     "critic_steps_per_s_batched": len(ratios) * a.steps * a.n_disc / batched})
        print(rows[-1], flush=True)
    out = Path(__file__).resolve().parent / "results" / "ntk_gan_sweep_perf.json"
    out.write_text(json.dumps({"benchmark": "ntk_gan batched ensemble vs one by one", "rows": rows,
                               "machine": f"{platform.machine()} shared 2-core CPU, 1 thread", "repeats": a.repeats,
                               "torch": torch.__version__}, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
