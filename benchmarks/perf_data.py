"""Time to build the 8x8 targeted-sampling pool (the 100 000-sample training set and its test set)
with 1 and 2 worker processes, each into a fresh cache.  Run: `PYTHONPATH=. python benchmarks/perf_data.py`."""
from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from datamodules.ising import IsingDataModule

REPEATS = int(os.environ.get("BENCH_REPEATS", 3))


def build(workers: int, n: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        dm = IsingDataModule(L=8, n_samples=n, data_dir=d, gen_workers=workers, progress=False)
        t = time.perf_counter()
        dm.prepare_data()
        dm.setup()
        return time.perf_counter() - t


def main():
    build(1, 630)  # numba JIT warm-up (cached on disk afterwards)
    res = {"benchmark": "build + hash-split the 8x8 targeted pool (163 800 configs -> ~100 700 train)", "results": {}}
    for workers in (1, 2):
        ts = [build(workers, 163_800) for _ in range(REPEATS)]
        res["results"][f"workers={workers}"] = {"median_s": statistics.median(ts), "runs_s": ts}
    r = res["results"]
    res["speedup_2_over_1"] = r["workers=1"]["median_s"] / r["workers=2"]["median_s"]
    res["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count()}
    (Path(__file__).parent / "results" / "perf_data.json").write_text(json.dumps(res, indent=2) + "\n")
    for k, v in r.items():
        print(f"{k}: {v['median_s']:.2f} s (median of {REPEATS})")


if __name__ == "__main__":
    main()
