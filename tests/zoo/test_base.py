"""The base tasks: ZooTask takes no arguments of its own and builds once; SupervisedTask takes any torch.optim
optimizer by name, the TensorFlow-1 Adadelta preset, and optimizer_args."""
from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from zoo.base import SupervisedTask, ZooTask, build_optimizer


class _Tiny(SupervisedTask):
    def __init__(self, width: int = 3, **kw):
        super().__init__(**kw)

    def configure_models(self):
        self.net = torch.nn.Linear(2, self.hparams.width)


def _params():
    return [torch.nn.Parameter(torch.zeros(2))]


@pytest.mark.parametrize("name, cls", [("adam", torch.optim.Adam), ("AdamW", torch.optim.AdamW),
                                       ("adamw", torch.optim.AdamW), ("sgd", torch.optim.SGD),
                                       ("RMSprop", torch.optim.RMSprop)])
def test_any_torch_optimizer_by_name(name, cls):
    opt = build_optimizer(_params(), name, lr=0.1, weight_decay=0.01)
    assert type(opt) is cls and opt.defaults["lr"] == 0.1 and opt.defaults["weight_decay"] == 0.01


def test_adadelta_tf_preset_and_optimizer_args():
    opt = build_optimizer(_params(), "adadelta_tf", lr=0.5)
    assert type(opt) is torch.optim.Adadelta and (opt.defaults["rho"], opt.defaults["eps"]) == (0.95, 1e-8)
    m = _Tiny(optimizer="sgd", lr=0.2, optimizer_args={"momentum": 0.9, "nesterov": True})
    opt = m.configure_optimizers()
    assert type(opt) is torch.optim.SGD and opt.defaults["momentum"] == 0.9 and opt.defaults["nesterov"]


@pytest.mark.parametrize("kw, arg", [({"optimizer": "adamx"}, "optimizer"), ({"lr_schedule": "linear"}, "lr_schedule"),
                                     ({"optimizer_args": [1]}, "optimizer_args")])
def test_bad_arguments_name_themselves(kw, arg):
    with pytest.raises(ValueError, match=arg):
        _Tiny(**kw)


def test_hparams_are_the_subclass_chain_and_the_model_is_built_once():
    m = _Tiny(width=5, optimizer="adamw")
    assert dict(m.hparams) == {"width": 5, "optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.0,
                               "lr_schedule": "constant", "optimizer_args": None}
    w = m.net.weight.detach().clone()
    # Lightning calls its own configure_model hook at every fit/validate/test: it must not rebuild the network
    trainer = pl.Trainer(max_steps=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    trainer.strategy.connect(m)
    m.configure_model()
    assert torch.equal(m.net.weight, w)


def test_zoo_task_takes_no_arguments():
    with pytest.raises(TypeError):
        ZooTask(optimizer="adam")
