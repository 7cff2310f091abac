"""Tiny-data overrides for the (E/L^2, m) RUGAN config's fast_dev_run (see tests/cli_tiny/__doc__.md)."""
from __future__ import annotations


def tiny(data: dict) -> list[str]:
    # L = 8, 10 configurations per energy level (one shard); windows that hold 8x8 data
    return ["--data.init_args.L", "8", "--data.init_args.per_level", "10", "--data.init_args.shard_size", "10",
            "--data.init_args.train_windows", "[[-1.5, -0.5, -0.25, 0.25], [0.5, 2.0, -0.25, 0.25]]",
            "--data.init_args.n_select_labels", "2", "--data.init_args.gen_workers", "1"]


def model(model_args: dict, data: dict):
    from zoo.rugan import RUGANEM

    return RUGANEM(**model_args)  # nothing is linked from the data: the (E/L^2, m) labels have fixed ranges


TINY = {"datamodules.rugan_em.IsingEMDataModule": (tiny, model)}
