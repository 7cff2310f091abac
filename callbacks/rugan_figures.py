"""RUGAN figures during training: a sample gallery per temperature and size, and <e>, <|m|> vs T of generated vs
real validation configurations; saved under <run>/figures and logged to the loggers at each validation."""
from __future__ import annotations

import torch

from zoo.figures.common import save
from zoo.figures.rugan import gallery_figure, observables_figure

from .figures import FigureCallback


class RUGANFigures(FigureCallback):
    """Every `every_n_validations` validations of a temperature-conditioned RUGAN: gallery + observables vs T.
    Other conditionings (the (E/L^2, m) model) are skipped."""

    def __init__(self, every_n_validations: int = 1, temperatures: tuple[float, ...] = (1.5, 2.27, 3.0),
                 sizes: tuple[int, ...] = (16, 64), n_per_cell: int = 3):
        if every_n_validations < 1 or not temperatures or not sizes or any(L % 4 for L in sizes):
            raise ValueError("every_n_validations >= 1, temperatures and sizes non-empty, sizes multiples of 4")
        self.every, self.temperatures, self.sizes, self.n = every_n_validations, temperatures, sizes, n_per_cell
        self._seen = 0

    def on_validation_epoch_end(self, trainer, pl_module):
        if trainer.sanity_checking or tuple(getattr(pl_module, "label_names", ())) != ("temperature",):
            return
        self._seen += 1
        if self._seen % self.every or not trainer.is_global_zero:
            return
        out = self.figure_dir(trainer)
        tag = f"step{int(pl_module.generator_steps):06d}"
        with torch.no_grad():
            # a private seeded generator per cell: drawing figures does not move the training RNG
            samples = {(L, T): pl_module.sample(self.n, L=L, temperature=T, seed=0, extrapolate=True).cpu().numpy()
                       for L in self.sizes for T in self.temperatures}
        paths = [save(gallery_figure(samples, self.temperatures, self.sizes), out / f"gallery_{tag}.png")]
        val = getattr(pl_module, "_val", {})
        if val:
            paths.append(save(observables_figure(val), out / f"observables_{tag}.png"))
        self.log_images(trainer, "rugan/figures", paths)
