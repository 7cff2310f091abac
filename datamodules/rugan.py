"""Thermal Ising configurations labelled by temperature, for RUGAN (Casert et al., arXiv:2002.07055).

Ours: the paper conditions its Ising example on (E, m) from targeted sampling (Supp. A.4, thesis L3169); the
temperature variant is the zoo's user-facing sampler.  Configurations come from
`datamodules.physics.ising_cluster.thermal_samples`: hybrid checkerboard-Metropolis + Wolff chains, so samples near
T_c are decorrelated too (ours: the reference near T_c must be, since that is where the paper expects upscaling to
fail, main text, thesis L3069).

Splits:
    train  the first `n_per_T` samples of every training temperature;
    val    the next `val_per_T` samples of every training temperature (same chains, later records);
    test   `n_per_T` samples at each held-out temperature (never seen in training or selection).
A batch is (spins float (B, L, L) in {-1, +1}, temperature float (B,)).
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from .base import ZooDataModule, as_dataset
from .cache import recipe_hash
from .physics import ising_cluster

# training grid: [1, 3.5], densest near T_c = 2.269; held out: one in each phase and one just above T_c
DEFAULT_TEMPERATURES = [1.0, 1.25, 1.5, 2.0, 2.1, 2.2, 2.25, 2.3, 2.35, 2.4, 2.5, 2.6, 2.8, 3.0, 3.5]
DEFAULT_HELDOUT = [1.75, 2.45, 3.25]


def _shard(k: int, *, key: str, L: int, temps: list[float], counts: list[int], n_chains: int, n_equil: int,
           every: int) -> dict:
    x = ising_cluster.thermal_samples(L, temps[k], counts[k], n_chains=n_chains, n_equil=n_equil, every=every,
                                      seed=f"{key}/{k}")
    return {"spins": x, "temperature": np.full(len(x), temps[k], dtype=np.float32)}


class IsingThermalDataModule(ZooDataModule):
    """Boltzmann samples of the periodic L x L Ising model at a grid of temperatures.

    Args:
        L: lattice side (even, and a multiple of 4 for RUGAN).
        temperatures: training temperatures (J / k_B).
        heldout_temperatures: temperatures generated only for the test split (interpolation checks);
            must not coincide with a training temperature.
        n_per_T: training (and held-out test) samples per temperature.
        val_per_T: validation samples per training temperature.
        n_chains, n_equil, every: chains per temperature, equilibration hybrid sweeps, hybrid sweeps
            between records (one sweep = 1 Metropolis sweep + Wolff clusters flipping ~N spins).
        seed: dataset seed; shard k (one temperature) is generated from (recipe hash, k).
    """

    name = "ising-thermal"
    model_links = {"temperatures": "train_temperatures"}

    def __init__(self, L: int = 16, temperatures: list[float] | None = None,
                 heldout_temperatures: list[float] | None = None, n_per_T: int = 3000, val_per_T: int = 200,
                 n_chains: int = 16, n_equil: int = 200, every: int = 4, seed: int = 0, batch_size: int = 64,
                 num_workers: int = 0, data_dir: str | None = None, gen_workers: int | None = None,
                 progress: bool = True, eval_batch_size: int | None = None):
        super().__init__(batch_size=batch_size, num_workers=num_workers, data_dir=data_dir, gen_workers=gen_workers,
                         progress=progress, eval_batch_size=eval_batch_size)
        if L < 4 or L % 4:
            raise ValueError(f"L must be a positive multiple of 4 (RUGAN up/down-samples twice by 2); got {L}")
        temps = list(DEFAULT_TEMPERATURES if temperatures is None else temperatures)
        held = list(DEFAULT_HELDOUT if heldout_temperatures is None else heldout_temperatures)
        for name, ts in (("temperatures", temps), ("heldout_temperatures", held)):
            if any(not np.isfinite(t) or t <= 0 for t in ts):
                raise ValueError(f"{name} must be positive finite temperatures; got {ts}")
        if not temps:
            raise ValueError("temperatures must list at least one training temperature")
        if set(np.round(temps, 9)) & set(np.round(held, 9)):
            raise ValueError(f"held-out temperatures {held} overlap the training temperatures {temps}")
        if n_per_T < 1 or val_per_T < 0 or n_chains < 1 or every < 1 or n_equil < 0:
            raise ValueError("n_per_T, n_chains, every must be >= 1; val_per_T, n_equil >= 0")
        self.L, self.temperatures, self.heldout_temperatures = L, [float(t) for t in temps], [float(t) for t in held]
        self.n_per_T, self.val_per_T = n_per_T, val_per_T
        self.n_chains, self.n_equil, self.every, self.seed = n_chains, n_equil, every, seed

    @property
    def all_temperatures(self) -> list[float]:
        return self.temperatures + self.heldout_temperatures

    def _counts(self) -> list[int]:
        return [self.n_per_T + self.val_per_T] * len(self.temperatures) + [self.n_per_T] * len(self.heldout_temperatures)

    @property
    def n_shards(self) -> int:
        return len(self.all_temperatures)

    def shard_fn(self):
        return functools.partial(_shard, key=recipe_hash(self.recipe()), L=self.L, temps=self.all_temperatures,
                                 counts=self._counts(), n_chains=self.n_chains, n_equil=self.n_equil, every=self.every)

    def make_splits(self, arrays: dict) -> dict:
        spins, T = arrays["spins"], arrays["temperature"]
        idx = {"train": [], "val": [], "test": []}
        start = 0
        for k, c in enumerate(self._counts()):
            if k < len(self.temperatures):
                idx["train"].append(np.arange(start, start + self.n_per_T))
                idx["val"].append(np.arange(start + self.n_per_T, start + c))
            else:
                idx["test"].append(np.arange(start, start + c))
            start += c
        out = {}
        for k, parts in idx.items():
            i = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
            if len(i):
                out[k] = as_dataset(torch.as_tensor(spins[i], dtype=torch.float32), T[i])
        self.arrays = {"spins": spins, "temperature": T}
        return out

    # -- physics references for model selection (callbacks.physics_selection) ----------------------
    def samples_at(self, T: float, split: str = "train") -> np.ndarray:
        """int8 configurations of one temperature from a split."""
        if not self.splits:
            self.setup()
        x, t = self.splits[split].tensors
        sel = torch.isclose(t, torch.tensor(float(T)))
        if not sel.any():
            raise ValueError(f"no {split} samples at T={T}; have {sorted(set(t.tolist()))}")
        return x[sel].numpy().astype(np.int8)

    def selection_reference(self) -> dict:
        """Monte Carlo <e>, <|m|> (means and standard errors) at the TRAINING temperatures only."""
        labels, means, errs = [], {"e": [], "m": []}, {"e": [], "m": []}
        for T in self.temperatures:
            obs = ising_cluster.thermal_observables(self.samples_at(T, "train"), T)
            labels.append({"temperature": T})
            for k in ("e", "m"):
                means[k].append(obs[k])
                errs[k].append(obs[k + "_err"])
        return {"L": self.L, "labels": labels,
                "observables": {k: (np.asarray(means[k]), np.asarray(errs[k])) for k in means}}

    @staticmethod
    def selection_observables(spins) -> dict:
        return {"e": ising_cluster.energy_per_spin(spins), "m": ising_cluster.abs_magnetization(spins)}

