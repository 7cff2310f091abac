"""Ising configurations for the Ising CNN (Mills & Tamblyn 2018) and the models built on it."""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .base import ZooDataModule, as_dataset, per_shard_counts
from .cache import recipe_hash
from .physics import ising

SAMPLINGS = ("targeted", "random")
LABELS = ("energy_class", "energy", "magnetization")


def _shard(k: int, *, key: str, L: int, sampling: str, counts: list[int], energy_scale, kT_discovery: float,
           kT_sweep: float) -> dict:
    seed = ising.seed_sequence(key, k)
    if sampling == "random":
        return {"spins": ising.random_configs(counts[k], L, seed)}
    # a shard is one complete run of the Appendix-B builder with counts[k] configurations per level
    x = ising.targeted_sampling(L, counts[k], seed=seed, energy_scale=energy_scale, kT_discovery=kT_discovery,
                                kT_sweep=kT_sweep)
    return {"spins": x}


class IsingDataModule(ZooDataModule):
    """Periodic L x L Ising configurations with energy-class, energy or magnetization labels.

    Args:
        L: lattice side (even, >= 4).
        sampling: 'targeted' (App. B.2 builder, uniform over energy levels) or 'random' (each spin
            +-1 with probability 1/2, PRE 97, 032119, Sec. III; thesis L1059).
        n_samples: size of the generated pool; for targeted sampling rounded up to a multiple of the
            number of levels (every level gets the same count).
        label: 'energy_class' (index into the allowed levels), 'energy' (total, J) or
            'magnetization' (mean spin).
        val_fraction, test_fraction: SHA3-512 hash split of the pool (resolution 1/4096), so a
            configuration duplicated by targeted sampling is on one side only (PRE 97, 032119, Appendix 'Training-testing division'; thesis L1222-1228).
        min_states_for_test: levels with fewer distinct states than this in the pool go wholly to
            train (default 8: only the two +-2L^2 levels, 2 states each).  Ours, not the paper's: a
            hash split keeps each state on one side, and with our encoding both E = -2L^2 states
            hash into the test range, so the ground state would never be trained on (the published
            8x8 model trained that way got 95.06 % test accuracy, every error on E = -128, and
            Monte Carlo with it was biased below T = 2).  0 restores the literal split.
        eval_on: 'split' evaluates on the hash-split val/test sets; 'all' uses all 2^(L^2) states
            as both val and test (4x4, as the paper did) and trains on the whole pool.
        shard_size: configurations per level per shard (targeted) or per shard (random); the unit
            of parallel generation. Part of the recipe.
        energy_scale, kT_discovery, kT_sweep: targeted-sampling settings (see
            `datamodules.physics.ising.targeted_sampling`).
        seed: dataset seed; shard k is generated from (recipe hash, k).
    """

    name = "ising"
    model_links = {"L": "L", "label": "label"}  # zoo fit copies these into the model (label: regressors only)

    def __init__(self, L: int = 8, sampling: str = "targeted", n_samples: int = 160_020, label: str = "energy_class",
                 val_fraction: float = 0.0625, test_fraction: float = 0.3125, eval_on: str = "split",
                 min_states_for_test: int = 8,
                 shard_size: int = 100, energy_scale: float | str = 0.05, kT_discovery: float = 0.1,
                 kT_sweep: float = 0.01, seed: int = 0, batch_size: int = 256, num_workers: int = 0,
                 data_dir: str | None = None, gen_workers: int | None = None, progress: bool = True,
                 eval_batch_size: int | None = None):
        super().__init__(batch_size=batch_size, num_workers=num_workers, data_dir=data_dir, gen_workers=gen_workers,
                         progress=progress, eval_batch_size=eval_batch_size)
        ising.energy_levels(L)  # validates L
        if sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {SAMPLINGS}; got {sampling!r}")
        if label not in LABELS:
            raise ValueError(f"label must be one of {LABELS}; got {label!r}")
        if eval_on not in ("split", "all"):
            raise ValueError(f"eval_on must be 'split' or 'all'; got {eval_on!r}")
        if eval_on == "all" and L * L > 16:
            raise ValueError(f"eval_on='all' enumerates 2^(L^2) states; only L=4 is allowed, got L={L}")
        if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
            raise ValueError(f"val_fraction and test_fraction must be in [0, 1) and sum below 1; "
                             f"got {val_fraction}, {test_fraction}")
        if n_samples < 1 or shard_size < 1:
            raise ValueError(f"n_samples and shard_size must be >= 1; got {n_samples}, {shard_size}")
        self.L, self.sampling, self.n_samples, self.label = L, sampling, n_samples, label
        self.val_fraction, self.test_fraction, self.eval_on = val_fraction, test_fraction, eval_on
        self.min_states_for_test = min_states_for_test
        self.shard_size, self.energy_scale = shard_size, energy_scale
        self.kT_discovery, self.kT_sweep, self.seed = kT_discovery, kT_sweep, seed

    # facts a model needs, linked by the CLI instead of repeated in configs
    @property
    def n_classes(self) -> int:
        return len(ising.energy_levels(self.L))

    def _counts(self) -> list[int]:
        if self.sampling == "random":
            return per_shard_counts(self.n_samples, self.shard_size)
        per_level = math.ceil(self.n_samples / self.n_classes)
        return per_shard_counts(per_level, self.shard_size)

    @property
    def n_shards(self) -> int:
        return len(self._counts())

    def shard_fn(self):
        return functools.partial(_shard, key=recipe_hash(self.recipe()), L=self.L, sampling=self.sampling,
                                 counts=self._counts(), energy_scale=self.energy_scale,
                                 kT_discovery=self.kT_discovery, kT_sweep=self.kT_sweep)

    def labels(self, spins: np.ndarray) -> np.ndarray:
        if self.label == "energy_class":
            return ising.energy_to_class(ising.energy(spins), self.L).astype(np.int64)
        if self.label == "energy":
            return ising.energy(spins).astype(np.float32)
        return ising.magnetization(spins).astype(np.float32)

    def make_splits(self, arrays: dict) -> dict:
        spins = arrays["spins"]
        x = lambda s: torch.as_tensor(s, dtype=torch.float32)  # noqa: E731
        if self.eval_on == "all":
            allx = ising.enumerate_configs(self.L)
            everything = as_dataset(x(allx), self.labels(allx))
            return {"train": as_dataset(x(spins), self.labels(spins)), "val": everything, "test": everything}
        idx = ising.hash_split(spins, {"test": self.test_fraction, "val": self.val_fraction, "train": 1.0})
        rare = self.rare_level_mask(spins)
        if rare.any():  # whole rare levels go to train (see `min_states_for_test`)
            idx = {k: i[~rare[i]] for k, i in idx.items()}
            idx["train"] = np.sort(np.concatenate([idx["train"], np.nonzero(rare)[0]]))
        return {k: as_dataset(x(spins[i]), self.labels(spins[i])) for k, i in idx.items() if len(i)}

    def rare_level_mask(self, spins: np.ndarray) -> np.ndarray:
        """True for configurations of levels with fewer than `min_states_for_test` distinct states."""
        if self.min_states_for_test <= 1:
            return np.zeros(len(spins), dtype=bool)
        E = ising.energy(spins)
        rows = np.ascontiguousarray(spins.reshape(len(spins), -1)).view(np.dtype((np.void, spins[0].size)))
        uniq, first = np.unique(rows, return_index=True)
        levels, n_distinct = np.unique(E[first], return_counts=True)
        return np.isin(E, levels[n_distinct < self.min_states_for_test])
