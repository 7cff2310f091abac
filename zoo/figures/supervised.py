"""Figures of the supervised models (Ising CNN, Schrodinger CNN, EDNN): confusion matrices and parity plots."""
from __future__ import annotations

import numpy as np

from .common import plt


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
