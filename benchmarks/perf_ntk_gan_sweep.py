"""Speed of the phase-diagram sweep's execution modes (zoo.ntk_gan_sweep.sweep), side by side in one process.

    python benchmarks/perf_ntk_gan_sweep.py [--steps 20] [--repeats 3] [--workers 2]

The same grid of runs (--n-ratios r values x --n-discs, section-2.4 settings: N = 200, one hidden layer, ReLU)
for the same number of outer steps, four ways:

* serial: the runs one by one in this process (R = 1, one thread): the baseline;
* serial-chunk-C: one by one, but C r values per run (small batched ensembles of R = C);
* batched: one batched ensemble over all r per n_disc slice (R = n_ratios, one thread);
* processes: a pool of --workers processes (one thread each, pool start included), R = 1 per run.

Each is timed --repeats times; the JSON gets the median wall times and the ratios serial/mode (> 1: faster than
serial), at critic width 2048 (the thesis's) and 256, in benchmarks/results/ntk_gan_sweep_perf.json.  The batched
and one-by-one sides use the same hand-written gradients (the ratio isolates batching/parallelism, not autograd).
Processes mode can only beat serial by up to the number of free cores: on a box shared with other jobs the
ratio says how much of them this run got.
"""
from __future__ import annotations

import argparse
import json
import os
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
    return statistics.median(ts), ts


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--n-ratios", type=int, default=8)
    p.add_argument("--n-discs", default="4")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--chunks", default="2,4", help="R of the small ensembles timed one by one")
    p.add_argument("--widths", default="256,2048")
    p.add_argument("--critic", default="relu", choices=S.CRITICS)
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "ntk_gan_sweep_perf.json"))
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    ratios = np.logspace(-2, 0, a.n_ratios)
    n_discs = [int(x) for x in a.n_discs.split(",")]
    chunks = [int(x) for x in a.chunks.split(",") if x]
    runs = len(ratios) * len(n_discs)
    rows = []
    for width in [int(w) for w in a.widths.split(",")]:
        kw = dict(steps=a.steps, critic=a.critic, width=width, progress=False)
        S.sweep(ratios[:1], n_discs[:1], **{**kw, "steps": 2}, mode="processes", workers=1)  # warm-up
        timed = {"serial": _time(lambda: S.sweep(ratios, n_discs, mode="processes", workers=1, **kw), a.repeats)}
        for c in chunks:
            timed[f"serial_chunk{c}"] = _time(lambda: S.sweep(ratios, n_discs, mode="processes", workers=1, chunk=c,
                                                              **kw), a.repeats)
        timed["batched"] = _time(lambda: S.sweep(ratios, n_discs, mode="batched", **kw), a.repeats)
        timed["processes"] = _time(lambda: S.sweep(ratios, n_discs, mode="processes", workers=a.workers, **kw),
                                   a.repeats)
        med = {k: v[0] for k, v in timed.items()}
        critic_steps = runs * a.steps * np.mean(n_discs)
        row = {"width": width, "critic": a.critic, "runs": runs, "outer_steps": a.steps, "n_disc": n_discs[0],
               "n_discs": n_discs, "workers": a.workers, "median_s": med, "all_s": {k: v[1] for k, v in timed.items()},
               "speedup_vs_serial": {k: med["serial"] / v for k, v in med.items()},
               "processes_vs_batched": med["batched"] / med["processes"],
               "ms_per_critic_step_serial": 1e3 * med["serial"] / critic_steps,
               # the first benchmark's keys (the report reads them): batched vs one by one
               "batched_s": med["batched"], "one_by_one_s": med["serial"], "speedup": med["serial"] / med["batched"],
               "processes_s": med["processes"]}
        rows.append(row)
        print(json.dumps({k: row[k] for k in ("width", "median_s", "speedup_vs_serial", "processes_vs_batched",
                                              "ms_per_critic_step_serial")}), flush=True)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    Path(a.out).write_text(json.dumps({
        "benchmark": "ntk_gan sweep: processes pool vs one batched ensemble vs serial one by one (medians)",
        "rows": rows, "repeats": a.repeats, "torch": torch.__version__,
        "machine": f"{platform.machine()} CPU x{os.cpu_count()}, one thread per process",
        "load_average_after": load,
        "measured": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}, indent=1) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
