"""Metrics shared by the models (torchmetrics, so they sync under DDP)."""
from __future__ import annotations

import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat


class MedianAbsoluteError(Metric):
    """Median |pred - target|: what the Mills papers call "MAE" (defined as the median absolute error in Mills,
    Spanner & Tamblyn, PRA 96, 042113 (2017), Sec. III (thesis L1384), and in the EDNN paper, Chem. Sci. 10, 4129
    (2019) (thesis L1812)); models log median_abs_error and mean_abs_error under those unambiguous names.

    Under DDP the per-sample errors of all ranks are gathered (`dist_reduce_fx="cat"`) and ONE median is
    taken over the union: a mean of per-rank medians is not the median."""

    full_state_update = False
    higher_is_better = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_state("errors", default=[], dist_reduce_fx="cat")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        self.errors.append((preds.detach().flatten() - target.detach().flatten()).abs().float())

    def compute(self) -> torch.Tensor:
        # a list of per-batch tensors on one process; after a DDP sync torchmetrics has already
        # concatenated the gathered states into one tensor (so `if self.errors` would be ambiguous)
        errors = self.errors
        if isinstance(errors, list):
            errors = dim_zero_cat(errors) if errors else torch.zeros(0, device=self.device)
        return torch.quantile(errors, 0.5) if errors.numel() else torch.tensor(float("nan"), device=self.device)


class GatheredRows(Metric):
    """Per-sample rows (n, k) kept for a statistic that is not a sum (a median, a per-label mean of a
    ratio): under DDP `compute()` returns the rows of ALL ranks, concatenated, so the caller computes the
    statistic once over the whole evaluation set instead of averaging per-rank values."""

    full_state_update = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_state("rows", default=[], dist_reduce_fx="cat")

    def update(self, rows: torch.Tensor) -> None:
        self.rows.append(rows.detach().double())

    def compute(self) -> torch.Tensor:
        rows = self.rows
        if isinstance(rows, list):  # one process (after a DDP sync torchmetrics hands back one tensor)
            rows = dim_zero_cat(rows) if rows else torch.zeros(0, device=self.device, dtype=torch.float64)
        return rows


def regression_metrics():
    """The regression models' validation/test metrics: median and mean absolute error (both named; see above)."""
    import torchmetrics

    return torchmetrics.MetricCollection({"median_abs_error": MedianAbsoluteError(),
                                          "mean_abs_error": torchmetrics.MeanAbsoluteError()})
