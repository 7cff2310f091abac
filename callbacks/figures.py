"""Evaluation figures written after test (and optionally validation) epochs.

Duck-typed: works with any model whose eval steps return {"preds", "target"}.  Integer
predictions are treated as classes (confusion matrix + per-class accuracy); floating ones as
regression (parity plot + error histogram).  A model may expose `class_values` (e.g. the energy of
each class) to label the axes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from pytorch_lightning import Callback

from .plotting import log_images, plt, save


def figure_dir(trainer) -> Path:
    return Path(trainer.default_root_dir) / "figures"


def confusion_figure(pred: np.ndarray, target: np.ndarray, n_classes: int, class_values=None, title: str = ""):
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (target, pred), 1)
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.6))
    im = a.imshow(np.log10(cm + 1), origin="lower", cmap="viridis")
    fig.colorbar(im, ax=a, label="log10(count + 1)")
    ticks = np.arange(n_classes) if n_classes <= 20 else np.arange(0, n_classes, 8)
    labels = ticks if class_values is None else np.asarray(class_values)[ticks]
    for setter in (a.set_xticks, a.set_yticks):
        setter(ticks)
    a.set_xticklabels(labels, rotation=90, fontsize=7)
    a.set_yticklabels(labels, fontsize=7)
    a.set_xlabel("predicted")
    a.set_ylabel("true")
    per_class = np.divide(np.diag(cm), cm.sum(1), out=np.full(n_classes, np.nan), where=cm.sum(1) > 0)
    x = np.arange(n_classes) if class_values is None else np.asarray(class_values)
    b.bar(x, per_class, width=(x[1] - x[0]) * 0.8 if len(x) > 1 else 0.8)
    b.set_ylim(min(0.9, np.nanmin(per_class) - 0.02) if np.isfinite(per_class).any() else 0, 1.005)
    b.set_xlabel("class" if class_values is None else "true energy (J)")
    b.set_ylabel("accuracy")
    acc = np.trace(cm) / max(cm.sum(), 1)
    fig.suptitle(f"{title} accuracy {100 * acc:.3f} % on {cm.sum()} examples")
    return fig


def parity_figure(pred: np.ndarray, target: np.ndarray, unit: str = "", title: str = ""):
    err = pred - target
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.4))
    a.hist2d(target, pred, bins=80, cmap="viridis", cmin=1)
    lo, hi = float(min(target.min(), pred.min())), float(max(target.max(), pred.max()))
    a.plot([lo, hi], [lo, hi], "r--", lw=0.8)
    a.set_xlabel(f"true {unit}")
    a.set_ylabel(f"predicted {unit}")
    b.hist(err, bins=100)
    b.set_xlabel(f"predicted - true {unit}")
    b.set_yscale("log")
    fig.suptitle(f"{title} median |err| {np.median(np.abs(err)):.4g}, mean |err| {np.mean(np.abs(err)):.4g}")
    return fig


class EvaluationFigures(Callback):
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
        path = save(fig, figure_dir(trainer) / f"{stage}_{name}.png")
        log_images(trainer, f"{stage}/{name}", [path])
