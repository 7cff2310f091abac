"""MBL phase-diagram figures (RGB maps, C maps), and a callback that logs them to W&B during training.

Shared by the callback and `zoo reproduce mbl` (zoo/reports/mbl.py).  Colours: red PM, blue SG, green thermal
(or HDBSCAN noise), as in thesis Figs. 1.2-1.5.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from pytorch_lightning import Callback

from datamodules.physics import spin_chain as sc

from .plotting import log_images, plt, save


def _rgb(p: np.ndarray) -> np.ndarray:
    """(n_delta, n_lambda, 3) (PM, SG, third) -> image (n_lambda, n_delta, 3) RGB with PM red, SG blue, third green."""
    return np.clip(np.stack([p[..., 0], p[..., 2], p[..., 1]], -1).transpose(1, 0, 2), 0, 1)


def _extent(deltas, lambdas):
    dd = (deltas[1] - deltas[0]) / 2 if len(deltas) > 1 else 0.05
    dl = (lambdas[1] - lambdas[0]) / 2 if len(lambdas) > 1 else 0.05
    return [deltas[0] - dd, deltas[-1] + dd, lambdas[0] - dl, lambdas[-1] + dl]


def phase_maps_figure(maps: dict, deltas, lambdas, title: str):
    fig, axes = plt.subplots(1, len(maps), figsize=(4.6 * len(maps), 3.6), squeeze=False)
    for ax, (name, p) in zip(axes[0], maps.items()):
        ax.imshow(_rgb(p), origin="lower", aspect="auto", extent=_extent(deltas, lambdas), interpolation="nearest")
        ax.set_xlabel("Delta = mean log J - mean log h")
        ax.set_ylabel("lambda")
        ax.set_title(name, fontsize=9)
    fig.suptitle(title, fontsize=10)
    return fig


def confusion_maps_figure(maps: dict, deltas, lambdas, title: str):
    fig, axes = plt.subplots(1, len(maps), figsize=(4.6 * len(maps), 3.6), squeeze=False)
    for ax, (name, p) in zip(axes[0], maps.items()):
        im = ax.imshow(sc.confusion(p).T, origin="lower", aspect="auto", extent=_extent(deltas, lambdas),
                       vmin=0, vmax=1, cmap="magma", interpolation="nearest")
        ax.set_xlabel("Delta")
        ax.set_ylabel("lambda")
        ax.set_title(f"C = 1 - sqrt2 d_min: {name}", fontsize=9)
        fig.colorbar(im, ax=ax)
    fig.suptitle(title, fontsize=10)
    return fig


class PhaseDiagramFigures(Callback):
    """Every `every_n_epochs` validation epochs (classifier) or at each training epoch end (clusterer), draw the
    model's phase diagram (and C map) over the DataModule's grid, save it under <run>/figures and log it."""

    def __init__(self, every_n_epochs: int = 1):
        self.every = max(1, int(every_n_epochs))

    def _draw(self, trainer, pl_module, maps: dict, deltas, lambdas) -> None:
        if not trainer.is_global_zero or not maps:
            return
        out = Path(trainer.default_root_dir) / "figures"
        tag = f"epoch{trainer.current_epoch:03d}"
        paths = [save(phase_maps_figure(maps, deltas, lambdas, f"L = {pl_module.hparams.L}, {tag}"),
                      out / f"phase_diagram_{tag}.png"),
                 save(confusion_maps_figure(maps, deltas, lambdas, f"L = {pl_module.hparams.L}, {tag}"),
                      out / f"confusion_map_{tag}.png")]
        log_images(trainer, "mbl/phase_diagram", paths)

    def on_validation_epoch_end(self, trainer, pl_module):
        if trainer.sanity_checking or getattr(pl_module.hparams, "kind", "classifier") != "classifier" or \
                (trainer.current_epoch + 1) % self.every:
            return
        dm = trainer.datamodule
        if dm is None or not getattr(dm, "grid_realizations", 0):
            return
        g = dm.grid_data()
        p, _ = pl_module.phase_diagram(g["spectra"], g["point"], dm.n_delta, dm.n_lambda)
        self._draw(trainer, pl_module, {"supervised (mean softmax)": p}, dm.deltas, dm.lambdas)

    def on_train_epoch_end(self, trainer, pl_module):
        if getattr(pl_module.hparams, "kind", "classifier") != "clusterer" or not int(pl_module.n_resamples):
            return
        maps = {"spectral, 3 clusters": pl_module.phase_diagram("spectral")[0]}
        if int(pl_module.n_accepted):
            maps = {"HDBSCAN (green = noise)": pl_module.phase_diagram("hdbscan")[0], **maps}
        self._draw(trainer, pl_module, maps, pl_module.deltas, pl_module.lambdas)
