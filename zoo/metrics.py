"""Metrics shared by the models (torchmetrics, so they sync under DDP)."""
from __future__ import annotations

import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat


class MedianAbsoluteError(Metric):
    """Median |pred - target|: what the thesis papers call "MAE" (spec: things easy to get wrong #1)."""

    full_state_update = False
    higher_is_better = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_state("errors", default=[], dist_reduce_fx="cat")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        self.errors.append((preds.detach().flatten() - target.detach().flatten()).abs().float())

    def compute(self) -> torch.Tensor:
        return torch.quantile(dim_zero_cat(self.errors), 0.5) if self.errors else torch.tensor(float("nan"))
