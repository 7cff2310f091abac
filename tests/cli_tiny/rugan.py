"""Tiny-data overrides for the RUGAN configs' fast_dev_run (see tests/cli_tiny/__doc__.md)."""
from __future__ import annotations


def tiny(data: dict) -> list[str]:
    return ["--data.init_args.temperatures", "[1.5, 3.0]", "--data.init_args.heldout_temperatures", "[2.2]",
            "--data.init_args.n_per_T", "8", "--data.init_args.val_per_T", "4", "--data.init_args.n_chains", "4",
            "--data.init_args.n_equil", "2", "--data.init_args.L", "8", "--data.init_args.gen_workers", "1"]


def model(model_args: dict, data: dict):
    from zoo.rugan import RUGAN

    # the temperatures are linked from the (tiny) data into the model: they set the label range
    return RUGAN(**{**model_args, "train_temperatures": [1.5, 3.0]})


TINY = {"datamodules.rugan.IsingThermalDataModule": (tiny, model)}
