"""DataModules of the normalizing flows (zoo/flows.py; Wang's Marburg 2018 lecture, Secs. 3.2.3 and 5.3; NeuralRG,
Li & Wang, PRL 121, 260601 (2018), arXiv:1802.02840).

Both serve a stream whose batch j is a pure function of (recipe hash, j), and epoch e serves batches
e * steps_per_epoch ... (e + 1) * steps_per_epoch - 1 (as datamodules.gaussians), so a resumed run sees exactly the
data an uninterrupted one would:

- `Ring2DDataModule`: exact samples of the Ring2D density (likelihood training).  Ours: every step sees fresh
  samples from the exact sampler (the hands-on trained on one fixed downloaded set, full batch); an exact sampler
  makes overfitting a non-question, and the test NLL is measured on samples of another seed.
- `IsingDualSeeds`: for reverse-KL training the flow draws its own batch; the stream is one int64 seed per step,
  from which the model draws its prior samples.  It links the physics (L, T) and the batch size to the model.
Nothing is cached: a batch costs microseconds.
"""
from __future__ import annotations


import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .base import GeneratedDataModule, trainer_epoch
from .gaussians import _EpochOffsetSampler, _key_int
from .physics import ring2d
from .physics.ising import T_C
from .validation import positive_int

__all__ = ["Ring2DDataModule", "IsingDualSeeds", "batch_rng"]


def batch_rng(key: str, j: int) -> np.random.Generator:
    """The generator of batch j of the stream `key` (a recipe JSON)."""
    return np.random.default_rng(np.random.SeedSequence([_key_int(key), int(j)]))


class _Stream(Dataset):
    def __init__(self, fn, length: int):
        self.fn, self.length = fn, length

    def __len__(self):
        return self.length

    def __getitem__(self, j: int):
        return self.fn(j)


class _StreamDataModule(GeneratedDataModule):
    """A stream of generated batches (no cache, no val/test loaders: evaluation is zoo.evaluation.flows)."""

    def __init__(self, batch_size: int, steps_per_epoch: int, seed: int, num_workers: int, data_dir, progress):
        super().__init__(batch_size=batch_size, num_workers=num_workers, data_dir=data_dir, progress=progress)
        self.steps_per_epoch = positive_int(steps_per_epoch, "steps_per_epoch")
        if int(seed) != seed:
            raise ValueError(f"seed must be an integer; got {seed!r}")
        self.seed = int(seed)

    def batch(self, j: int):
        """The j-th batch of the stream."""
        return self._make(self.key)(j)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(_Stream(self._make(self.key), 1 << 62), batch_size=None,
                          sampler=_EpochOffsetSampler(self.steps_per_epoch, trainer_epoch(self)), num_workers=self.num_workers,
                          persistent_workers=self.num_workers > 0)



class _RingBatch:
    def __init__(self, key: str, n: int):
        self.key, self.n = key, n

    def __call__(self, j: int) -> torch.Tensor:
        return torch.from_numpy(ring2d.sample(self.n, batch_rng(self.key, j)).astype(np.float32))


class Ring2DDataModule(_StreamDataModule):
    """Exact Ring2D samples, E = (|x| - 2)^2 / 0.32 (lecture note Sec. 5.3, Fig. 5; spec Sec. 2.2).

    Args:
        batch_size: samples per step (ours; the hands-on used its whole downloaded set per step).
        steps_per_epoch: steps per epoch (sets how often epoch-level logs and checkpoints happen).
        seed: stream seed (part of the recipe).
    """

    name = "ring2d"

    def __init__(self, batch_size: int = 1024, steps_per_epoch: int = 50, seed: int = 0, num_workers: int = 0,
                 data_dir: str | None = None, progress: bool = True):
        super().__init__(batch_size, steps_per_epoch, seed, num_workers, data_dir, progress)

    def recipe(self) -> dict:
        return {"dataset": self.name, "version": 1, "seed": self.seed, "batch_size": self.batch_size}

    def _make(self, key: str):
        return _RingBatch(key, self.batch_size)


class _SeedBatch:
    def __init__(self, key: str):
        self.key = key

    def __call__(self, j: int) -> torch.Tensor:
        return torch.tensor(int(batch_rng(self.key, j).integers(0, 2 ** 62)), dtype=torch.int64)


class IsingDualSeeds(_StreamDataModule):
    """One seed per reverse-KL step of a flow on the Ising model's continuous dual (NeuralRG, arXiv:1802.02840).

    Args:
        L: lattice side (periodic L x L, L >= 3); T: temperature in J (default T_c = 2 / ln(1 + sqrt 2)).
        batch_size: prior samples the model draws per step (spec Sec. 4.1 item 1: 256).
        steps_per_epoch, seed: as Ring2DDataModule.
    """

    name = "ising_dual_seeds"
    model_links = {"L": "L", "T": "T", "batch_size": "batch_size"}

    def __init__(self, L: int = 4, T: float = T_C, batch_size: int = 256, steps_per_epoch: int = 100, seed: int = 0,
                 num_workers: int = 0, data_dir: str | None = None, progress: bool = True):
        super().__init__(batch_size, steps_per_epoch, seed, num_workers, data_dir, progress)
        if int(L) != L or L < 3:
            raise ValueError(f"L must be an integer >= 3; got {L!r}")
        if not T > 0:
            raise ValueError(f"T must be > 0; got {T!r}")
        self.L, self.T = int(L), float(T)

    def recipe(self) -> dict:
        return {"dataset": self.name, "version": 1, "seed": self.seed, "L": self.L, "T": self.T,
                "batch_size": self.batch_size}

    def _make(self, key: str):
        return _SeedBatch(key)
