"""Rings of Gaussians for the particle GAN (Durr, Tu, Mroueh & Wang, in preparation; Ch. 2 of S. Durr, PhD thesis,
UCLA 2022, Sec. 2.3, thesis L1138): 8 modes on a circle of radius 2, std 0.02.

One training batch = the real samples of ONE discriminator step (the particle GAN makes a generator
step after every n_disc batches).  Batch j is a pure function of (recipe hash, j): it is drawn from
a seed derived from both, whatever the number of workers, and an epoch e serves batches
e * steps_per_epoch ... (e + 1) * steps_per_epoch - 1, so every discriminator step sees fresh data
(Algorithm 2, Sec. 2.3, samples N new data points per step) and a resumed run sees the same data as an
uninterrupted one.  Nothing is cached: a batch costs microseconds.
"""
from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .base import GeneratedDataModule, trainer_epoch

__all__ = ["ring_modes", "sample_ring", "nearest_mode", "mode_collapse_metric", "GaussianRingDataModule"]


def ring_modes(n_modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """(n_modes, 2) mode centres at angles 2 pi k / n_modes (k = 1 sits at (sqrt2, sqrt2) for 8 modes, radius 2)."""
    if n_modes < 1:
        raise ValueError(f"n_modes must be >= 1; got {n_modes}")
    if not radius > 0:
        raise ValueError(f"radius must be > 0; got {radius}")
    a = 2 * np.pi * np.arange(n_modes) / n_modes
    return radius * np.stack([np.cos(a), np.sin(a)], axis=1)


def sample_ring(n: int, rng: np.random.Generator, n_modes: int = 8, radius: float = 2.0, std: float = 0.02) -> np.ndarray:
    """n points from the equal-weight mixture of isotropic Gaussians (std) on the ring."""
    modes = ring_modes(n_modes, radius)
    k = rng.integers(0, n_modes, size=n)
    return (modes[k] + std * rng.standard_normal((n, 2))).astype(np.float32)


def nearest_mode(x: torch.Tensor, modes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(index of the nearest mode, distance to it) for points x (N, 2), or clouds x (R, N, 2) -> (R, N)."""
    m = modes.to(x.device) if x.dim() == 2 else modes.to(x.device).expand(*x.shape[:-2], -1, -1)
    d = torch.cdist(x.to(modes.dtype), m)
    dist, idx = d.min(dim=-1)
    return idx, dist


def mode_collapse_metric(counts: torch.Tensor) -> torch.Tensor:
    """MC = log K + sum_k P_k log P_k over the nearest-mode histogram (Sec. 2.4.1, eq. 2.45, natural log): 0 for an even
    spread, log K when every particle is nearest to one mode.  counts (K,) -> scalar, or (R, K) -> (R,)."""
    P = counts.double() / counts.sum(-1, keepdim=True)
    plogp = torch.where(P > 0, P * torch.log(P.clamp_min(1e-300)), torch.zeros_like(P))
    return np.log(counts.shape[-1]) + plogp.sum(-1)


def _key_int(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")


class _RingBatches(Dataset):
    """Item j = the j-th batch of the stream (a (batch_size, 2) float32 tensor)."""

    def __init__(self, key: str, batch_size: int, n_modes: int, radius: float, std: float, length: int):
        self.key, self.batch_size, self.n_modes, self.radius, self.std, self.length = (
            _key_int(key), batch_size, n_modes, radius, std, length)

    def __len__(self):
        return self.length

    def __getitem__(self, j: int) -> torch.Tensor:
        rng = np.random.default_rng(np.random.SeedSequence([self.key, int(j)]))
        return torch.from_numpy(sample_ring(self.batch_size, rng, self.n_modes, self.radius, self.std))


class _EpochOffsetSampler(Sampler):
    """Yields batch indices e * n .. (e + 1) * n - 1 in epoch e (Lightning calls set_epoch; the loader starts it at
    the Trainer's restored epoch, `datamodules.base.trainer_epoch`, since a resumed fit iterates before set_epoch)."""

    def __init__(self, n: int, epoch: int = 0):
        self.n, self.epoch = n, epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self):
        return self.n

    def __iter__(self):
        return iter(range(self.epoch * self.n, (self.epoch + 1) * self.n))


class GaussianRingDataModule(GeneratedDataModule):
    """A ring of `n_modes` Gaussians (Durr thesis Sec. 2.3: 8 modes, radius 2, std 0.02).

    Args:
        n_modes, radius, std: the mixture (paper: 8, 2, 0.02; Sec. 2.3, thesis L1138).
        batch_size: real samples per discriminator step (Algorithm 2 uses N, the particle count).
        steps_per_epoch: discriminator steps (batches) per epoch; the generator moves every n_disc
            of them, so an epoch is steps_per_epoch / n_disc outer iterations.
        seed: dataset seed (part of the recipe; batch j is drawn from (recipe hash, j)).
    """

    name = "gaussian_ring"
    model_links = {"n_modes": "n_modes", "radius": "radius"}  # the model's mode-collapse metric uses the modes

    def __init__(self, n_modes: int = 8, radius: float = 2.0, std: float = 0.02, seed: int = 0,
                 batch_size: int = 2000, steps_per_epoch: int = 100, num_workers: int = 0,
                 data_dir: str | None = None, progress: bool = True):
        super().__init__(batch_size=batch_size, num_workers=num_workers, data_dir=data_dir, progress=progress)
        ring_modes(n_modes, radius)  # validates
        if not std > 0:
            raise ValueError(f"std must be > 0; got {std}")
        if steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1; got {steps_per_epoch}")
        self.n_modes, self.radius, self.std, self.seed = n_modes, float(radius), float(std), seed
        self.steps_per_epoch = steps_per_epoch

    def recipe(self) -> dict:
        # the stream does not depend on how it is cut into epochs
        return {"dataset": self.name, "version": 1, "n_modes": self.n_modes, "radius": self.radius,
                "std": self.std, "seed": self.seed, "batch_size": self.batch_size}

    @property
    def modes(self) -> np.ndarray:
        return ring_modes(self.n_modes, self.radius)

    def batch(self, j: int) -> torch.Tensor:
        """The j-th batch of the stream."""
        return _RingBatches(self.key, self.batch_size, self.n_modes, self.radius, self.std, j + 1)[j]

    def train_dataloader(self) -> DataLoader:
        ds = _RingBatches(self.key, self.batch_size, self.n_modes, self.radius, self.std, 1 << 62)
        return DataLoader(ds, batch_size=None, sampler=_EpochOffsetSampler(self.steps_per_epoch, trainer_epoch(self)),
                          num_workers=self.num_workers, persistent_workers=self.num_workers > 0)

