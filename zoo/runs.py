"""Run folders: `--trainer.default_root_dir` decides where everything of a run goes (the CLI side; the
Callback that applies it during training is callbacks.run_folder.RunFolder).

    <default_root_dir>/checkpoints/   every ModelCheckpoint without its own dirpath (RunFolder.setup)
    <default_root_dir>/wandb/         the W&B logger without its own save_dir (`before_instantiate`)
    <default_root_dir>/figures/       the figure callbacks

A fresh fit (no --ckpt_path) into a folder that already holds checkpoints is refused instead of overwriting them;
resuming from a checkpoint of that folder is allowed.  Each checkpoint records the W&B run id, so
`zoo fit --ckpt_path .../last.ckpt` continues the same W&B run (`before_instantiate` hands the id to the logger
before it starts a run).
"""
from __future__ import annotations

import os
from pathlib import Path

from pytorch_lightning.loggers import WandbLogger

WANDB_ID_KEY = "zoo_wandb_run_id"


class RunFolderInUse(FileExistsError):
    """A fresh fit would overwrite an earlier run's checkpoints."""


def run_root(default_root_dir) -> Path:
    return Path(os.path.realpath(os.path.expanduser(default_root_dir or os.getcwd())))


def checkpoint_clash(folder, ckpt_path=None) -> list[str]:
    """Checkpoints in `folder` that a fresh fit would overwrite; none when resuming from one of them."""
    folder = Path(folder)
    if ckpt_path and run_root(Path(ckpt_path).parent) == run_root(folder):
        return []
    return sorted(p.name for p in folder.glob("*.ckpt")) if folder.is_dir() else []


def clash_message(folder, names) -> str:
    return (f"{folder} already holds {', '.join(names)} from an earlier run, which a fresh fit would overwrite. "
            f"Resume that run with --ckpt_path {Path(folder) / 'last.ckpt'}, or pass another "
            f"--trainer.default_root_dir.")


def wandb_run_id(ckpt_path) -> str | None:
    """The W&B run id stored in a checkpoint by RunFolder (None for checkpoints without one)."""
    import pickle

    import torch

    try:  # mmap: the tensors are not read; weights_only: no code runs
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True, mmap=True)
    except (pickle.UnpicklingError, RuntimeError):  # not ours to judge here: the --ckpt_path load reports it
        return None
    return state.get(WANDB_ID_KEY) if isinstance(state, dict) else None


def before_instantiate(cfg, subcommand: str | None) -> None:
    """zoo/cli.py's before_instantiate_classes hook, on the parsed config of `subcommand`.

    The W&B logger's save_dir follows default_root_dir when the config leaves it unset; a fit
    resumed with --ckpt_path continues the checkpoint's W&B run; a fresh fit into a folder with
    checkpoints is refused here already, before a W&B run is opened for nothing.
    """
    from zoo.registry import import_class

    trainer = cfg.trainer
    root = run_root(trainer.get("default_root_dir"))
    ckpt_path = cfg.get("ckpt_path") if subcommand == "fit" else None
    # fresh fits only: a --ckpt_path (also Lightning's "last" / "hpc") is checked by RunFolder once resolved
    if subcommand == "fit" and not ckpt_path and not trainer.get("fast_dev_run") \
            and (names := checkpoint_clash(root / "checkpoints")):
        raise RunFolderInUse(clash_message(root / "checkpoints", names))
    loggers = trainer.get("logger")
    for lg in loggers if isinstance(loggers, list) else [loggers]:
        if not (hasattr(lg, "class_path") and issubclass(import_class(lg.class_path), WandbLogger)):
            continue
        if lg.init_args.get("save_dir") is None:
            lg.init_args.save_dir = str(root)
        if ckpt_path and not lg.init_args.get("id") and Path(ckpt_path).is_file():
            lg.init_args.id = wandb_run_id(ckpt_path)
