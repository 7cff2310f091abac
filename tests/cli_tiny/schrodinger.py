"""Tiny-data overrides for `test_every_config_fast_dev_run` (see tests/cli_tiny/__doc__.md)."""
from __future__ import annotations


def tiny(data: dict) -> list[str]:
    # labels solved on 16^2 (a 256^2 solve takes ~1 s); the stored grid, hence the model, stays as written
    return ["--data.init_args.n_train", "8", "--data.init_args.n_val", "4", "--data.init_args.n_test", "4",
            "--data.init_args.shard_size", "8", "--data.init_args.solve_grid", "16", "--data.init_args.batch_size", "8"]


def model(model_args: dict, data: dict):
    import inspect

    from datamodules.schrodinger import SchrodingerDataModule
    from zoo.schrodinger_cnn import SchrodingerCNN

    grid = data.get("grid", inspect.signature(SchrodingerDataModule).parameters["grid"].default)
    return SchrodingerCNN(**{**model_args, "grid": grid, "label": data.get("label", "e0")})


TINY = {"datamodules.schrodinger.SchrodingerDataModule": (tiny, model)}
