"""What the published MBL cards measure (`zoo evaluate mbl/...`, `zoo publish`), and the paper's statements beside
them: Durr & Chakravarty, PRB 100, 075102 (2019), arXiv:1903.05755 [DC19] ("thesis Sec. 1.x, Lnnn": section and line
of its adaptation, ch. 1 of shared/papers/durr-2022-thesis.txt).  DC19 reports no numerical phase boundaries or
accuracies; except for HDBSCAN's two-cluster rate, every paper entry is the qualitative statement it makes.
"""
from __future__ import annotations

import numpy as np
import torch

from datamodules.mbl import PHASES, MBLDataModule

from ..mbl import MBLClusterer
from ..records import metric

__all__ = ["measure", "map_metrics", "PAPER"]

PAPER = {
    "classifier-L8": [
        {"metric": "test_accuracy", "value": None, "ref": "DC19 thesis Sec. 1.4.1 (L447-459)",
         "text": "not reported; network and training deferred to VKK18 (paper: L = 12)"},
        {"metric": "map_delta_symmetry_mae", "value": None,
         "ref": "DC19 thesis Sec. 1.3 (L377), Sec. 1.4.1, Fig. 1.9 (L479)",
         "text": "phase diagram approx. symmetric under Delta -> -Delta; supervised 'slightly more symmetric'"},
        {"metric": "map_thermal_growth", "value": None, "ref": "DC19 thesis Sec. 1.4, Fig. 1.5 (L447)",
         "text": "thermal region around Delta = 0 grows with lambda"},
    ],
    "clusterer-L8": [
        {"metric": "hdbscan_two_cluster_rate", "value": 0.98, "ref": "DC19 thesis Sec. 1.3.2 (L427)",
         "text": "> 98 % of 1000 resamples give exactly 2 clusters (paper: L = 12)"},
        {"metric": "hdbscan_pm_mean_delta", "value": None, "ref": "DC19 thesis Sec. 1.3.2, Fig. 1.3 (L425-429)",
         "text": "red (PM) cluster left, blue (SG) right, noise in between"},
        {"metric": "spectral_thermal_mean_lambda", "value": None, "ref": "DC19 thesis Sec. 1.4, Fig. 1.4 (L440-442)",
         "text": "third (thermal) cluster in the centre, growing with lambda"},
    ],
}
PAPER["classifier-L12"] = PAPER["classifier-L8"]
PAPER["clusterer-L12"] = PAPER["clusterer-L8"]


def map_metrics(p: np.ndarray, deltas: np.ndarray, lambdas: np.ndarray, prefix: str, third: str = "thermal",
                stored: bool = False) -> list:
    """Layout numbers of a (n_delta, n_lambda, 3) map (PM, SG, third)."""
    split = f"{len(deltas)} x {len(lambdas)} grid"
    D = deltas[:, None] * np.ones_like(lambdas)[None, :]
    Lm = np.ones_like(deltas)[:, None] * lambdas[None, :]
    w = p.reshape(-1, 3)
    out = []
    for j, name in enumerate(("pm", "sg", third)):
        wj = w[:, j]
        if wj.sum() > 0:
            out.append(metric(f"{prefix}_{name}_mean_delta", (wj * D.ravel()).sum() / wj.sum(), split,
                              f"mean Delta weighted by the {name} fraction", stored=stored))
    wt = w[:, 2]
    if wt.sum() > 0:
        out.append(metric(f"{prefix}_{third}_mean_lambda", (wt * Lm.ravel()).sum() / wt.sum(), split,
                          f"mean lambda weighted by the {third} fraction (grid mean {lambdas.mean():.3g})",
                          stored=stored))
    centre = np.abs(deltas) <= 0.5 + 1e-9
    if centre.any():
        out.append(metric(f"{prefix}_{third}_growth", p[centre, -1, 2].mean() - p[centre, 0, 2].mean(), split,
                          f"{third} fraction at lambda = {lambdas[-1]:.3g} minus at lambda = {lambdas[0]:.3g}, "
                          "|Delta| <= 0.5", stored=stored))
    # self-duality Delta -> -Delta swaps PM and SG (DC19 thesis Sec. 1.3, L377); the grid is symmetric when
    # delta_range is
    out.append(metric(f"{prefix}_delta_symmetry_mae", np.abs(p[:, :, 0] - p[::-1, :, 1]).mean(), split,
                      "mean |p_PM(Delta, lambda) - p_SG(-Delta, lambda)|", stored=stored))
    return out


def _data(args: dict) -> MBLDataModule:
    dm = MBLDataModule(**args)
    dm.prepare_data()
    dm.setup()
    return dm


@torch.no_grad()
def _measure_classifier(model, data_args: dict, seed, progress) -> list[dict]:
    args = {**data_args, "serve": "states", "progress": progress}
    if seed is not None:
        args["seed"] = seed
    dm = _data(args)
    out = []
    t = dm.train_point_data()
    m = t["split"] == 2
    split = f"held-out realizations at the 3 training points ({m.sum()} eigenstates, data seed {dm.seed})"
    pred = model.predict_phase(t["spectra"][m]).argmax(1).cpu().numpy()
    out.append(metric("test_accuracy", (pred == t["label"][m]).mean(), split, "argmax class == training-point phase"))
    for j, ph in enumerate(PHASES):
        mj = t["label"][m] == j
        if mj.any():
            out.append(metric(f"test_accuracy_{ph}", (pred[mj] == j).mean(), split, f"accuracy on {ph} eigenstates"))
    if dm.n_grid:
        g = dm.grid_data()
        p, C = model.phase_diagram(g["spectra"], g["point"], dm.n_delta, dm.n_lambda)
        out += map_metrics(p, dm.deltas, dm.lambdas, "map")
        out.append(metric("mean_confusion", np.nanmean(C), f"{dm.n_delta} x {dm.n_lambda} grid, data seed {dm.seed}",
                          "mean over the grid of C = 1 - sqrt2 d_min"))
    return out


@torch.no_grad()
def _measure_clusterer(model: MBLClusterer, data_args: dict, seed, progress) -> list[dict]:
    # everything but the last record is a statistic accumulated when the clusterer was fitted (its buffers):
    # re-reading it measures nothing new, and `zoo evaluate` must say so rather than call it re-measured
    n = int(model.n_resamples)
    hp = model.hparams
    fit = f"{n} resamples x {hp.n_per_point} states x {model.n_points} points (as fitted)"
    out = [metric("hdbscan_two_cluster_rate", model.two_cluster_rate, fit, "fraction of resamples where HDBSCAN "
                  "finds exactly 2 clusters", stored=True),
           metric("n_resamples", n, fit, "resamples accumulated", stored=True),
           metric("hdbscan_min_samples", int(model.min_samples_used), fit,
                  "min_samples used (DBCV-chosen on resample 0)" if hp.min_samples == "dbcv" else
                  "min_samples (fixed)", stored=True),
           metric("spectral_sigma", float(model.sigma_sum) / max(n, 1), fit, f"mean Gaussian width (JS distance, "
                  f"base {hp.js_base})", stored=True)]
    if int(model.n_accepted):
        p, _ = model.phase_diagram("hdbscan")
        out += map_metrics(p, model.deltas, model.lambdas, "hdbscan", third="noise", stored=True)
    p, C = model.phase_diagram("spectral")
    out += map_metrics(p, model.deltas, model.lambdas, "spectral", stored=True)
    out.append(metric("spectral_mean_confusion", np.nanmean(C), fit, "mean over the grid of C = 1 - sqrt2 d_min",
                      stored=True))
    # fresh eigenstates from the training points, labelled out of sample by the k-NN vote
    args = {**data_args, "serve": "states", "progress": progress, "grid_realizations": 0,
            "train_realizations": min(int(data_args.get("train_realizations", 20)), 20)}
    args["seed"] = seed if seed is not None else int(data_args.get("seed", 0)) + 1000
    t = _data(args).train_point_data()
    lab = model.assign(t["spectra"], "spectral").numpy()
    out.append(metric("assign_accuracy_train_points", (lab == t["label"]).mean(),
                      f"{len(lab)} fresh eigenstates at the 3 training points (data seed {args['seed']})",
                      "spectral k-NN label == the point's phase (PM / SG / thermal)"))
    return out


def measure(model, data_args: dict, seed: int | None = None, progress: bool = False) -> list[dict]:
    """The card's metrics of a classifier (fresh data from `data_args`, `seed`) or a clusterer (its fit-time
    statistics, marked stored, plus a k-NN assignment of fresh eigenstates)."""
    if isinstance(model, MBLClusterer):
        return _measure_clusterer(model, data_args, seed, progress)
    return _measure_classifier(model, data_args, seed, progress)
