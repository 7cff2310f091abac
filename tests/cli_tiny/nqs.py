"""Tiny-data overrides for `test_every_config_fast_dev_run` (see tests/cli_tiny/__doc__.md)."""
from __future__ import annotations


def tiny(data: dict) -> list[str]:
    return ["--data.init_args.steps_per_epoch", "2", "--model.init_args.n_chains", "8",
            "--model.init_args.samples_per_chain", "2"]


def model(model_args: dict, data: dict):
    # the complex variant is the only class with init_std_imag (ComplexRBMWavefunction)
    from zoo.nqs import ComplexRBMWavefunction, RBMWavefunction

    cls = ComplexRBMWavefunction if "init_std_imag" in model_args else RBMWavefunction
    return cls(**{**model_args, "n_sites": data["n_sites"], "J2": data["J2"]})


TINY = {"datamodules.nqs.VMCSeedDataModule": (tiny, model)}
