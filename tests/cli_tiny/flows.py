"""Tiny-data overrides for the flows configs' fast_dev_run (see tests/cli_tiny/__doc__.md)."""
from __future__ import annotations


def ring_tiny(data: dict) -> list[str]:
    return ["--data.init_args.batch_size", "32", "--data.init_args.steps_per_epoch", "4"]


def ring_model(model_args: dict, data: dict):
    from zoo.flows import Ring2DFlow

    return Ring2DFlow(**model_args)


def ising_tiny(data: dict) -> list[str]:
    return ["--data.init_args.batch_size", "16", "--data.init_args.steps_per_epoch", "4"]


def ising_model(model_args: dict, data: dict):
    from zoo.flows import IsingDualFlow

    # L, T and batch_size are linked from the data: the coupling nets' widths follow L^2
    return IsingDualFlow(**{**model_args, "L": data.get("L", 4), "batch_size": 16})


TINY = {"datamodules.flows.Ring2DDataModule": (ring_tiny, ring_model),
        "datamodules.flows.IsingDualSeeds": (ising_tiny, ising_model)}
