"""Figures of a particle generator: the cloud over the target modes, and its trajectory.

Duck-typed: any model with `particles` (N, 2), `modes` (K, 2) and, optionally, `history()` ->
{'step', 'mc', 'mean_dist', 'com'} (e.g. zoo.ntk_gan.ParticleGAN).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from pytorch_lightning import Callback

from .plotting import log_images, plt, save


def scatter_figure(particles: np.ndarray, modes: np.ndarray, title: str = "", ax=None, lim: float | None = None):
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.scatter(particles[:, 0], particles[:, 1], s=2, alpha=0.5, label="particles")
    ax.scatter(modes[:, 0], modes[:, 1], s=40, marker="x", c="r", label="modes")
    lim = lim or 1.25 * float(np.abs(modes).max())
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    return ax.figure if own else None


def history_figure(hist: dict, modes: np.ndarray, title: str = ""):
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(13, 3.8))
    a.plot(hist["step"], hist["mc"])
    a.axhline(np.log(len(modes)), ls="--", c="gray", lw=0.8)
    a.set_xlabel("generator step")
    a.set_ylabel("MC = log K + sum P log P")
    b.semilogy(hist["step"], hist["mean_dist"])
    b.set_xlabel("generator step")
    b.set_ylabel("mean nearest-mode distance")
    com = hist["com"]
    sc = c.scatter(com[:, 0], com[:, 1], c=hist["step"], s=4, cmap="viridis")
    c.plot(com[:, 0], com[:, 1], lw=0.3, c="k")
    c.scatter(modes[:, 0], modes[:, 1], s=40, marker="x", c="r")
    lim = 1.25 * float(np.abs(modes).max())
    c.set_xlim(-lim, lim)
    c.set_ylim(-lim, lim)
    c.set_aspect("equal")
    c.set_title("centre of mass of the cloud", fontsize=9)
    fig.colorbar(sc, ax=c, label="generator step")
    fig.suptitle(title)
    return fig


class ParticleFigures(Callback):
    """Every `every_n_epochs` epochs (and at the end of training): the scatter image and the trajectory."""

    def __init__(self, every_n_epochs: int = 5):
        self.every = max(1, every_n_epochs)

    def _draw(self, trainer, pl_module, tag: str):
        if trainer.fast_dev_run or not trainer.is_global_zero:
            return
        out = Path(trainer.default_root_dir) / "figures"
        x = pl_module.particles.detach().float().cpu().numpy()
        modes = pl_module.modes.detach().float().cpu().numpy()
        step = int(getattr(pl_module, "gen_steps", trainer.global_step))
        paths = [save(scatter_figure(x, modes, f"{getattr(pl_module, 'registry_name', '')} generator step {step}"),
                      out / f"particles_{tag}.png")]
        if hasattr(pl_module, "history") and len(pl_module.history()["step"]):
            paths.append(save(history_figure(pl_module.history(), modes), out / "history.png"))
        log_images(trainer, "particles", paths)

    def on_train_epoch_end(self, trainer, pl_module):
        if (trainer.current_epoch + 1) % self.every == 0:
            self._draw(trainer, pl_module, f"epoch{trainer.current_epoch:04d}")

    def on_train_end(self, trainer, pl_module):
        self._draw(trainer, pl_module, "final")
