"""One folder per run: `--trainer.default_root_dir` decides where everything of a run goes.

    <default_root_dir>/checkpoints/   every ModelCheckpoint without its own dirpath (RunFolder.setup)
    <default_root_dir>/wandb/         the W&B logger without its own save_dir (`before_instantiate`)
    <default_root_dir>/figures/       the figure callbacks (they read default_root_dir themselves)

Lightning alone would put checkpoints under `<logger save_dir>/<project>/<W&B run id>/checkpoints`
with a W&B logger and under `<default_root_dir>/checkpoints` only without one; RunFolder makes the
second hold in both cases.  A fresh fit (no --ckpt_path) into a folder that already holds
checkpoints is refused instead of overwriting them; resuming from a checkpoint of that folder is
allowed.  Each checkpoint records the W&B run id, so `zoo fit --ckpt_path .../last.ckpt` continues
the same W&B run (`before_instantiate` hands the id to the logger before it starts a run).
"""
from __future__ import annotations

from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from pytorch_lightning.loggers import WandbLogger

from zoo.runs import WANDB_ID_KEY, RunFolderInUse, checkpoint_clash, clash_message, run_root

__all__ = ["RunFolder", "RunFolderInUse"]


class RunFolder(Callback):
    """Checkpoints under <default_root_dir>/checkpoints, no fresh fit over a finished run, W&B id kept."""

    def setup(self, trainer, pl_module, stage: str) -> None:
        # Lightning moves ModelCheckpoints to the end of the callback list, so this runs before their
        # setup, which would otherwise derive the folder from the logger
        for cb in trainer.checkpoint_callbacks:
            if isinstance(cb, ModelCheckpoint) and cb.dirpath is None:
                cb.dirpath = str(run_root(trainer.default_root_dir) / "checkpoints")

    def on_train_start(self, trainer, pl_module) -> None:
        # here, not in setup: trainer.ckpt_path (resume or not) is only known once the checkpoint is restored
        if trainer.fast_dev_run:  # writes no checkpoint
            return
        clash = None
        if trainer.is_global_zero:
            folders = {cb.dirpath for cb in trainer.checkpoint_callbacks if getattr(cb, "dirpath", None)}
            clash = next(((f, n) for f in sorted(folders) if (n := checkpoint_clash(f, trainer.ckpt_path))), None)
        clash = trainer.strategy.broadcast(clash)  # every rank stops, not only rank 0
        if clash:
            raise RunFolderInUse(clash_message(*clash))

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger) and logger.version:
                checkpoint[WANDB_ID_KEY] = logger.version
                break
