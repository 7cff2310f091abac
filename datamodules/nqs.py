"""Seeds for variational Monte Carlo: the neural-network quantum state makes its own data (ARCHITECTURE.md, "A model
that makes its own data"; Carleo & Troyer, Science 355, 602 (2017), arXiv:1606.02318).

One training batch = one VMC iteration.  The seed of iteration j's Metropolis moves is `iteration_seed(key, j)`, a
pure function of the recipe hash and the iteration index.  The index is the model's own iteration counter, which
its checkpoint holds together with the Markov chains' configurations; every batch serves the stream key.  (Serving
seed j as batch j, as the particle GAN's ring does, is not resume-exact under Lightning 2.6: on a resume the fit
loop creates the first epoch's loader iterator, prefetching, before it calls the sampler's `set_epoch`, so the first
resumed epoch replays the seeds of epoch 0; observed here, and tested in tests/zoo/test_nqs.py.)  Nothing is cached.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .base import GeneratedDataModule
from .gaussians import _key_int
from .physics.heisenberg import _check_couplings, check_sites
from .validation import positive_int

__all__ = ["VMCSeedDataModule", "iteration_seed", "stream_key"]


def stream_key(key: str) -> int:
    """A recipe's JSON -> a 63-bit int (what every batch serves)."""
    return _key_int(key) >> 1


def iteration_seed(key: int, j: int) -> int:
    """The seed of VMC iteration j of the stream `key` (a 63-bit int)."""
    return int(np.random.SeedSequence([int(key), int(j)]).generate_state(1, np.uint64)[0] >> np.uint64(1))


class _Key(Dataset):
    def __init__(self, key: int, length: int):
        self.key, self.length = key, length

    def __len__(self):
        return self.length

    def __getitem__(self, j: int) -> torch.Tensor:
        return torch.tensor(self.key, dtype=torch.int64)


class VMCSeedDataModule(GeneratedDataModule):
    """The chain (n_sites, J2; J1 = 1) and the stream key of the per-iteration seeds.

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

    def iteration_seed(self, j: int) -> int:
        """The seed of iteration j."""
        return iteration_seed(stream_key(self.key), j)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(_Key(stream_key(self.key), self.steps_per_epoch), batch_size=None,
                          num_workers=self.num_workers, persistent_workers=self.num_workers > 0)

