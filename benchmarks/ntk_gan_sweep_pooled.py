"""The NTK GAN mode-collapse boundary from several independent repeats of one sweep (Durr, Tu, Mroueh & Wang; Ch. 2
of S. Durr, PhD thesis, UCLA 2022: Sec. 2.4.1, Figs. 2.14-2.15).

One run per cell is noise-dominated on our grid: a cell's final MC jumps between ~0 and log 8 from seed to seed, and
the fitted ReLU boundary moved from slope 0.98 (R^2 0.89, seed 0) to 0.04 (R^2 0.0002, seed 1).  This script pools
repeats that differ only in --seed (same grid, steps, rates, width): it averages MC per cell over the repeats and
fits the boundary to the mean (zoo.ntk_gan_sweep.fit_boundary), beside each repeat's own fit and the per-cell spread.

    PYTHONPATH=. .venv/bin/python benchmarks/ntk_gan_sweep_pooled.py \\
        benchmarks/results/ntk_gan_sweep_relu.json benchmarks/results/ntk_gan_sweep_relu_seed-1.json ... \\
        --out benchmarks/results/ntk_gan_sweep_relu_pooled.json

Refuses inputs with other settings, other grids, repeated seeds or unfinished cells, and an existing --out
(unless --overwrite).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from reproduce_ntk_gan_sweep import _boundary  # noqa: E402  (the sweep's own JSON form of a fit: NaN -> null)
from zoo import ntk_gan_sweep as S  # noqa: E402


def _fit(ratios, n_discs, mc, critic: str) -> dict:
    return _boundary(S.fit_boundary(ratios, n_discs, mc, log_r=S.log_spaced(critic)))


def pool(runs: list[dict], order_param: str) -> dict:
    """The pooled boundary of `runs` (loaded sweep JSONs that differ only in their seed)."""
    if len(runs) < 2:
        raise ValueError(f"runs must hold at least two repeats; got {len(runs)}")
    key = f"mc_{order_param}"
    base = {k: v for k, v in runs[0]["settings"].items() if k != "seed"}
    seeds = []
    for i, r in enumerate(runs):
        other = {k: v for k, v in r["settings"].items() if k != "seed"}
        if other != base:
            raise ValueError(f"runs[{i}] has settings {other}, not {base}: only the seed may differ")
        if r["ratios"] != runs[0]["ratios"] or r["n_discs"] != runs[0]["n_discs"]:
            raise ValueError(f"runs[{i}] has another grid of ratios / n_discs")
        if not r.get("complete"):
            raise ValueError(f"runs[{i}] (seed {r['settings']['seed']}) is not complete")
        seeds.append(r["settings"]["seed"])
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"runs must have distinct seeds; got {seeds}")
    ratios, n_discs, critic = runs[0]["ratios"], runs[0]["n_discs"], base["critic"]
    mc = np.stack([np.asarray(r[key], float) for r in runs])  # (repeats, n_disc, r)
    mean = mc.mean(0)
    return {"critic": critic, "order_param": order_param, "settings": base, "seeds": seeds,
            "ratios": ratios, "n_discs": n_discs, "mc_mean": mean.tolist(), "mc_std": mc.std(0, ddof=1).tolist(),
            "per_seed": {str(s): _fit(ratios, n_discs, m, critic) for s, m in zip(seeds, mc)},
            "pooled": _fit(ratios, n_discs, mean, critic)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+", help="sweep result JSONs (benchmarks/reproduce_ntk_gan_sweep.py --seed K)")
    p.add_argument("--order-param", default="final", choices=S.ORDER_PARAMS)
    p.add_argument("--out", required=True)
    p.add_argument("--overwrite", action="store_true")
    a = p.parse_args(argv)
    out = Path(a.out)
    if out.exists() and not a.overwrite:
        raise SystemExit(f"{out} exists; pass --overwrite to replace it")
    res = pool([json.loads(Path(f).read_text()) for f in a.inputs], a.order_param)
    res["inputs"] = [str(f) for f in a.inputs]
    out.write_text(json.dumps(res, indent=1) + "\n")
    for s, f in res["per_seed"].items():
        print(f"seed {s}: slope {f['slope']:.3g}, R^2 {f['r2']:.3g}, r* {f['r_star']}")
    f = res["pooled"]
    print(f"pooled over {len(res['seeds'])}: slope {f['slope']:.3g}, R^2 {f['r2']:.3g}, r* {f['r_star']}")
    return res


if __name__ == "__main__":
    main()
