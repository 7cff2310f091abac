"""Checkpoints and cards from before the one-shape layout, when variants were switch arguments of one class (Ising's
`task`, EDNN's `net`, RUGAN's `labels`, MBL's `kind`), still resolve to today's classes: through `zoo publish`
(hub.card_class with the checkpoint's `_class_path`) and through `zoo fit --ckpt_path` (a resumed run)."""
from __future__ import annotations

import subprocess

import pytest
import pytorch_lightning as pl
import torch
import yaml

from zoo import hub

# (old _class_path, old init args) -> the class of today, and the switch argument gone
OLD = [
    ("zoo.ising_cnn.IsingCNN", {"L": 4, "task": "classify"}, "zoo.ising_cnn.IsingCNN"),
    ("zoo.ising_cnn.IsingCNN", {"L": 8, "task": "magnetization"}, "zoo.ising_cnn.IsingCNNRegressor"),
    ("zoo.ednn.EDNNTask", {"net": "count_cnn", "focus": 8, "context": 8}, "zoo.ednn.CountingEDNN"),
    ("zoo.rugan.RUGAN", {"labels": "em"}, "zoo.rugan.RUGANEM"),
    ("zoo.rugan.RUGAN", {"labels": "temperature", "train_temperatures": [1.5, 3.0]}, "zoo.rugan.RUGAN"),
    ("zoo.mbl.MBLClassifier", {"kind": "clusterer", "optimizer": "adam", "L": 8}, "zoo.mbl.MBLClusterer"),
    ("zoo.mbl.MBLClassifier", {"kind": "classifier", "L": 8}, "zoo.mbl.MBLClassifier"),
]


@pytest.mark.parametrize("path, args, expected", OLD, ids=[f"{p}:{sorted(a.items())[0]}" for p, a, _ in OLD])
def test_old_checkpoint_class_resolves(path, args, expected):
    cls, new_args = hub.checkpoint_class(path, dict(args))
    assert hub.class_path(cls) == expected
    assert not {"task", "net", "labels", "kind"} & set(new_args)
    cls(**new_args)  # and builds


def test_checkpoint_class_refuses_non_models():
    with pytest.raises(ValueError, match="not a zoo model"):
        hub.checkpoint_class("zoo.hub.publish", {})
    assert hub.checkpoint_class("mypkg.MyModel", {"a": 1}) == (None, {"a": 1})  # left to Lightning's parser


def test_zoo_fit_resumes_an_old_style_checkpoint(tmp_path, zoo_cmd, subprocess_env):
    """A run saved before the split (hparams: the old class path and `task`) resumes under `zoo fit`."""
    from datamodules.ising import IsingDataModule
    from zoo.ising_cnn import IsingCNN

    net = dict(L=4, reducing_filters=4, nonreducing_filters=4, fc_width=8)
    data = dict(L=4, n_samples=200, shard_size=50, eval_on="all", val_fraction=0.0, test_fraction=0.0,
                batch_size=64, progress=False, gen_workers=1)
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, limit_val_batches=0, accelerator="cpu")
    trainer.fit(IsingCNN(**net), datamodule=IsingDataModule(**data))
    old = tmp_path / "old.ckpt"
    trainer.save_checkpoint(old)
    state = torch.load(old, weights_only=True)
    state["hyper_parameters"] = {**state["hyper_parameters"], "_class_path": "zoo.ising_cnn.IsingCNN",
                                 "task": "classify"}
    torch.save(state, old)
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump({
        "trainer": {"max_epochs": 2, "logger": False, "enable_progress_bar": False, "enable_model_summary": False,
                    "limit_val_batches": 0, "default_root_dir": str(tmp_path / "run")},
        "model": {"class_path": "zoo.ising_cnn.IsingCNN", "init_args": net},
        "data": {"class_path": "datamodules.ising.IsingDataModule", "init_args": data}}))
    r = subprocess.run(zoo_cmd + ["fit", "--config", str(cfg), "--ckpt_path", str(old)], env=subprocess_env(),
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-4000:]
    (last,) = (tmp_path / "run").rglob("*.ckpt")
    resumed = hub.load_lightning_checkpoint(last)
    assert resumed["epoch"] == 1 and resumed["global_step"] == 2 * state["global_step"]
    assert "task" not in resumed["hyper_parameters"]
