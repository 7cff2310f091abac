"""Tiny-data overrides for `test_every_config_fast_dev_run` (see tests/cli_tiny/__doc__.md)."""
from __future__ import annotations


def tiny(data: dict) -> list[str]:
    return ["--data.init_args.n_samples", "630",
            "--data.init_args.shard_size", "10" if data.get("sampling", "targeted") == "targeted" else "100"]


def model(model_args: dict, data: dict):
    from zoo.ising_cnn import IsingCNN

    return IsingCNN(**{**model_args, "L": data["L"]})


TINY = {"datamodules.ising.IsingDataModule": (tiny, model)}
