"""Random spin configurations labelled by a long-range or continuous-spin Hamiltonian, for the Ising CNN regressor.

Mills & Tamblyn, PRE 97, 032119 (2018), arXiv:1706.09779, Sec. IV "Long-range interactions" and "A modified Potts
model" (thesis L1135-1177): screened Coulomb and its sinusoidal modification (Eq. 1) on 8x8 +-1 spins, and the
modified Potts model (Eq. 2) on 8x8 angles in [0, pi).  The paper trains on 100 000 and tests on a non-intersecting
set of 20 000 randomly sampled configurations (120 000 computed, L1135-1147, Fig. 11 caption); Potts on 500 000
(L1175).  The Potts model lives here too because its recipe is the same: random configurations, one energy each.
"""
from __future__ import annotations

import functools
import hashlib
import math

import numpy as np
import torch

from .base import ZooDataModule, as_dataset, per_shard_counts
from .cache import recipe_hash
from .physics import ising, long_range, potts
from .validation import count, positive_int

HAMILTONIANS = ("screened_coulomb", "sinusoidal_coulomb", "potts")
_KIND = {"screened_coulomb": "screened", "sinusoidal_coulomb": "sinusoidal"}
# ours: the pool exceeds the three splits by 6 binomial standard deviations of the smallest split, so that every
# hash range (resolution 1/4096) holds its split's exact count; a shortfall raises (deterministically per recipe)
_POOL_SIGMAS = 6.0


def hamiltonian_energy(x: np.ndarray, hamiltonian: str, k: float | None = None,
                       r_cut: float | None = None) -> np.ndarray:
    """Total energy in J of (B, L, L) spins (+-1) or angles (Potts) under the named Hamiltonian."""
    if hamiltonian == "potts":
        return potts.energy(x)
    if hamiltonian not in _KIND:
        raise ValueError(f"hamiltonian must be one of {HAMILTONIANS}; got {hamiltonian!r}")
    return long_range.energy(x, k=k, r_cut=r_cut, kind=_KIND[hamiltonian])


def hash_bucket(x: np.ndarray) -> np.ndarray:
    """12 most significant bits of SHA3-512 of each configuration (PRE 97, 032119, Appendix 'Training-testing
    division'; thesis L1222-1228): +-1 spins as int8 (the same encoding as datamodules.physics.ising.hash_bucket),
    angles as float32 bytes, C order."""
    if x.dtype == np.int8:
        return ising.hash_bucket(x)
    a = np.ascontiguousarray(x, dtype=np.float32)
    return np.fromiter((int(hashlib.sha3_512(r.tobytes()).hexdigest()[:3], 16) for r in a), dtype=np.int64,
                       count=len(a))


def _shard(k: int, *, key: str, L: int, hamiltonian: str, counts: list[int]) -> dict:
    seed = ising.seed_sequence(key, k)
    if hamiltonian == "potts":
        return {"spins": potts.random_angles(counts[k], L, seed)}
    return {"spins": ising.random_configs(counts[k], L, seed)}


class LongRangeSpinDataModule(ZooDataModule):
    """Uniformly random L x L configurations with their total energy (J) under `hamiltonian`.

    Args:
        hamiltonian: 'screened_coulomb', 'sinusoidal_coulomb' (+-1 spins, datamodules.physics.long_range) or
            'potts' (angles in [0, pi), datamodules.physics.potts).
        L: lattice side (paper: 8).
        k: screening constant (Coulomb only; the paper does not state it: 0.5 is ours).
        r_cut: image-sum cutoff in lattice units (Coulomb only; the paper's 64 = 8 cell lengths, thesis L1135).
        n_train, n_test: exact split sizes (paper: 100 000 and 20 000; Potts 500 000 examples).
        n_val: a validation split for model selection (ours: the paper names none), drawn like the others.
        shard_size: configurations per cache shard (the unit of parallel generation; part of the recipe).
        seed: dataset seed; shard k is generated from (recipe hash, k).

    Splits are non-intersecting by construction: each configuration's SHA3-512 hash bucket decides its split
    (test, then val, then train ranges of 4096 buckets in proportion to the counts), and each split takes the
    first n of its bucket range in the pool, so a configuration is never in two splits, even one drawn again by
    a fresh-seed evaluation set.
    """

    name = "ising_long_range"
    model_links = {"L": "L", "hamiltonian": "hamiltonian"}  # zoo fit copies these into the regressor

    def __init__(self, hamiltonian: str = "screened_coulomb", L: int = 8, k: float | None = 0.5,
                 r_cut: float | None = 64.0, n_train: int = 100_000, n_val: int = 5_000, n_test: int = 20_000,
                 shard_size: int = 10_000, seed: int = 0, batch_size: int = 256, num_workers: int = 0,
                 data_dir: str | None = None, gen_workers: int | None = None, progress: bool = True,
                 eval_batch_size: int | None = None):
        super().__init__(batch_size=batch_size, num_workers=num_workers, data_dir=data_dir, gen_workers=gen_workers,
                         progress=progress, eval_batch_size=eval_batch_size)
        if hamiltonian not in HAMILTONIANS:
            raise ValueError(f"hamiltonian must be one of {HAMILTONIANS}; got {hamiltonian!r}")
        L = positive_int(L, "L")
        if hamiltonian == "potts":
            if k is not None or r_cut is not None:
                raise ValueError(f"k and r_cut belong to the Coulomb Hamiltonians; set them to null for potts "
                                 f"(got k={k!r}, r_cut={r_cut!r})")
            potts.check_angles(np.zeros((L, L)), "L")  # L >= 3
        else:
            if k is None or r_cut is None:
                raise ValueError(f"k and r_cut are required for {hamiltonian}; got k={k!r}, r_cut={r_cut!r}")
            L, k, r_cut, _ = long_range.check_params(L, k, r_cut, _KIND[hamiltonian])
        self.n_train, self.n_val, self.n_test = count(n_train, "n_train"), count(n_val, "n_val"), count(n_test, "n_test")
        if self.n_train < 1:
            raise ValueError(f"n_train must be >= 1; got {n_train!r}")
        self.hamiltonian, self.L, self.k, self.r_cut = hamiltonian, L, k, r_cut
        self.shard_size = positive_int(shard_size, "shard_size")
        self.seed = seed

    def recipe(self) -> dict:
        r = super().recipe()
        if self.hamiltonian == "potts":  # k and r_cut mean nothing there
            r.pop("k"), r.pop("r_cut")
        return r

    @property
    def n_pool(self) -> int:
        sizes = [n for n in (self.n_train, self.n_val, self.n_test) if n]
        return math.ceil(sum(sizes) * (1 + _POOL_SIGMAS / math.sqrt(min(sizes)))) + 64

    def _counts(self) -> list[int]:
        return per_shard_counts(self.n_pool, self.shard_size)

    @property
    def n_shards(self) -> int:
        return len(self._counts())

    def shard_fn(self):
        return functools.partial(_shard, key=recipe_hash(self.recipe()), L=self.L, hamiltonian=self.hamiltonian,
                                 counts=self._counts())

    def energy(self, x: np.ndarray) -> np.ndarray:
        """Total energy in J of (B, L, L) configurations under this DataModule's Hamiltonian."""
        return hamiltonian_energy(x, self.hamiltonian, self.k, self.r_cut)

    def split_indices(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Pool indices of each split: bucket ranges in proportion to the counts, first n of each range."""
        want = {"test": self.n_test, "val": self.n_val, "train": self.n_train}
        total = sum(want.values())
        b = hash_bucket(x)
        out, lo = {}, 0
        for i, (name, n) in enumerate(want.items()):
            hi = 4096 if i == len(want) - 1 else lo + int(round(4096 * n / total))
            idx = np.nonzero((b >= lo) & (b < hi))[0]
            if len(idx) < n:
                raise RuntimeError(f"the {name} hash range holds {len(idx)} of {len(x)} pool configurations, "
                                   f"fewer than n_{name}={n} (more than {_POOL_SIGMAS:g} standard deviations short)")
            out[name] = idx[:n]
            lo = hi
        return out

    def make_splits(self, arrays: dict) -> dict:
        x = arrays["spins"]
        out = {}
        for name, idx in self.split_indices(x).items():
            if len(idx):
                out[name] = as_dataset(torch.as_tensor(x[idx], dtype=torch.float32),
                                       self.energy(x[idx]).astype(np.float32))
        return out
