"""EDNN Metropolis: local tile re-evaluation vs full re-evaluation, per proposal (, Chem. Sci. 2019 Sec. 3.5, thesis L1899).

Run:  PYTHONPATH=. .venv/bin/python benchmarks/perf_ednn_mc.py

Same sampler (`datamodules.physics.ednn_mc.EDNNMetropolis`), same network (the published ednn/ising-f1c1 if present,
else an untrained f = 1, c = 1 EDNN: the cost does not depend on the weights), same chains and seed, in the same
process, interleaved (local, full, local, full, ...); medians over repeats.  'local' evaluates the (2c + 1)^2 tiles
whose window holds the flipped spin; 'full' evaluates all L^2 tiles of the proposed lattice.  Two settings:
- network: plain per-tile evaluation (the paper's setting; what the ratio claim is about);
- network+dedup: the EDNN's exact deduplication of repeated +-1 tiles (<= 512 distinct 3 x 3 tiles), which makes
  full re-evaluation of a c = 1 model much cheaper and so the ratio smaller.
Results: benchmarks/results/ednn_mc.json.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from datamodules.physics.ednn_mc import EDNNMetropolis  # noqa: E402

CASES = [(64, 16), (256, 4)]  # (L, chains)
REPEATS = 5
T = 2.27


def model():
    from zoo import hub
    from zoo.ednn import IsingEDNN

    try:
        return hub.load_pretrained("ednn/ising-f1c1"), "ednn/ising-f1c1"
    except (KeyError, FileNotFoundError):
        torch.manual_seed(0)
        return IsingEDNN(context=1).eval(), "untrained IsingEDNN(focus=1, context=1)"


def per_proposal(sampler: EDNNMetropolis, seconds: float, min_steps: int) -> float:
    """Seconds per proposal (one proposal per chain per step), timed over >= min_steps steps and ~seconds."""
    n, t0 = 0, time.perf_counter()
    while n < min_steps or time.perf_counter() - t0 < seconds:
        sampler.step()
        n += 1
    return (time.perf_counter() - t0) / (n * len(sampler.spins))


def main() -> None:
    torch.set_num_threads(1)
    m, which = model()
    results = {}
    for dedup in (False, True):
        m.ednn.dedup = dedup
        fn = m.tile_energy_fn()
        for L, C in CASES:
            betas = np.full(C, 1 / T)
            samplers = {mode: EDNNMetropolis(fn, L, 1, 1, betas, mode=mode, seed=0, start="random")
                        for mode in ("local", "full")}
            for s in samplers.values():  # warm-up
                s.step()
            times = {"local": [], "full": []}
            for _ in range(REPEATS):
                times["local"].append(per_proposal(samplers["local"], 1.0, 50))
                times["full"].append(per_proposal(samplers["full"], 1.0, 2))
            loc, full = statistics.median(times["local"]), statistics.median(times["full"])
            key = f"{L}x{L} {'network+dedup' if dedup else 'network'}"
            results[key] = {"L": L, "chains": C, "dedup": dedup, "local_us_per_proposal": loc * 1e6,
                            "full_us_per_proposal": full * 1e6, "ratio_full_over_local": full / loc,
                            "tiles_per_proposal": {"local": 9, "full": L * L}, "raw_s": times}
            print(f"{key:>24}: local {loc * 1e6:9.1f} us, full {full * 1e6:11.1f} us per proposal, ratio {full / loc:7.1f}")
    out = {
        "benchmark": "EDNN Metropolis seconds per proposal: local re-evaluation of (2c+1)^2 tiles vs full "
                     "re-evaluation of all L^2 tiles (f = 1, c = 1), same sampler and network, same process, "
                     "interleaved; medians of repeats. Goal: ratio >= 10 at 64x64 ().",
        "model": which, "T": T, "repeats": REPEATS, "results": results,
        "machine": {"platform": platform.platform(), "python": sys.version.split()[0], "cpu_count": os.cpu_count(),
                    "loadavg_at_start": list(os.getloadavg()), "torch": torch.__version__,
                    "torch_threads": torch.get_num_threads()},
    }
    path = Path(__file__).parent / "results" / "ednn_mc.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
