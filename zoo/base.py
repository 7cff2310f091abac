"""The task base class (torchgeo BaseTask shape): hyperparameters are JSON primitives only.

`__init__` saves hyperparameters and calls `configure_model()`, `configure_losses()`,
`configure_metrics()`; subclasses override those three and the step logic.
"""
from __future__ import annotations

import functools

import pytorch_lightning as pl
import torch
from torchmetrics import MeanMetric

from .validation import positive_int

OPTIMIZERS = ("adam", "adadelta_tf", "sgd")
SCHEDULES = ("constant", "cosine")


def build_optimizer(params, name: str, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adadelta_tf":
        # TensorFlow-1 AdadeltaOptimizer(learning_rate=lr): the Adadelta step is multiplied by lr,
        # with TF's defaults rho=0.95, epsilon=1e-8 (PyTorch's defaults are lr=1, rho=0.9, eps=1e-6)
        return torch.optim.Adadelta(params, lr=lr, rho=0.95, eps=1e-8, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}; got {name!r}")


class ZooTask(pl.LightningModule):
    registry_name = "?"
    card: dict | None = None  # set by zoo.load_pretrained

    def __init_subclass__(cls, **kwargs):
        # `configure_model` is also a Lightning hook: the Trainer calls it again at the start of every
        # fit/validate/test/predict, which would rebuild the layers and throw away loaded or trained weights
        # (trainer.test(zoo.load_pretrained(...)) tested a fresh random network).  Build once, in __init__.
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("configure_model")
        if build is not None and not getattr(build, "_zoo_once", False):
            @functools.wraps(build)
            def once(self):
                if getattr(self, "_zoo_model_built", False):
                    return
                build(self)
                self._zoo_model_built = True

            once._zoo_once = True
            cls.configure_model = once

    def __init__(self, optimizer: str = "adam", lr: float = 1e-3, weight_decay: float = 0.0,
                 lr_schedule: str = "constant"):
        super().__init__()
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}; got {optimizer!r}")
        if lr_schedule not in SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {SCHEDULES}; got {lr_schedule!r}")
        self.save_hyperparameters()
        # sample-weighted eval losses (log_eval_loss); metric states are not persistent, so checkpoints do not change
        self.eval_loss = torch.nn.ModuleDict({"val": MeanMetric(), "test": MeanMetric()})
        self.configure_model()
        self.configure_losses()
        self.configure_metrics()

    def configure_model(self) -> None:
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

    def configure_optimizers(self):
        hp = self.hparams
        opt = build_optimizer(self.parameters(), hp.optimizer, hp.lr, hp.weight_decay)
        if hp.lr_schedule == "constant":
            return opt
        # cosine decay to zero over the run, stepped per epoch
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, self.trainer.max_epochs))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}
