"""Run folders (callbacks/run_folder.py): checkpoints go to <default_root_dir>/checkpoints whatever
the logger, a second run with another default_root_dir leaves the first one's files alone, a fresh
fit into a used folder is refused while a resume from it is not, the configs no longer hard-code
run paths, and `zoo fit --ckpt_path .../last.ckpt` continues the same (offline) W&B run."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from pytorch_lightning import Trainer
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger

from callbacks.run_folder import RunFolder
from zoo.runs import WANDB_ID_KEY, RunFolderInUse, before_instantiate
from datamodules.ising import IsingDataModule
from zoo.hub import load_lightning_checkpoint
from zoo.ising_cnn import IsingCNN

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(REPO.glob("configs/**/*.yaml"))
DATA = dict(L=4, n_samples=150, shard_size=10, eval_on="all", val_fraction=0.0, test_fraction=0.0, batch_size=64,
            progress=False, gen_workers=1)


def _fit(root: Path, logger=False, ckpt_path=None, max_epochs=1) -> Trainer:
    cbs = [RunFolder(), ModelCheckpoint(filename="last", enable_version_counter=False)]
    trainer = Trainer(max_epochs=max_epochs, default_root_dir=root, logger=logger, callbacks=cbs, limit_train_batches=2,
                      limit_val_batches=1, num_sanity_val_steps=0, enable_progress_bar=False,
                      enable_model_summary=False)
    trainer.fit(IsingCNN(L=4, fc_width=8, optimizer="adam"), IsingDataModule(**DATA), ckpt_path=ckpt_path)
    return trainer


@pytest.mark.parametrize("logger", ["none", "csv"])
def test_checkpoints_follow_default_root_dir(tmp_path, logger):
    # with a logger, Lightning alone would write to <logger save_dir>/<name>/<version>/checkpoints
    make = (lambda: False) if logger == "none" else (lambda: CSVLogger(tmp_path / "logs"))
    _fit(tmp_path / "a", make())
    first = (tmp_path / "a/checkpoints/last.ckpt").read_bytes()
    _fit(tmp_path / "b", make())  # a second run elsewhere: its own last.ckpt, the first one untouched
    assert (tmp_path / "b/checkpoints/last.ckpt").is_file()
    assert (tmp_path / "a/checkpoints/last.ckpt").read_bytes() == first
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.ckpt")) == \
        ["a/checkpoints/last.ckpt", "b/checkpoints/last.ckpt"]


def test_fresh_fit_into_used_folder_refused_resume_allowed(tmp_path):
    _fit(tmp_path)
    last = tmp_path / "checkpoints/last.ckpt"
    before = last.read_bytes()
    with pytest.raises(RunFolderInUse, match=r"last\.ckpt.*--ckpt_path .*last\.ckpt.*default_root_dir"):
        _fit(tmp_path)
    assert last.read_bytes() == before
    _fit(tmp_path, ckpt_path=last, max_epochs=2)  # resuming the run of this folder is what it is for
    assert load_lightning_checkpoint(last)["epoch"] == 1


def test_configs_leave_run_paths_to_default_root_dir():
    for path in CONFIGS:
        trainer = yaml.safe_load(path.read_text())["trainer"]
        assert trainer["default_root_dir"].startswith("runs/"), path
        logger = trainer.get("logger")
        if isinstance(logger, dict):
            assert "save_dir" not in logger.get("init_args", {}), path
        callbacks = trainer["callbacks"]
        assert callbacks[0]["class_path"] == "callbacks.run_folder.RunFolder", path
        for cb in callbacks[1:]:
            assert "dirpath" not in cb.get("init_args", {}), (path, cb)


def _cli_config(**trainer):
    """A parsed `fit` config as zoo/cli.py's before_instantiate_classes sees it."""
    from jsonargparse import Namespace

    logger = Namespace(class_path="zoo.loggers.ZooWandbLogger", init_args=Namespace(save_dir=None, id=None))
    return Namespace(trainer=Namespace(logger=logger, fast_dev_run=False, **trainer), ckpt_path=None)


def test_cli_hook_refuses_before_any_logger_exists(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints/best.ckpt").write_bytes(b"")
    cfg = _cli_config(default_root_dir=str(tmp_path))
    with pytest.raises(RunFolderInUse, match="best.ckpt"):
        before_instantiate(cfg, "fit")
    before_instantiate(cfg, "test")  # evaluating a finished run writes no checkpoint
    cfg.ckpt_path = "last"  # a resume (Lightning resolves "last" later; RunFolder checks the resolved path)
    before_instantiate(cfg, "fit")
    assert cfg.trainer.logger.init_args.save_dir == str(tmp_path)  # W&B files next to the checkpoints


TINY_FIT = {
    "seed_everything": 0,
    "trainer": {"max_epochs": 1, "limit_train_batches": 2, "limit_val_batches": 1, "num_sanity_val_steps": 0,
                "enable_progress_bar": False, "enable_model_summary": False,
                "logger": {"class_path": "zoo.loggers.ZooWandbLogger", "init_args": {"name": "tiny"}},
                "callbacks": [{"class_path": "callbacks.run_folder.RunFolder"},
                              {"class_path": "pytorch_lightning.callbacks.ModelCheckpoint",
                               "init_args": {"filename": "last", "enable_version_counter": False}}]},
    "model": {"class_path": "zoo.ising_cnn.IsingCNN", "init_args": {"fc_width": 8, "optimizer": "adam"}},
    "data": {"class_path": "datamodules.ising.IsingDataModule", "init_args": DATA},
}


def _offline_ids(root: Path) -> list[str]:
    return sorted(re.fullmatch(r"offline-run-\d{8}_\d{6}-(\w+)", p.name).group(1)
                  for p in (root / "wandb").glob("offline-run-*"))


def test_resumed_fit_continues_the_wandb_run(tmp_path, zoo_cmd, subprocess_env):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY_FIT))
    root = tmp_path / "run"
    env = subprocess_env(WANDB_MODE="offline", WANDB_SILENT="true")

    def fit(*extra):
        r = subprocess.run(zoo_cmd + ["fit", "--config", str(cfg), "--trainer.default_root_dir", str(root), *extra],
                           env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-5000:]

    fit()
    (first,) = _offline_ids(root)  # W&B writes under default_root_dir (the config sets no save_dir)
    last = root / "checkpoints/last.ckpt"
    assert load_lightning_checkpoint(last)[WANDB_ID_KEY] == first
    fit("--ckpt_path", str(last), "--trainer.max_epochs", "2")
    assert load_lightning_checkpoint(last)["epoch"] == 1  # really resumed: epoch 1 after epoch 0
    assert _offline_ids(root) == [first, first]  # two offline sessions of one W&B run
    assert not (tmp_path / "runs").exists() and not (tmp_path / "wandb").exists()
