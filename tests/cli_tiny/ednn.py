"""Tiny-data overrides for the EDNN configs' fast_dev_run (see tests/cli_tiny/__doc__.md)."""
from __future__ import annotations


def tiny_ising(data: dict) -> list[str]:
    return ["--data.init_args.n_samples", "630", "--data.init_args.shard_size", "10"]


def model_ising(model_args: dict, data: dict):
    from zoo.ednn import IsingEDNN

    return IsingEDNN(**model_args)  # size-agnostic: no lattice size is linked


def tiny_digits(data: dict) -> list[str]:
    # ten classes (one digit each at L_max >= 1) do not fit a 32 x 32 canvas without overlap: keep the config's canvas
    canvas = 32 if data.get("dataset") != "digits-10" else data["canvas"]
    return ["--data.init_args.n_train", "4", "--data.init_args.n_val", "2", "--data.init_args.n_test", "2",
            "--data.init_args.shard_size", "4", "--data.init_args.canvas", str(canvas), "--data.init_args.test_canvas",
            str(max(48, canvas)), "--data.init_args.batch_size", "4"]


def model_digits(model_args: dict, data: dict):
    from datamodules.digits import DATASETS
    from zoo.ednn import CountingEDNN

    return CountingEDNN(**{**model_args, "n_outputs": len(DATASETS[data["dataset"]]["digits"])})


TINY = {"datamodules.ednn.EDNNIsingDataModule": (tiny_ising, model_ising),
        "datamodules.digits.DigitCountingDataModule": (tiny_digits, model_digits)}
