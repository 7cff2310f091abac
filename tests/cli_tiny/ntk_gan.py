"""Tiny-data overrides for `test_every_config_fast_dev_run` (see tests/cli_tiny/__doc__.md)."""
from __future__ import annotations


def tiny(data: dict) -> list[str]:
    return ["--data.init_args.batch_size", "64", "--data.init_args.steps_per_epoch", "4"]


def model(model_args: dict, data: dict):
    from zoo.ntk_gan import ParticleGAN

    return ParticleGAN(**{**model_args, "n_modes": data.get("n_modes", 8), "radius": data.get("radius", 2.0)})


TINY = {"datamodules.gaussians.GaussianRingDataModule": (tiny, model)}
