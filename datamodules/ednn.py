"""Ising data for the EDNN (Mills et al., Chem. Sci. 10, 4129 (2019), arXiv:1708.06686): the targeted-sampling 8 x 8 pool of `IsingDataModule`,
labelled with the total energy in J.

Same recipe (and so the same cache entry) as the Ising CNN's energy data: only the label default and the
model links differ.  The EDNN is size-agnostic, so no lattice size is linked into the model.
"""
from __future__ import annotations

from .ising import IsingDataModule


class EDNNIsingDataModule(IsingDataModule):
    """`IsingDataModule` with label 'energy' (total energy, J) by default; see its docstring for the args."""

    model_links: dict = {}  # the EDNN takes any L that is a multiple of its focus

    def __init__(self, L: int = 8, sampling: str = "targeted", n_samples: int = 163_800, label: str = "energy",
                 val_fraction: float = 0.0625, test_fraction: float = 0.3125, eval_on: str = "split",
                 min_states_for_test: int = 8,
                 shard_size: int = 100, energy_scale: float | str = 0.05, kT_discovery: float = 0.1,
                 kT_sweep: float = 0.01, seed: int = 0, batch_size: int = 2000, num_workers: int = 0,
                 data_dir: str | None = None, gen_workers: int | None = None, progress: bool = True,
                 eval_batch_size: int | None = None):
        if label != "energy":
            raise ValueError(f"the EDNN Ising data is labelled by total energy; label must be 'energy', got {label!r}")
        super().__init__(L=L, sampling=sampling, n_samples=n_samples, label=label, val_fraction=val_fraction,
                         test_fraction=test_fraction, eval_on=eval_on, min_states_for_test=min_states_for_test,
                         shard_size=shard_size, energy_scale=energy_scale, kT_discovery=kT_discovery,
                         kT_sweep=kT_sweep, seed=seed, batch_size=batch_size, num_workers=num_workers,
                         data_dir=data_dir, gen_workers=gen_workers, progress=progress,
                         eval_batch_size=eval_batch_size)
