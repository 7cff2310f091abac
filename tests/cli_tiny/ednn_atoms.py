"""Tiny-data overrides for the EDNN atoms-as-pictures PROXY configs' fast_dev_run (see tests/cli_tiny/__doc__.md)."""
from __future__ import annotations


def tiny(data: dict) -> list[str]:
    return ["--data.init_args.n_train", "4", "--data.init_args.n_val", "2", "--data.init_args.n_test", "2",
            "--data.init_args.transfer", "[2]", "--data.init_args.n_transfer", "[1]",
            "--data.init_args.shard_size", "4", "--data.init_args.batch_size", "4"]


def model(model_args: dict, data: dict):
    from zoo.ednn import AtomsEDNN

    return AtomsEDNN(**model_args)  # size-agnostic: no cell size is linked


TINY = {"datamodules.atoms.AtomsDataModule": (tiny, model)}
