"""What the published particle GANs measure (`zoo evaluate ntk_gan/...`), and the paper's numbers beside them.

Paper: Durr, Tu, Mroueh & Wang, "A Phase Transition in Model GAN Dynamics" (in preparation, no arXiv id), Ch. 2 of
S. Durr, PhD thesis, UCLA (2022); sections, figures and equations below are the thesis's, with the line of
shared/papers/durr-2022-thesis.txt in parentheses.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from datamodules.gaussians import mode_collapse_metric, sample_ring

from ..records import metric

__all__ = ["measure", "PAPER", "slope_variants"]

# Sec. 2.3.1: "the modes having 243, 255, 250, 249, 249, 251, 251, and 252 nearest points each" (thesis L1210)
_TRIVIAL_COUNTS = [243, 255, 250, 249, 249, 251, 251, 252]
PAPER = {
    "8gauss-trivial": [
        {"metric": "mc", "value": float(mode_collapse_metric(torch.tensor(_TRIVIAL_COUNTS))),
         "text": "MC of the paper's per-mode counts 243/255/250/249/249/251/251/252",
         "ref": "Sec. 2.3.1, eq. 2.45 of the counts (thesis L1210)"},
        {"metric": "count_min", "value": 243.0, "ref": "Sec. 2.3.1 (thesis L1210)"},
        {"metric": "count_max", "value": 255.0, "ref": "Sec. 2.3.1 (thesis L1210)"},
        {"metric": "mean_nearest_distance", "value": 0.02, "ref": "Sec. 2.3.1 (thesis L1212)"},
    ],
    "8gauss-r0.2": [
        {"metric": "min_mc_over_run", "value": None, "text": "no convergence: the cloud hops from mode to mode "
         "(Figs. 2.12-2.13)", "ref": "Sec. 2.3.2, Figs. 2.12-2.13 (thesis L1228-1246)"},
        {"metric": "mc", "value": None, "text": "deep in the mode-collapse phase",
         "ref": "Sec. 2.3.2, Fig. 2.12 caption (thesis L1241)"},
    ],
    # the Sec. 2.4 / App. 2.7.2 phase-diagram sweeps, published as tables (benchmarks/reproduce_ntk_gan_sweep.py)
    "sweep-relu": [{"metric": "boundary_slope", "value": 0.92, "ref": "Sec. 2.4, Fig. 2.14 caption (thesis L1342)",
                    "text": "straight line in log n_disc vs log r"},
                   {"metric": "r_star_at_n_disc_6", "value": 0.06,
                    "ref": "App. 2.7.3, Fig. 2.23 (thesis L1583-1588; printed g1/g2, meaning g2/g1)"}],
    "sweep-tanh": [{"metric": "boundary_slope", "value": None, "ref": "Sec. 2.4, Fig. 2.16 caption (thesis L1356)",
                    "text": "straight line in log n_disc vs r (exponential boundary); slope not given"}],
    "sweep-fourier-pow": [{"metric": "boundary_slope", "value": 4.90,
                           "ref": "App. 2.7.2, Fig. 2.21 caption (thesis L1572)"}],
    "sweep-fourier-exp": [{"metric": "boundary_slope", "value": 1.86,
                           "ref": "App. 2.7.2, Fig. 2.22 caption (thesis L1577)"}],
}


@torch.no_grad()
def measure(model, data_args: dict, seed: int | None = None, progress: bool = False) -> list[dict]:
    """The card's metrics of the final particle cloud (and its stored trajectory), plus the energy
    distance between the cloud and N fresh samples of the target drawn with `seed`."""
    s = model.cloud_stats()
    N, K = model.hparams.n_particles, model.hparams.n_modes
    where = f"final cloud of {N} particles after {int(model.gen_steps)} generator steps"
    out = [metric("mc", s["mc"], where, "log 8 + sum_k P_k log P_k over nearest-mode counts (eq. 2.45)"),
           metric("mean_nearest_distance", s["mean_dist"], where, "mean distance of a particle to its nearest mode"),
           metric("count_min", s["counts"].min(), where, "smallest nearest-mode count"),
           metric("count_max", s["counts"].max(), where, "largest nearest-mode count"),
           metric("max_count_deviation", (s["counts"].float() - N / K).abs().max(), where,
                  f"max_k |count_k - {N / K:g}|")]
    out += [metric(f"count_mode_{k}", c, where, f"particles nearest to mode {k}")
            for k, c in enumerate(s["counts"].tolist())]
    out += _trajectory(model)
    rng = np.random.default_rng(np.random.SeedSequence([int(data_args.get("seed", 0)) if seed is None else seed, 7]))
    y = torch.as_tensor(sample_ring(N, rng, K, data_args.get("radius", 2.0), data_args.get("std", 0.02)))
    x = model.particles.detach().float().cpu()
    ed = 2 * torch.cdist(x, y).mean() - torch.cdist(x, x).mean() - torch.cdist(y, y).mean()
    out.append(metric("energy_distance", ed, f"{N} fresh target samples (seed {seed})",
                      "2 E|X - Y| - E|X - X'| - E|Y - Y'| (0 iff the distributions agree)"))
    return out


def _trajectory(model) -> list[dict]:
    """Statistics of the trajectory the model recorded while it trained (stored: re-reading measures nothing new)."""
    h = model.history()
    if not len(h["mc"]):
        return []
    run = f"trajectory: {len(h['mc'])} records over {int(h['step'][-1])} generator steps"
    late = h["mc"][len(h["mc"]) // 2:]
    modes = model.modes.cpu().numpy()
    # only records where the cloud is concentrated (centre of mass beyond half the radius): the
    # centre of a spread-out cloud sits near the origin, where the nearest mode is noise
    conc = np.linalg.norm(h["com"], axis=1) > 0.5 * model.hparams.radius
    dom = np.argmin(np.linalg.norm(h["com"][conc][:, None, :] - modes[None], axis=-1), axis=1)
    return [metric("min_mc_over_run", h["mc"].min(), run, "smallest MC recorded during training", stored=True),
            metric("mean_mc_second_half", late.mean(), run, "mean MC over the second half of the run", stored=True),
            metric("mode_hops", int(np.sum(dom[1:] != dom[:-1])), run,
                   "changes of the mode nearest to the cloud's centre of mass, over records where the centre "
                   "is beyond radius/2 (a concentrated cloud)", stored=True),
            metric("fraction_concentrated", conc.mean(), run,
                   "fraction of records with the centre of mass beyond radius/2", stored=True)]


def slope_variants(ratios, n_discs, mc, log_r: bool, halfway: str = "center") -> dict:
    """The phase-boundary slope of one sweep table mc (n_disc, r) in each convention a figure caption's "slope" could
    mean (Sec. 2.4.1, Figs. 2.14-2.17 and App. 2.7.2, Figs. 2.21-2.22 quote a number, never its units): per n_disc the
    sigmoid half-way point r* (`zoo.ntk_gan_sweep.fit_boundary`), then

    * slope: least squares of ln n_disc on x (x = ln r for a power law, r for an exponential boundary), with its
      standard error from the residuals (n - 2 degrees of freedom) and R^2;
    * slope_inverse: 1 / (least-squares slope of x on ln n_disc), the line fitted the other way round (r* is the
      measured quantity); equal to `slope` when the points lie on a line;
    * x_per_ln_n (+- x_per_ln_n_se): that other-way slope itself, d x* / d ln n_disc: near 0 (within its error) when
      the boundary does not move with n_disc, where `slope` is undefined (a vertical line);
    * slope_log10: log10 n_disc instead of ln n_disc (only changes a log-linear slope, by 1/ln 10);
    * span: how far the boundary moves in r while n_disc goes 1 -> 20 (the thesis's range): a factor 20^(1/slope)
      in r (log-log) or an interval ln 20 / slope (log-linear).

    halfway: which reading of "the halfway points of these sigmoids" gives r* (`fit_boundary`; default the
    fitted sigmoid's centre, as the cards).
    """
    from ..ntk_gan_sweep import fit_boundary

    nd = np.asarray(n_discs, float)
    b = fit_boundary(ratios, nd, mc, log_r=log_r, halfway=halfway)
    rs = np.asarray(b["r_star"], float)
    ok = np.isfinite(rs)
    out = {"r_star": rs, "n_points": int(ok.sum()), "slope": np.nan, "slope_se": np.nan, "r2": np.nan,
           "slope_inverse": np.nan, "x_per_ln_n": np.nan, "x_per_ln_n_se": np.nan, "slope_log10": np.nan,
           "span": np.nan}
    if ok.sum() < 2:
        return out
    x = np.log(rs[ok]) if log_r else rs[ok]
    y = np.log(nd[ok])
    s, c = np.polyfit(x, y, 1)
    resid = y - (s * x + c)
    ss = np.sum((y - y.mean()) ** 2)
    r2 = 1 - np.sum(resid ** 2) / ss if ss > 0 else np.nan
    n = len(x)
    se = math.sqrt(np.sum(resid ** 2) / (n - 2) / np.sum((x - x.mean()) ** 2)) if n > 2 else np.nan
    s_inv, c_inv = np.polyfit(y, x, 1)
    se_inv = (math.sqrt(np.sum((x - (s_inv * y + c_inv)) ** 2) / (n - 2) / np.sum((y - y.mean()) ** 2))
              if n > 2 else np.nan)
    out.update(slope=float(s), slope_se=float(se), r2=float(r2), slope_inverse=float(1 / s_inv) if s_inv else np.nan,
               x_per_ln_n=float(s_inv), x_per_ln_n_se=float(se_inv),
               slope_log10=float(s if log_r else s / math.log(10)),
               span=float(20 ** (1 / s) if log_r else math.log(20) / s))
    return out
