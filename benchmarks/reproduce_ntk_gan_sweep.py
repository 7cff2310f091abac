"""The mode-collapse phase diagram of the particle GAN (Durr thesis section 2.4, Figs. 2.14-2.17, 2.21-2.22).

    python benchmarks/reproduce_ntk_gan_sweep.py --critic relu --n-ratios 13 --n-discs 1,2,4,8,16 --steps 1000

Each n_disc slice is one batched ensemble over r = g2/g1 (zoo.ntk_gan_sweep); the table (MC per
(n_disc, r)), the settings, the boundary fit and the wall time go to
benchmarks/results/ntk_gan_sweep_<critic>[_<tag>].json, rewritten after every slice so a killed run
keeps what it finished.  The thesis's grid is 25 r x n_disc = 1..20 at width 2048 and 3000 (ReLU) /
2000 (tanh) steps; its learning rates are unreported (ours are flags and are written to the JSON).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from zoo import ntk_gan_sweep as S  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--critic", default="relu", choices=S.CRITICS)
    p.add_argument("--n-ratios", type=int, default=25)
    p.add_argument("--r-min", type=float, default=0.01)
    p.add_argument("--r-max", type=float, default=1.0)
    p.add_argument("--n-discs", default=",".join(map(str, range(1, 21))))
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--width", type=int, default=2048)
    p.add_argument("--n-particles", type=int, default=200)
    p.add_argument("--lr-d", type=float, default=3e-3)
    p.add_argument("--lr-g", type=float, default=1e-4)
    p.add_argument("--l2", type=float, default=None, help="default 2/width (section 2.4's (1/width) sum phi^2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tag", default="")
    p.add_argument("--publish", default="", help="when the grid completes, publish it as a table card "
                   "(e.g. ntk_gan/sweep-relu; load with zoo.load_pretrained)")
    a = p.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", 1)))
    log_r = a.critic in ("relu", "fourier-pow")
    ratios = np.logspace(math.log10(a.r_min), math.log10(a.r_max), a.n_ratios) if log_r else \
        np.linspace(a.r_min, a.r_max, a.n_ratios)
    n_discs = [int(x) for x in a.n_discs.split(",")]
    settings = {"critic": a.critic, "steps": a.steps, "width": a.width, "n_particles": a.n_particles,
                "lr_d": a.lr_d, "lr_g": a.lr_g, "l2": a.l2 if a.l2 is not None else 2.0 / a.width, "seed": a.seed,
                "init_std": 0.1, "ntk_norm": "sum_to_N", "data_batch": a.n_particles,
                "spacing": "log" if log_r else "linear"}
    out = RESULTS / f"ntk_gan_sweep_{a.critic}{'_' + a.tag if a.tag else ''}.json"
    mc = np.full((len(n_discs), len(ratios)), np.nan)
    walls = []
    t0 = time.time()
    for i, nd in enumerate(n_discs):
        r = S.run_ensemble(ratios, nd, a.steps, critic=a.critic, n_particles=a.n_particles, width=a.width,
                           lr_d=a.lr_d, lr_g=a.lr_g, l2=a.l2, seed=a.seed)
        mc[i] = r["mc"]
        walls.append(r["wall_s"])
        fit = S.fit_boundary(ratios, n_discs[: i + 1], mc[: i + 1], log_r=log_r)
        print(f"n_disc={nd} {r['wall_s']:.0f}s MC={np.round(r['mc'], 2).tolist()}", flush=True)
        res = {"settings": settings, "ratios": ratios.tolist(), "n_discs": n_discs[: i + 1],
               "mc": [[None if not np.isfinite(v) else float(v) for v in row] for row in mc[: i + 1]],
               "wall_s_per_slice": walls, "wall_s_total": time.time() - t0,
               "boundary": {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in fit.items()},
               "complete": i == len(n_discs) - 1}
        res["boundary"]["r_star"] = [None if (x is None or not np.isfinite(x)) else x for x in res["boundary"]["r_star"]]
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(res, indent=1, default=lambda v: None if isinstance(v, float) and not np.isfinite(v) else v))
        os.replace(tmp, out)
    print(f"wrote {out}: slope {fit['slope']:.3g} (R^2 {fit['r2']:.3g}) over {fit['n_points']} slices")
    if a.publish:
        publish(a, res, " ".join(["python", "benchmarks/reproduce_ntk_gan_sweep.py", *(argv or sys.argv[1:])]))
    return 0


def publish(a, res: dict, command: str) -> None:
    """The finished sweep as a table card: mc (n_disc, r), ratios, n_discs, r_star; metrics = the boundary fit."""
    from zoo import hub
    from zoo.ntk_gan import PAPER

    nan = float("nan")
    arrays = {"mc": np.array([[nan if v is None else v for v in row] for row in res["mc"]]),
              "ratios": np.array(res["ratios"]), "n_discs": np.array(res["n_discs"], dtype=np.int64),
              "r_star": np.array([nan if v is None else v for v in res["boundary"]["r_star"]])}
    bd, where = res["boundary"], f"{len(res['ratios'])} r x n_disc {res['n_discs']}, {res['settings']['steps']} steps"
    metrics = [{"name": "boundary_slope", "value": bd["slope"], "split": where, "unit": "",
                "how": f"straight-line fit of the sigmoid half-way points, {bd['axes']}"},
               {"name": "boundary_r2", "value": bd["r2"], "split": where, "how": "R^2 of that fit", "unit": ""},
               {"name": "slices_with_a_transition", "value": bd["n_points"], "split": where, "unit": "",
                "how": "n_disc slices whose MC crosses log(8)/2 inside the r range"}]
    if 6 in res["n_discs"]:
        metrics.append({"name": "r_star_at_n_disc_6", "value": arrays["r_star"][res["n_discs"].index(6)],
                        "split": where, "how": "half-way point of the sigmoid fit at n_disc = 6", "unit": ""})
    for m in metrics:
        m["value"] = float(m["value"]) if m["value"] is not None and np.isfinite(m["value"]) else None
    variant = a.publish.split("/", 1)[1]
    out = hub.publish_table(a.publish, arrays, settings=res["settings"], metrics=metrics, paper=PAPER.get(variant, []),
                            source=command, wall_time_s=res["wall_s_total"],
                            notes="Learning rates, step count and (where stated) width are our calibration; the "
                                  "thesis does not report them (spec B4, C3). See benchmarks/results/"
                                  "ntk_gan_calibration.json.")
    print(f"published {out}")


if __name__ == "__main__":
    sys.exit(main())
