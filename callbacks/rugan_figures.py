"""RUGAN figures during training: a sample gallery per temperature and size, and <e>, <|m|> vs T of generated vs
real validation configurations; saved under <run>/figures and logged to W&B at each validation (issue 5)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from pytorch_lightning import Callback

from .plotting import log_images, plt, save


def gallery_figure(model, temperatures, sizes, n: int = 3, seed: int = 0):
    fig, axes = plt.subplots(len(sizes), len(temperatures) * n, figsize=(1.3 * len(temperatures) * n, 1.4 * len(sizes)),
                             squeeze=False)
    for i, L in enumerate(sizes):
        for j, T in enumerate(temperatures):
            # a private seeded generator: drawing figures does not move the training RNG
            s = model.sample(n, L=L, temperature=T, seed=seed, extrapolate=True).cpu().numpy()
            for k in range(n):
                ax = axes[i, j * n + k]
                ax.imshow(s[k], cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if k == 0:
                    ax.set_title(f"T={T:g}, L={L}", fontsize=7)
    return fig


def observables_figure(val: dict):
    """val: {(kind, T): tensor[count, sum e, sum |m|]} with kind 'real' or 'fake' (RUGAN.validation_step)."""
    temps = sorted({T for _, T in val})
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    for ax, idx, name in ((axes[0], 1, "<e> per spin"), (axes[1], 2, "<|m|>")):
        for kind, style in (("real", "ko-"), ("fake", "rs--")):
            ys = [float(val[(kind, T)][idx] / val[(kind, T)][0]) for T in temps if (kind, T) in val]
            ax.plot(temps[:len(ys)], ys, style, ms=3, label="Monte Carlo (val)" if kind == "real" else "RUGAN")
        ax.set_xlabel("T")
        ax.set_ylabel(name)
    axes[0].legend(fontsize=7)
    return fig


class RUGANFigures(Callback):
    """Every `every_n_validations` validations of a temperature-conditioned RUGAN: gallery + observables vs T."""

    def __init__(self, every_n_validations: int = 1, temperatures: tuple[float, ...] = (1.5, 2.27, 3.0),
                 sizes: tuple[int, ...] = (16, 64), n_per_cell: int = 3):
        if every_n_validations < 1 or not temperatures or not sizes or any(L % 4 for L in sizes):
            raise ValueError("every_n_validations >= 1, temperatures and sizes non-empty, sizes multiples of 4")
        self.every, self.temperatures, self.sizes, self.n = every_n_validations, temperatures, sizes, n_per_cell
        self._seen = 0

    def on_validation_epoch_end(self, trainer, pl_module):
        if trainer.sanity_checking or pl_module.hparams.labels != "temperature":
            return
        self._seen += 1
        if self._seen % self.every or not trainer.is_global_zero:
            return
        out = Path(trainer.default_root_dir) / "figures"
        tag = f"step{int(pl_module.generator_steps):06d}"
        with torch.no_grad():
            paths = [save(gallery_figure(pl_module, self.temperatures, self.sizes, self.n), out / f"gallery_{tag}.png")]
        val = getattr(pl_module, "_val", {})
        if val:
            paths.append(save(observables_figure(val), out / f"observables_{tag}.png"))
        log_images(trainer, "rugan/figures", paths)
