"""Seeds for variational Monte Carlo: the neural-network quantum state makes its own data (ARCHITECTURE.md, "A model
that makes its own data"; Carleo & Troyer, Science 355, 602 (2017), arXiv:1606.02318).

One training batch = one VMC iteration; what it serves is only the seed of that iteration's Metropolis moves, a
pure function of (recipe hash, iteration index).  The Markov chains themselves live in the model (its checkpoint
holds their configurations), so an epoch e serves seeds e * steps_per_epoch ... (e + 1) * steps_per_epoch - 1 and a
resumed run draws exactly the moves an uninterrupted one would.  Nothing is cached: a seed costs nanoseconds.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .base import ZooDataModule
from .physics.heisenberg import _check_couplings, check_sites
from .validation import positive_int

__all__ = ["VMCSeedDataModule", "iteration_seed"]


def _key_int(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")


def iteration_seed(key: str, j: int) -> int:
    """The seed of VMC iteration j of the stream `key` (a 63-bit int)."""
    return int(np.random.SeedSequence([_key_int(key), int(j)]).generate_state(1, np.uint64)[0] >> np.uint64(1))


class _Seeds(Dataset):
    def __init__(self, key: str, length: int):
        self.key, self.length = key, length

    def __len__(self):
        return self.length

    def __getitem__(self, j: int) -> torch.Tensor:
        return torch.tensor(iteration_seed(self.key, j), dtype=torch.int64)


class _EpochOffsetSampler(Sampler):
    """Indices e * n .. (e + 1) * n - 1 in epoch e (Lightning calls set_epoch, also after a resume)."""

    def __init__(self, n: int):
        self.n, self.epoch = n, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self):
        return self.n

    def __iter__(self):
        return iter(range(self.epoch * self.n, (self.epoch + 1) * self.n))


class VMCSeedDataModule(ZooDataModule):
    """The chain (n_sites, J2; J1 = 1) and a stream of per-iteration seeds.

    Args:
        n_sites, J2: the periodic J1-J2 chain, linked into the model (`model_links`).
        seed: the stream's seed (part of the recipe).
        steps_per_epoch: VMC iterations per epoch.
    """

    name = "vmc_seeds"
    model_links = {"n_sites": "n_sites", "J2": "J2"}

    def __init__(self, n_sites: int = 8, J2: float = 0.0, seed: int = 0, steps_per_epoch: int = 100,
                 batch_size: int = 1, num_workers: int = 0, data_dir: str | None = None, progress: bool = True):
        super().__init__(batch_size=batch_size, num_workers=num_workers, data_dir=data_dir, progress=progress)
        self.n_sites = check_sites(n_sites)
        self.J2 = _check_couplings(1.0, J2)[1]
        self.seed = int(seed)
        self.steps_per_epoch = positive_int(steps_per_epoch, "steps_per_epoch")

    def recipe(self) -> dict:
        # the stream does not depend on how it is cut into epochs
        return {"dataset": self.name, "version": 1, "n_sites": self.n_sites, "J2": self.J2, "seed": self.seed}

    @property
    def key(self) -> str:
        return json.dumps(self.recipe(), sort_keys=True)

    @property
    def n_shards(self) -> int:
        return 1

    def prepare_data(self) -> None:  # nothing to cache
        pass

    def setup(self, stage: str | None = None) -> None:
        pass

    def batch(self, j: int) -> torch.Tensor:
        """The seed of iteration j."""
        return _Seeds(self.key, j + 1)[j]

    def train_dataloader(self) -> DataLoader:
        return DataLoader(_Seeds(self.key, 1 << 62), batch_size=None, sampler=_EpochOffsetSampler(self.steps_per_epoch),
                          num_workers=self.num_workers, persistent_workers=self.num_workers > 0)

    def val_dataloader(self):
        return []

    def test_dataloader(self):
        return []
