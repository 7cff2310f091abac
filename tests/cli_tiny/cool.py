"""Tiny-data overrides for `test_every_config_fast_dev_run` (see tests/cli_tiny/__doc__.md)."""
from __future__ import annotations

_TINY_ENV = {"n_reps": 4, "n_steps": 3, "n_sweeps": 1, "episodes_per_batch": 2, "batches_per_epoch": 2}


def tiny(data: dict) -> list[str]:
    out = []
    for k, v in _TINY_ENV.items():
        out += [f"--data.init_args.{k}", str(v)]
    return out


def model(model_args: dict, data: dict):
    from zoo.cool import COOLAgent

    linked = {k: data.get(k, v) for k, v in (("problem", "wsc"), ("side", 4))}
    return COOLAgent(**{**model_args, **linked, "n_reps": _TINY_ENV["n_reps"], "n_steps": _TINY_ENV["n_steps"],
                        "n_sweeps": _TINY_ENV["n_sweeps"]})


TINY = {"datamodules.cool.COOLDataModule": (tiny, model)}
