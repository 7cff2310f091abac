"""Evaluation figures written after test (and optionally validation) epochs.

Duck-typed: works with any model whose eval steps return {"preds", "target"}.  Integer
predictions are treated as classes (confusion matrix + per-class accuracy); floating ones as
regression (parity plot + error histogram).  A model may expose `class_values` (e.g. the energy of
each class) to label the axes.  `FigureCallback` is the base of every figure callback: where PNGs go and how they
reach the loggers.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from pytorch_lightning import Callback

from zoo.figures.common import save
from zoo.figures.supervised import confusion_figure, parity_figure


class FigureCallback(Callback):
    """Base of the figure callbacks: PNGs under <default_root_dir>/figures, logged to every logger that takes
    images (W&B, TensorBoard); others are skipped."""

    @staticmethod
    def figure_dir(trainer) -> Path:
        return Path(trainer.default_root_dir) / "figures"

    @staticmethod
    def log_images(trainer, key: str, paths) -> None:
        for logger in trainer.loggers:
            if hasattr(logger, "log_image"):  # WandbLogger
                logger.log_image(key=key, images=[str(p) for p in paths], step=trainer.global_step)
            elif hasattr(getattr(logger, "experiment", None), "add_image"):  # TensorBoard
                from PIL import Image

                for p in paths:
                    img = np.asarray(Image.open(p).convert("RGB"))
                    logger.experiment.add_image(f"{key}/{Path(p).stem}", img, trainer.global_step, dataformats="HWC")


class EvaluationFigures(FigureCallback):
    def __init__(self, on_validation: bool = False):
        self.on_validation = on_validation
        self._buf: list = []

    def _collect(self, outputs):
        if isinstance(outputs, dict) and "preds" in outputs:
            self._buf.append((outputs["preds"].detach().cpu(), outputs["target"].detach().cpu()))

    def on_test_epoch_start(self, trainer, pl_module):
        self._buf = []

    def on_validation_epoch_start(self, trainer, pl_module):
        self._buf = []

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        self._collect(outputs)

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        if self.on_validation:
            self._collect(outputs)

    def on_test_epoch_end(self, trainer, pl_module):
        self._plot(trainer, pl_module, "test")

    def on_validation_epoch_end(self, trainer, pl_module):
        if self.on_validation and not trainer.sanity_checking:
            self._plot(trainer, pl_module, "val")

    def _plot(self, trainer, pl_module, stage: str):
        if not self._buf or trainer.fast_dev_run:
            return
        pred = torch.cat([p for p, _ in self._buf])
        target = torch.cat([t for _, t in self._buf])
        if trainer.world_size > 1:  # every rank saw a shard of the split
            pred = pl_module.all_gather(pred.to(pl_module.device)).flatten(0, 1).cpu()
            target = pl_module.all_gather(target.to(pl_module.device)).flatten(0, 1).cpu()
        self._buf = []
        if not trainer.is_global_zero:
            return
        title = f"{getattr(pl_module, 'registry_name', '')} {stage}"
        if pred.dtype in (torch.int64, torch.int32):
            values = getattr(pl_module, "class_values", None)
            n = len(values) if values is not None else int(max(pred.max(), target.max())) + 1
            fig = confusion_figure(pred.numpy(), target.numpy(), n, values, title)
            name = "confusion"
        else:
            fig = parity_figure(pred.float().numpy(), target.float().numpy(), getattr(pl_module, "target_unit", ""), title)
            name = "parity"
        path = save(fig, self.figure_dir(trainer) / f"{stage}_{name}.png")
        self.log_images(trainer, f"{stage}/{name}", [path])
