"""The configs' checkpoint callbacks keep last.ckpt current even when the monitored metric plateaus.

Lightning 2.6's `save_last=True` refreshes last.ckpt only when a top-k checkpoint is written, so
a run whose validation accuracy reached 1.0 early kept an early last.ckpt (our first published 8x8
classifier came from epoch 9 of 20).  The configs therefore add a monitor-free ModelCheckpoint
named `last`.  This runs the callbacks exactly as written in a published config on a model that
cannot improve (lr = 0) and checks which epoch each file holds.
"""
from pathlib import Path

import yaml
from jsonargparse import ArgumentParser
from pytorch_lightning import Trainer
from pytorch_lightning.callbacks import Callback

from datamodules.ising import IsingDataModule
from zoo.hub import load_lightning_checkpoint
from zoo.ising_cnn import IsingCNN

REPO = Path(__file__).resolve().parent.parent


def _callbacks(config: str, dirpath) -> list[Callback]:
    cfg = yaml.safe_load((REPO / config).read_text())
    parser = ArgumentParser()
    parser.add_argument("--callbacks", type=list[Callback])
    out = []
    for cb in cfg["trainer"]["callbacks"]:
        if cb["class_path"].endswith("ModelCheckpoint"):
            cb = {**cb, "init_args": {**cb["init_args"], "dirpath": str(dirpath)}}
            out += parser.instantiate_classes(parser.parse_object({"callbacks": [cb]})).callbacks
    return out


def test_last_ckpt_is_the_final_epoch_when_metric_plateaus(tmp_path):
    cbs = _callbacks("configs/ising_cnn/8x8-classify.yaml", tmp_path)
    assert len(cbs) == 2
    dm = IsingDataModule(L=4, n_samples=150, shard_size=10, eval_on="all", val_fraction=0, test_fraction=0,
                         batch_size=64, progress=False)
    model = IsingCNN(L=4, fc_width=8, lr=0.0, optimizer="adam")
    Trainer(max_epochs=3, logger=False, enable_progress_bar=False, enable_model_summary=False, callbacks=cbs,
            default_root_dir=tmp_path, limit_val_batches=2).fit(model, dm)
    assert load_lightning_checkpoint(tmp_path / "last.ckpt")["epoch"] == 2
    assert load_lightning_checkpoint(tmp_path / "best.ckpt")["epoch"] == 0  # nothing improved after epoch 0
    assert sorted(p.name for p in tmp_path.glob("*.ckpt")) == ["best.ckpt", "last.ckpt"]
