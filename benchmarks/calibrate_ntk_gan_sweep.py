"""Learning-rate calibration for the section-2.4 sweep (the thesis does not report alpha_D, alpha_G, spec B4/C3).

    python benchmarks/calibrate_ntk_gan_sweep.py --lr-g 1e-4,3e-4 --steps 3000 --n-disc 6

For each alpha_G: one batched ensemble over a few r at one n_disc, with the MC trajectory recorded, so one can
see whether r = 0 converges (MC -> 0) within the step budget and where the transition falls (thesis: r* ~ 0.06 at
n_disc = 6 for ReLU, L1331-1340; a calibration target, not an invariant).  Appends to
benchmarks/results/ntk_gan_calibration.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from zoo import ntk_gan_sweep as S  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "ntk_gan_calibration.json"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--critic", default="relu", choices=S.CRITICS)
    p.add_argument("--ratios", default="0,0.01,0.03,0.06,0.1,0.3")
    p.add_argument("--n-disc", type=int, default=6)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--lr-d", default="3e-3")
    p.add_argument("--lr-g", default="1e-4")
    p.add_argument("--width", type=int, default=2048)
    p.add_argument("--record-every", type=int, default=250)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mode", default="one-by-one", choices=("one-by-one", "batched"),
                   help="one-by-one (R = 1 per r, faster on CPU: benchmarks/results/ntk_gan_sweep_perf.json) or one "
                        "batched ensemble over the r values; the runs are the same (same seed, same data)")
    p.add_argument("--out", default=str(OUT), help="JSON the rows are appended to")
    p.add_argument("--l2", type=float, default=None, help="critic L2 coefficient (default 2/width, section 2.4's)")
    p.add_argument("--avg-frac", type=float, default=0.1, help="window of the averaged MC (mc_avg), as in the sweep")
    a = p.parse_args(argv)
    out = Path(a.out)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", 1)))
    ratios = [float(x) for x in a.ratios.split(",")]
    for lr_d in [float(x) for x in a.lr_d.split(",")]:
        for lr_g in [float(x) for x in a.lr_g.split(",")]:
            kw = dict(critic=a.critic, width=a.width, lr_d=lr_d, lr_g=lr_g, seed=a.seed, record_every=a.record_every,
                      avg_frac=a.avg_frac, l2=a.l2)
            # batched: one row for all r; one-by-one: one row per r, written as soon as it finishes
            groups = [ratios] if a.mode == "batched" else [[x] for x in ratios]
            for rs in groups:
                t = time.time()
                r = S.run_ensemble(rs, a.n_disc, a.steps, **kw)
                row = {"critic": a.critic, "n_disc": a.n_disc, "steps": a.steps, "lr_d": lr_d, "lr_g": lr_g,
                       "width": a.width, "seed": a.seed, "ratios": rs, "mode": a.mode,
                       "l2": a.l2 if a.l2 is not None else 2.0 / a.width,
                       "mc_final": [None if not np.isfinite(v) else round(float(v), 4) for v in r["mc"]],
                       "mc_avg": [None if not np.isfinite(v) else round(float(v), 4) for v in r["mc_avg"]],
                       "avg_frac": a.avg_frac, "record_steps": r["record_steps"].tolist(),
                       "record_mc": np.round(np.nan_to_num(r["record_mc"], nan=-1), 3).tolist(),
                       "wall_s": time.time() - t}
                runs = json.loads(out.read_text()) if out.exists() else []
                runs.append(row)
                out.write_text(json.dumps(runs, indent=1) + "\n")
                print(f"{a.critic} lr_d={lr_d:g} lr_g={lr_g:g} n_disc={a.n_disc} steps={a.steps} r={rs} "
                      f"{row['wall_s']:.0f}s MC final {row['mc_final']} avg {row['mc_avg']}", flush=True)
                print("   trajectory " + " ".join(f"{s_}:{m}" for s_, m in zip(row["record_steps"], row["record_mc"])),
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
