"""The task base classes (torchgeo `trainers/base.py` shape): hyperparameters are JSON primitives only.

`ZooTask` takes no init arguments of its own.  Its `__init__` saves the subclass's arguments as hyperparameters and
calls `configure_models()`, `configure_losses()` and `configure_metrics()` once (the plural name is torchgeo's: it
does not collide with Lightning's `configure_model` hook, which the Trainer calls again at every fit/validate/test).
`SupervisedTask` adds the optimizer arguments of the models trained by gradient descent on a loss; models that make
their own data (GANs, particles) or fit without an optimizer (the MBL clusterer) derive from `ZooTask` directly and
configure what they need (ARCHITECTURE.md, "A model that makes its own data").
"""
from __future__ import annotations

import pytorch_lightning as pl
import torch
from torchmetrics import MeanMetric

from datamodules.validation import positive_int

SCHEDULES = ("constant", "cosine")
# named presets beside torch.optim's own classes
PRESETS = ("adadelta_tf",)


def _optimizer_classes() -> dict[str, type]:
    return {name.lower(): cls for name, cls in vars(torch.optim).items()
            if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer) and cls is not torch.optim.Optimizer}


def optimizer_names() -> list[str]:
    return sorted(_optimizer_classes()) + list(PRESETS)


def build_optimizer(params, name: str, lr: float, weight_decay: float = 0.0, **kwargs) -> torch.optim.Optimizer:
    """Any torch.optim class by name, case-insensitive ('adam', 'AdamW', 'sgd', ...), plus 'adadelta_tf'; `kwargs`
    go to the class (betas, momentum, ...)."""
    if name == "adadelta_tf":
        # TensorFlow-1 AdadeltaOptimizer(learning_rate=lr): the Adadelta step is multiplied by lr,
        # with TF's defaults rho=0.95, epsilon=1e-8 (PyTorch's defaults are lr=1, rho=0.9, eps=1e-6)
        return torch.optim.Adadelta(params, lr=lr, weight_decay=weight_decay, **{"rho": 0.95, "eps": 1e-8, **kwargs})
    cls = _optimizer_classes().get(str(name).lower())
    if cls is None:
        raise ValueError(f"optimizer must be a torch.optim class name or one of {PRESETS}; got {name!r} "
                         f"(valid: {', '.join(optimizer_names())})")
    return cls(params, lr=lr, weight_decay=weight_decay, **kwargs)


class ZooTask(pl.LightningModule):
    """Base of every model: no init arguments of its own (see the module docstring)."""

    registry_name = "?"
    card: dict | None = None  # set by zoo.load_pretrained

    def __init__(self):
        super().__init__()
        # every __init__ argument of the subclass chain (Lightning collects them from the call stack)
        self.save_hyperparameters()
        # sample-weighted eval losses (log_eval_loss); metric states are not persistent, so checkpoints do not change
        self.eval_loss = torch.nn.ModuleDict({"val": MeanMetric(), "test": MeanMetric()})
        self.configure_models()
        self.configure_losses()
        self.configure_metrics()

    def configure_models(self) -> None:
        raise NotImplementedError

    def configure_losses(self) -> None:
        pass

    def configure_metrics(self) -> None:
        pass

    # subclasses implement _eval_step(batch, metrics, stage) and own val_metrics / test_metrics
    def validation_step(self, batch, batch_idx):
        return self._eval_step(batch, self.val_metrics, "val")

    def test_step(self, batch, batch_idx):
        return self._eval_step(batch, self.test_metrics, "test")

    def log_eval_loss(self, stage: str, loss: torch.Tensor, n: int) -> None:
        """`{stage}/loss` as the mean over every evaluated sample on every rank.  `self.log(..., sync_dist=True)`
        averages the ranks' integer sample counts with integer division (Lightning 2.6), so ranks holding different
        numbers of samples (unrepeated evaluation sets under DDP) logged a wrong mean."""
        metric = self.eval_loss[stage]
        metric.update(loss.detach().float(), torch.tensor(float(n), device=loss.device))
        self.log(f"{stage}/loss", metric, on_step=False, on_epoch=True)

    @torch.no_grad()
    def batched_forward(self, x: torch.Tensor, batch_size: int) -> torch.Tensor:
        """forward() over a large input in chunks (domain methods take whole datasets)."""
        batch_size = positive_int(batch_size, "batch_size")  # 0 or less: a raw range() error otherwise
        if not len(x):
            return x.new_zeros(0)
        return torch.cat([self(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


class SupervisedTask(ZooTask):
    """A model trained by gradient descent on a loss over given data: owns the optimizer arguments.

    Args:
        optimizer: any torch.optim class by name ('adam', 'adamw', 'sgd', ...) or 'adadelta_tf' (TensorFlow 1's
            Adadelta, which the Mills papers trained with).
        lr, weight_decay: the optimizer's.
        lr_schedule: 'constant' or 'cosine' (decay to zero over max_epochs, stepped per epoch).
        optimizer_args: further keyword arguments of the optimizer class (betas, momentum, ...).
    """

    def __init__(self, optimizer: str = "adam", lr: float = 1e-3, weight_decay: float = 0.0,
                 lr_schedule: str = "constant", optimizer_args: dict | None = None):
        if optimizer != "adadelta_tf" and str(optimizer).lower() not in _optimizer_classes():
            raise ValueError(f"optimizer must be a torch.optim class name or one of {PRESETS}; got {optimizer!r}")
        if lr_schedule not in SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {SCHEDULES}; got {lr_schedule!r}")
        if optimizer_args is not None and not isinstance(optimizer_args, dict):
            raise ValueError(f"optimizer_args must be a dict of keyword arguments; got {optimizer_args!r}")
        super().__init__()

    def configure_optimizers(self):
        hp = self.hparams
        opt = build_optimizer(self.parameters(), hp.optimizer, hp.lr, hp.weight_decay, **(hp.get("optimizer_args") or {}))
        if hp.lr_schedule == "constant":
            return opt
        # cosine decay to zero over the run, stepped per epoch
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, self.trainer.max_epochs))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}


class RegressionHooks:
    """Mixin for the regression models (Ising CNN regressor, Schrodinger CNN, EDNN): MSE loss, and the median and
    mean absolute error on validation and test (zoo.metrics.regression_metrics).  List it before the task base."""

    def configure_losses(self) -> None:
        self.loss_fn = torch.nn.MSELoss()

    def configure_metrics(self) -> None:
        from .metrics import regression_metrics

        make = regression_metrics()
        self.val_metrics = make.clone(prefix="val/")
        self.test_metrics = make.clone(prefix="test/")
