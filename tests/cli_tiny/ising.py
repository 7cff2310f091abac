"""Tiny-data overrides for `test_every_config_fast_dev_run` (see tests/cli_tiny/__doc__.md)."""
from __future__ import annotations


def tiny(data: dict) -> list[str]:
    return ["--data.init_args.n_samples", "630",
            "--data.init_args.shard_size", "10" if data.get("sampling", "targeted") == "targeted" else "100"]


def model(model_args: dict, data: dict):
    from zoo.ising_cnn import IsingCNN, IsingCNNRegressor

    # the regression configs name IsingCNNRegressor, whose label the CLI links from the data
    label = data.get("label", "energy_class")
    if label == "energy_class":
        return IsingCNN(**{**model_args, "L": data["L"]})
    return IsingCNNRegressor(**{**model_args, "L": data["L"], "label": label})


def tiny_long_range(data: dict) -> list[str]:
    return ["--data.init_args.n_train", "300", "--data.init_args.n_val", "60", "--data.init_args.n_test", "60",
            "--data.init_args.shard_size", "200"]


def model_long_range(model_args: dict, data: dict):
    from zoo.ising_cnn import IsingCNNRegressor

    # L and hamiltonian are linked from the long-range DataModule
    return IsingCNNRegressor(**{**model_args, "L": data["L"], "hamiltonian": data["hamiltonian"]})


TINY = {"datamodules.ising.IsingDataModule": (tiny, model),
        "datamodules.ising_long_range.LongRangeSpinDataModule": (tiny_long_range, model_long_range)}
