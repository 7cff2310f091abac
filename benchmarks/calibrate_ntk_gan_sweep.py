"""Learning-rate calibration for the Sec. 2.4 / App. 2.7.2 sweeps of Durr, Tu, Mroueh & Wang (in preparation; Ch. 2 of
S. Durr, PhD thesis, UCLA 2022): the thesis does not report alpha_D, alpha_G for them (Sec. 2.4.1), so these are ours.

    OMP_NUM_THREADS=1 python benchmarks/calibrate_ntk_gan_sweep.py --critic tanh --ratios 0,0.01 --n-disc 6 \
        --steps 2000 --lr-d 3e-3 --lr-g 6e-5

For each (alpha_D, alpha_G): runs at a few r at one n_disc (one by one, R = 1, by default; --mode batched for one
ensemble), with the MC trajectory recorded, so one can see whether r = 0 converges (MC -> 0) within the step budget
and where the transition falls (thesis: r* ~ 0.06 at n_disc = 6 for ReLU, App. 2.7.3, thesis L1583; a calibration target, not an
invariant).  Appends one row per run (per r in one-by-one mode, as soon as it finishes) to
benchmarks/results/ntk_gan_calibration.json: final MC, MC averaged over the last 10% of steps, the trajectory.

Chosen (zoo.ntk_gan_sweep.CALIBRATED; ours, plain SGD, width 2048, l2 = 2/width, seed 0, n_disc 6), with the
evidence in the JSON:

* relu: alpha_D 3e-3, alpha_G 3e-5, 4000 steps.  alpha_G 1e-4 (our first guess) never converges even at r = 0
  (final MC 1.24 after 3000 steps); 3e-5 gives r = 0: 0.002, r = 0.01: 0.08 (hovering 0.75-1.05 before), r = 0.1:
  2.08 (collapsed).
* tanh: alpha_D 3e-3, alpha_G 6e-5, 2000 steps (Fig. 2.16's budget).  r = 0 reaches MC 0.05-0.5 from step ~300 on
  (final 0.43: covering every mode, unevenly); r = 0.01 settles from step ~1250 (averaged MC 0.08), r = 0.05 from
  step ~1350 (0.06), so the n_disc-6 transition is above r = 0.05 (not probed further: each tanh run took 9-21 min
  of wall time on the shared box).  Only one alpha_G was probed.
* fourier-pow: alpha_D 1e-2, alpha_G 1e-5, 3000 steps (Fig. 2.21).  Only the product alpha_D alpha_G sets the
  speed while the critic's L2 is negligible (its weights integrate the data/particle mismatch), and the four
  probes with alpha_D <= 1e-4 (alpha_G 1e-4 or 1e-3) all oscillate (r = 0 averaged MC 1.19-1.37, the cloud
  never settles; (1e-5, 1e-3) and (1e-4, 1e-4), same product, give nearly the same trajectory); a larger alpha_D
  damps the critic
  (rate alpha_D gamma(k) l2): (1e-3, 1e-5) converges at r = 0 (MC avg 0.025), (1e-2, 1e-5) faster and cleaner
  (0.018).  At n_disc 6: r = 0.003 0.05, 0.01 0.17, 0.03 0.52 (averaged MC), r = 0.1 1.89, r = 0.3 1.96, so
  r*(6) is between 0.03 and 0.1.  At alpha_D 0.1 (issue 17, the thesis's Sec. 2.3 critic rate, footnote 14):
  r = 0 converges and drifts off late (final MC 0.54), r = 0.03 0.03, r = 0.1 .. 1 >= 1.4 (final), so the sweep
  re-runs at other rates use the thesis's log grid around r ~ 0.015-0.2 (reports/ntk_gan.md: there the boundary
  no longer moves with n_disc).
* fourier-exp: alpha_D 1e-2, alpha_G 1e-5, 2000 steps (Fig. 2.22).  r = 0: MC 0.014 ((1e-3, 1e-5): 0.99).  At
  n_disc 6: r = 0.005 0.002, r = 0.01 1.37, r = 0.02 .. 0.4 >= 1.96; at n_disc 20, r = 0.02 converges (0.004).  So
  the boundary sits at r ~ 0.01-0.03 for these rates and the sweep's linear grid is [0.002, 0.05].
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
