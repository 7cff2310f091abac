"""A callback that draws the MBL phase diagrams (RGB maps and C maps, zoo.figures.mbl) during training."""
from __future__ import annotations

from zoo.figures.common import save
from zoo.figures.mbl import confusion_maps_figure, phase_maps_figure

from .figures import FigureCallback


class PhaseDiagramFigures(FigureCallback):
    """Every `every_n_epochs` validation epochs (classifier) or at each training epoch end (clusterer), draw the
    model's phase diagram (and C map) over the DataModule's grid, save it under <run>/figures and log it."""

    def __init__(self, every_n_epochs: int = 1):
        self.every = max(1, int(every_n_epochs))

    @staticmethod
    def _is_clusterer(pl_module) -> bool:
        # the clusterer accumulates resamples in buffers; the classifier maps a grid through its network
        return hasattr(pl_module, "n_resamples")

    def _draw(self, trainer, pl_module, maps: dict, deltas, lambdas) -> None:
        if not trainer.is_global_zero or not maps:
            return
        out = self.figure_dir(trainer)
        tag = f"epoch{trainer.current_epoch:03d}"
        title = f"L = {pl_module.hparams.L}, {tag}"
        paths = [save(phase_maps_figure(maps, deltas, lambdas, title), out / f"phase_diagram_{tag}.png"),
                 save(confusion_maps_figure(maps, deltas, lambdas, title), out / f"confusion_map_{tag}.png")]
        self.log_images(trainer, "mbl/phase_diagram", paths)

    def on_validation_epoch_end(self, trainer, pl_module):
        if trainer.sanity_checking or self._is_clusterer(pl_module) or (trainer.current_epoch + 1) % self.every:
            return
        dm = trainer.datamodule
        if dm is None or not getattr(dm, "grid_realizations", 0):
            return
        g = dm.grid_data()
        p, _ = pl_module.phase_diagram(g["spectra"], g["point"], dm.n_delta, dm.n_lambda)
        self._draw(trainer, pl_module, {"supervised (mean softmax)": p}, dm.deltas, dm.lambdas)

    def on_train_epoch_end(self, trainer, pl_module):
        if not self._is_clusterer(pl_module) or not int(pl_module.n_resamples):
            return
        maps = {"spectral, 3 clusters": pl_module.phase_diagram("spectral")[0]}
        if int(pl_module.n_accepted):
            maps = {"HDBSCAN (green = noise)": pl_module.phase_diagram("hdbscan")[0], **maps}
        self._draw(trainer, pl_module, maps, pl_module.deltas, pl_module.lambdas)
