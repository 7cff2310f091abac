"""2-D confining potentials and their energies for the Schrodinger CNN (Mills, Spanner & Tamblyn 2017)."""
from __future__ import annotations

import functools

import numpy as np
import torch
from torch.utils.data import Dataset

from .base import ZooDataModule, as_dataset, per_shard_counts
from .cache import recipe_hash
from .physics import schrodinger as S
from .physics.ising import seed_sequence

FAMILY_NAMES = ("sho", "iw", "dig", "random")
FAMILIES = FAMILY_NAMES + ("mixed",)
LABELS = ("e0", "e1", "kinetic")
ANALYTIC = ("sho", "iw")


def _sample(family: str, seed: int, grid: int, solve_grid: int, analytic: bool) -> tuple[np.ndarray, tuple]:
    """One potential: V on the training grid and its (e0, e1, <T>) in Ha."""
    V, p = S.generate(family, seed, grid)
    if analytic:
        # SHO: virial theorem <T> = <V> = e0 / 2; infinite well: V = 0 where psi lives, so <T> = e0
        kin = p["e0"] / 2 if family == "sho" else p["e0"]
        return V, (p["e0"], p["e1"], kin)
    Vs = V if solve_grid == grid else S.generate(family, seed, solve_grid)[0]
    sol = S.solve(Vs, n_states=2)
    return V, (sol.e0, sol.e1, sol.kinetic)


def _shard(k: int, *, key: str, counts: list[int], family: str, grid: int, solve_grid: int,
           analytic: tuple[str, ...]) -> dict:
    start = sum(counts[:k])
    n = counts[k]
    V = np.empty((n, grid, grid), np.float32)
    y = np.empty((n, 3), np.float64)
    fam = np.empty(n, np.int8)
    for j in range(n):
        i = start + j  # sample i depends on (recipe hash, i) only
        f = FAMILY_NAMES[i % 4] if family == "mixed" else family
        seed = int(seed_sequence(key, i).generate_state(1, np.uint64)[0])
        V[j], y[j] = _sample(f, seed, grid, solve_grid, f in analytic)
        fam[j] = FAMILY_NAMES.index(f)
    return {"V": V, "e0": y[:, 0], "e1": y[:, 1], "kinetic": y[:, 2], "family": fam}


class Rot90Dataset(Dataset):
    """The four 90-degree rotations of every potential (labels are rotation invariant on the
    symmetric grid): item i is rotation i // N of potential i % N, so no copy is stored."""

    def __init__(self, V: torch.Tensor, y: torch.Tensor):
        self.V, self.y = V, y

    def __len__(self) -> int:
        return 4 * len(self.V)

    def __getitem__(self, i):
        r, j = divmod(int(i), len(self.V))
        return torch.rot90(self.V[j], r, dims=(-2, -1)), self.y[j]


class SchrodingerDataModule(ZooDataModule):
    """Potentials on x = y = linspace(-20, 20, grid) bohr (hartree) with e0, e1 or <T> labels (Ha).

    Args:
        family: 'sho', 'iw' (infinite well), 'dig' (double inverted Gaussian), 'random' or 'mixed'
            (the four in equal parts, sample i of family i mod 4).  Generators and our energy-scale
            conventions: `datamodules.physics.schrodinger`.
        label: 'e0', 'e1' (first excited state) or 'kinetic' (<psi0|T|psi0>).  Every cache entry
            holds all three, so models with different labels share the data.
        grid: side of the stored potentials, the network's input (power of two; paper 256).
        solve_grid: grid on which the finite-difference solver computes the labels (default: grid).
            Downsampling: every generator draws its parameters first and then evaluates V on any
            grid, so the stored V is the same physical potential sampled point-wise at the
            training-grid nodes (no averaging); random potentials are built on the paper's
            256-pixel canvas and resampled by cubic interpolation to either grid.
        analytic_labels: families whose labels come from the analytic formulas instead of the
            solver: 'sho' (default; e0 = (sqrt kx + sqrt ky)/2, e1 = e0 + min(sqrt kx, sqrt ky),
            <T> = e0/2 by the virial theorem; ignores the 20 Ha clip and the box, which matter only
            for the softest k), 'iw' (pi^2/2 (Lx^-2 + Ly^-2), infinite walls, <T> = e0), a
            comma-separated 'sho,iw', or 'none'.  IW labels default to the solver: the paper's
            walls are 20 Ha, not infinite, and it took all labels from its solver.
        n_train, n_val, n_test: samples 0..n_train-1 train, the next n_val val, then n_test test.
        augment_rot90: serve the training split in all four 90-degree rotations (4x per epoch).
        shard_size: samples per shard (the unit of parallel generation and of the cache).
        seed: dataset seed; sample i is generated from (recipe hash, i).
    """

    name = "schrodinger"
    model_links = {"grid": "grid", "label": "label"}  # zoo fit copies these into the model

    def __init__(self, family: str = "random", label: str = "e0", grid: int = 64, solve_grid: int | None = None,
                 analytic_labels: str = "sho", n_train: int = 20_000, n_val: int = 2_000, n_test: int = 5_000,
                 augment_rot90: bool = False, shard_size: int = 250, seed: int = 0, batch_size: int = 128,
                 num_workers: int = 0, data_dir: str | None = None, gen_workers: int | None = None,
                 progress: bool = True, eval_batch_size: int | None = None):
        super().__init__(batch_size=batch_size, num_workers=num_workers, data_dir=data_dir, gen_workers=gen_workers,
                         progress=progress, eval_batch_size=eval_batch_size)
        if family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}; got {family!r}")
        if label not in LABELS:
            raise ValueError(f"label must be one of {LABELS}; got {label!r}")
        S.check_grid(grid, "grid")
        S.check_grid(solve_grid if solve_grid is not None else grid, "solve_grid")
        parts = [] if analytic_labels in ("none", "") else [s.strip() for s in analytic_labels.split(",")]
        if any(p not in ANALYTIC for p in parts):
            raise ValueError(f"analytic_labels must be 'none' or a comma-separated subset of {ANALYTIC}; "
                             f"got {analytic_labels!r}")
        if min(n_train, n_val, n_test) < 0 or n_train + n_val + n_test < 1 or shard_size < 1:
            raise ValueError(f"n_train, n_val, n_test must be >= 0 with a positive sum and shard_size >= 1; "
                             f"got {n_train}, {n_val}, {n_test}, {shard_size}")
        self.family, self.label, self.grid = family, label, grid
        self.solve_grid = solve_grid if solve_grid is not None else grid
        self.analytic_labels = ",".join(sorted(set(parts))) or "none"
        self.n_train, self.n_val, self.n_test = n_train, n_val, n_test
        self.augment_rot90, self.shard_size, self.seed = augment_rot90, shard_size, seed

    def recipe(self) -> dict:
        r = super().recipe()
        r.pop("augment_rot90")  # how the train split is served, not which samples exist
        return r

    @property
    def coordinates(self) -> np.ndarray:
        return S.grid(self.grid)

    def _counts(self) -> list[int]:
        return per_shard_counts(self.n_train + self.n_val + self.n_test, self.shard_size)

    @property
    def n_shards(self) -> int:
        return len(self._counts())

    def shard_fn(self):
        analytic = tuple(a for a in self.analytic_labels.split(",") if a in ANALYTIC)
        return functools.partial(_shard, key=recipe_hash(self.recipe()), counts=self._counts(), family=self.family,
                                 grid=self.grid, solve_grid=self.solve_grid, analytic=analytic)

    def make_splits(self, arrays: dict) -> dict:
        V = torch.as_tensor(arrays["V"], dtype=torch.float32)
        y = torch.as_tensor(arrays[self.label], dtype=torch.float32)
        a, b = self.n_train, self.n_train + self.n_val
        out = {}
        for name, sl in (("train", slice(0, a)), ("val", slice(a, b)), ("test", slice(b, None))):
            if len(V[sl]):
                out[name] = as_dataset(V[sl], y[sl])
        if self.augment_rot90 and "train" in out:
            out["train"] = Rot90Dataset(*out["train"].tensors)
        return out

    def family_of(self, split: str) -> np.ndarray:
        """Family name of every sample of a split (for mixed data)."""
        arrays = self.cache.load(self.shard_fn(), workers=self.gen_workers, progress=False)
        a, b = self.n_train, self.n_train + self.n_val
        idx = {"train": slice(0, a), "val": slice(a, b), "test": slice(b, None)}[split]
        return np.asarray(FAMILY_NAMES)[arrays["family"][idx]]
