"""Figures of a particle generator during training: the cloud over the target modes, and its trajectory.

Duck-typed: any model with `particles` (N, 2), `modes` (K, 2) and, optionally, `history()` ->
{'step', 'mc', 'mean_dist', 'com'} (e.g. zoo.ntk_gan.ParticleGAN).  The drawing is zoo.figures.ntk_gan's.
"""
from __future__ import annotations

from zoo.figures.common import save
from zoo.figures.ntk_gan import history_figure, scatter_figure

from .figures import FigureCallback


class ParticleFigures(FigureCallback):
    """Every `every_n_epochs` epochs (and at the end of training): the scatter image and the trajectory."""

    def __init__(self, every_n_epochs: int = 5):
        self.every = max(1, every_n_epochs)

    def _draw(self, trainer, pl_module, tag: str):
        if trainer.fast_dev_run or not trainer.is_global_zero:
            return
        out = self.figure_dir(trainer)
        x = pl_module.particles.detach().float().cpu().numpy()
        modes = pl_module.modes.detach().float().cpu().numpy()
        step = int(getattr(pl_module, "gen_steps", trainer.global_step))
        paths = [save(scatter_figure(x, modes, f"{getattr(pl_module, 'registry_name', '')} generator step {step}"),
                      out / f"particles_{tag}.png")]
        if hasattr(pl_module, "history") and len(pl_module.history()["step"]):
            paths.append(save(history_figure(pl_module.history(), modes), out / "history.png"))
        self.log_images(trainer, "particles", paths)

    def on_train_epoch_end(self, trainer, pl_module):
        if (trainer.current_epoch + 1) % self.every == 0:
            self._draw(trainer, pl_module, f"epoch{trainer.current_epoch:04d}")

    def on_train_end(self, trainer, pl_module):
        self._draw(trainer, pl_module, "final")
