"""Entanglement spectra of MBL / thermal eigenstates: Durr & Chakravarty, PRB 100, 075102 (2019), arXiv:1903.05755
[DC19], "Producing Data" and "Clustering Data" (Durr thesis Secs. 1.3.1-1.3.2; "Lnnn" = line of
shared/papers/durr-2022-thesis.txt).

One cache entry holds (a) a (Delta, lambda) grid with `grid_realizations` disorder realizations per point and
`states_per_realization` random kept eigenstates each, and (b) the three supervised training points with
`train_realizations` realizations and (by default) every kept eigenstate.  Sample (point, realization) is
generated from a seed derived from (recipe hash, point index, realization), so the bytes depend on neither the
shard layout's workers nor the number of ranks (`zoo data generate` under torchrun).

Served two ways (`serve`, not part of the recipe):
- 'states' (classifier): train / val / test = the training points' eigenstates split by realization;
  predict = every grid eigenstate with its point index.
- 'resamples' (clusterer): each training "batch" is one resample: `n_per_point` eigenstates drawn at every grid
  point (uniform over realizations, then over kept states: all realizations keep the same number of states, so
  this is uniform over the point's pool, without replacement: ours), as in DC19 thesis Sec. 1.3.2 (L407).
"""
from __future__ import annotations

import functools

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from .base import LOADER_ARGS, ZooDataModule
from .cache import recipe_hash
from .physics import spin_chain as sc

PHASES = ("PM", "SG", "thermal")  # class index order everywhere (predict_phase returns (PM, SG, thermal))
DEFAULT_TRAIN_POINTS = [[-0.8, 0.2, "PM"], [0.8, 0.2, "SG"], [0.0, 1.0, "thermal"]]  # DC19 thesis Sec. 1.4.1 (L457-459)
SERVES = ("states", "resamples")
# serving args of this DataModule, kept out of the recipe hash like base.LOADER_ARGS
MBL_LOADER_ARGS = {"serve", "n_resamples", "n_per_point", "resample_seed"}


def _shard(k: int, *, key: str, L: int, points: list, chunks: list, region: tuple, resolve_parity: bool,
           trim: float, mean_convention: str, ed: str = "exact") -> dict:
    out = {n: [] for n in ("spectra", "entropy", "realization", "parity", "energy_index", "point")}
    for p in chunks[k]:
        delta, lam, R, K = points[p]
        d = sc.point_states(L, delta, lam, R, [sc.seed_sequence(key, p, r) for r in range(R)], K, region=region,
                            resolve_parity=resolve_parity, trim=trim, mean_convention=mean_convention, vectors=ed)
        for n, v in d.items():
            out[n].append(v)
        out["point"].append(np.full(len(d["spectra"]), p, dtype=np.int32))
    return {n: np.concatenate(v) for n, v in out.items()}


class ResampleDataset(Dataset):
    """Item i: (spectra (G*n, d) float32, grid point index (G*n,) int64), drawn from a seed of (seed, i)."""

    def __init__(self, spectra: np.ndarray, point: np.ndarray, n_points: int, n_per_point: int, n_resamples: int,
                 seed: int):
        order = np.argsort(point, kind="stable")
        self.spectra = torch.as_tensor(spectra[order])
        counts = np.bincount(point, minlength=n_points)[:n_points]
        if counts.min() < n_per_point:
            raise ValueError(f"n_per_point={n_per_point} exceeds the {counts.min()} eigenstates stored at some "
                             f"grid point; raise grid_realizations or states_per_realization")
        self.offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.counts, self.n_points, self.n, self.len, self.seed = counts, n_points, n_per_point, n_resamples, seed

    def __len__(self):
        return self.len

    def indices(self, i: int) -> np.ndarray:
        rng = np.random.default_rng(sc.seed_sequence("resample", self.seed, i))
        cmax = int(self.counts.max())
        keys = rng.random((self.n_points, cmax))
        keys[np.arange(cmax)[None, :] >= self.counts[:, None]] = 2.0  # beyond a point's pool: never chosen
        pick = np.argpartition(keys, self.n - 1, axis=1)[:, :self.n] if self.n < cmax else np.argsort(keys, 1)
        pick = np.sort(pick[:, :self.n], axis=1)
        return (self.offsets[:, None] + pick).reshape(-1)

    def __getitem__(self, i: int):
        if not 0 <= i < self.len:
            raise IndexError(i)
        return self.spectra[self.indices(i)], torch.arange(self.n_points).repeat_interleave(self.n)


class MBLDataModule(ZooDataModule):
    """Args:
        L: chain length (open; even, >= region_size + 2).  Paper: 12 (thesis Sec. 1.3, L373); default 8 (CPU).
        n_delta, delta_range, n_lambda, lambda_range: the grid, linspace inclusive.  Paper: 1200 points,
            Delta in [-3, 3], lambda in [0, 2] (thesis Sec. 1.3.1, L387, L403); shape 60 x 20 is ours.
        grid_realizations: disorder realizations per grid point (paper 100, thesis Sec. 1.3.1, L403); 0 = no grid.
        states_per_realization: random kept eigenstates stored per (grid point, realization) (None: all kept).
        train_points: [[Delta, lambda, phase], ...], phase in PM / SG / thermal.  Paper (thesis Sec. 1.4.1, L457):
            (0.8, 0.2) SG, (-0.8, 0.2) PM, (0, 1) thermal.
        train_realizations, train_states_per_realization: realizations per training point (paper: 100, thesis
            Fig. 1.5, L447) and states kept from each (None: all kept states).
        region_size: size of the middle region A (paper 4, thesis Sec. 1.3.1, L389).  trim: fraction cut at each
            end of the spectrum (paper 10 %, thesis Sec. 1.3.1 footnote, L399).  resolve_parity: diagonalize in the
            P sectors (default, ours; False shows the Z2 artifact).  mean_convention: 'arithmetic' (default) or
            'geometric' Jbar / hbar (the paper's "means", thesis Sec. 1.3, L373, is ambiguous: ours).
        points_per_shard: grid points per cache shard (the unit of parallel generation; part of the recipe).
        ed: how grid points with `states_per_realization` are diagonalized (`spin_chain.point_states` vectors=):
            'exact' (default: eigh per parity sector; the bytes of every dataset published before 'ed' existed, so
            it is left out of the recipe and their hashes are unchanged), 'chosen', or 'band' (two-stage
            reduction, eigenvalues only, then only the kept eigenvectors: ~2.5-3x faster at L = 12, the same kept
            states, spectra equal to ~1e-12 but not bit for bit; part of the recipe when not 'exact').
        seed: dataset seed.
        serve: 'states' (classifier) or 'resamples' (clusterer); n_resamples, n_per_point (paper 1000 and 5,
            thesis Sec. 1.3.2, L407), resample_seed: the resampling protocol.  Not part of the recipe.
        val_fraction, test_fraction: share of the training points' realizations held out (by realization).
    """

    name = "mbl"
    # `ed` = "exact" is the path of every dataset made before `ed` existed: same recipe, same hash
    recipe_added_options = {"ed": "exact"}
    version = 1
    model_links = {"L": "L", "region_size": "region_size", "n_delta": "n_delta", "n_lambda": "n_lambda",
                   "delta_range": "delta_range", "lambda_range": "lambda_range", "n_per_point": "n_per_point"}

    def __init__(self, L: int = 8, n_delta: int = 60, delta_range: list[float] = (-3.0, 3.0), n_lambda: int = 20,
                 lambda_range: list[float] = (0.0, 2.0), grid_realizations: int = 20,
                 states_per_realization: int | None = 20, train_points: list | None = None,
                 train_realizations: int = 100, train_states_per_realization: int | None = None,
                 region_size: int = 4, trim: float = 0.1, resolve_parity: bool = True,
                 mean_convention: str = "arithmetic", points_per_shard: int = 20, ed: str = "exact", seed: int = 0,
                 serve: str = "states", n_resamples: int = 50, n_per_point: int = 5, resample_seed: int = 0,
                 val_fraction: float = 0.1, test_fraction: float = 0.1, batch_size: int = 256,
                 num_workers: int = 0, data_dir: str | None = None, gen_workers: int | None = None,
                 progress: bool = True, eval_batch_size: int | None = None):
        super().__init__(batch_size=batch_size, num_workers=num_workers, data_dir=data_dir, gen_workers=gen_workers,
                         progress=progress, eval_batch_size=eval_batch_size)
        sc.middle_region(L, region_size)  # validates L and the cut
        for name, n, rng in (("delta", n_delta, delta_range), ("lambda", n_lambda, lambda_range)):
            if not isinstance(n, int) or n < 1:
                raise ValueError(f"n_{name} must be a positive integer; got {n!r}")
            if len(rng) != 2 or not np.all(np.isfinite(rng)) or rng[1] < rng[0]:
                raise ValueError(f"{name}_range must be [low, high] finite with low <= high; got {rng!r}")
        if min(lambda_range) < 0:
            raise ValueError(f"lambda_range must be >= 0; got {lambda_range!r}")
        if grid_realizations < 0 or train_realizations < 0:
            raise ValueError(f"grid_realizations and train_realizations must be >= 0; "
                             f"got {grid_realizations}, {train_realizations}")
        for name, v in (("states_per_realization", states_per_realization),
                        ("train_states_per_realization", train_states_per_realization)):
            if v is not None and v < 1:
                raise ValueError(f"{name} must be >= 1 or None (all kept states); got {v}")
        train_points = [list(p) for p in (DEFAULT_TRAIN_POINTS if train_points is None else train_points)]
        for p in train_points:
            if len(p) != 3 or p[2] not in PHASES or not np.isfinite(p[0]) or not np.isfinite(p[1]) or p[1] < 0:
                raise ValueError(f"train_points must be [[Delta, lambda >= 0, phase in {PHASES}], ...]; got {p!r}")
        if serve not in SERVES:
            raise ValueError(f"serve must be one of {SERVES}; got {serve!r}")
        if serve == "resamples" and grid_realizations == 0:
            raise ValueError("serve='resamples' needs a grid (grid_realizations >= 1)")
        if n_resamples < 1 or n_per_point < 1:
            raise ValueError(f"n_resamples and n_per_point must be >= 1; got {n_resamples}, {n_per_point}")
        if ed not in sc.ED_PATHS:
            raise ValueError(f"ed must be one of {sc.ED_PATHS}; got {ed!r}")
        if points_per_shard < 1:
            raise ValueError(f"points_per_shard must be >= 1; got {points_per_shard}")
        if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
            raise ValueError(f"val_fraction and test_fraction must be in [0, 1) and sum below 1; "
                             f"got {val_fraction}, {test_fraction}")
        sc.trim_count(2 ** L, trim)
        sc.mean_couplings(0.0, mean_convention)
        self.L, self.n_delta, self.delta_range = L, n_delta, [float(x) for x in delta_range]
        self.n_lambda, self.lambda_range = n_lambda, [float(x) for x in lambda_range]
        self.grid_realizations, self.states_per_realization = grid_realizations, states_per_realization
        self.train_points = train_points
        self.train_realizations, self.train_states_per_realization = train_realizations, train_states_per_realization
        self.region_size, self.trim, self.resolve_parity = region_size, trim, resolve_parity
        self.mean_convention, self.points_per_shard, self.seed = mean_convention, points_per_shard, seed
        self.ed = ed
        self.serve, self.n_resamples, self.n_per_point, self.resample_seed = serve, n_resamples, n_per_point, resample_seed
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.arrays: dict | None = None

    def recipe(self) -> dict:
        r = super().recipe()
        return {k: v for k, v in r.items() if k not in MBL_LOADER_ARGS | LOADER_ARGS}

    # -- the grid -------------------------------------------------------------------------------
    @property
    def deltas(self) -> np.ndarray:
        return np.linspace(*self.delta_range, self.n_delta)

    @property
    def lambdas(self) -> np.ndarray:
        return np.linspace(*self.lambda_range, self.n_lambda)

    @property
    def n_grid(self) -> int:
        return self.n_delta * self.n_lambda if self.grid_realizations else 0

    def points(self) -> list:
        """[(Delta, lambda, realizations, states per realization)]: grid (Delta-major) then training points."""
        pts = []
        if self.grid_realizations:
            pts = [(float(d), float(l), self.grid_realizations, self.states_per_realization)
                   for d in self.deltas for l in self.lambdas]
        if self.train_realizations:
            pts += [(float(p[0]), float(p[1]), self.train_realizations, self.train_states_per_realization)
                    for p in self.train_points]
        return pts

    def _chunks(self) -> list[list[int]]:
        g = self.n_grid
        chunks = [list(range(i, min(i + self.points_per_shard, g))) for i in range(0, g, self.points_per_shard)]
        if self.train_realizations:
            chunks += [[g + j] for j in range(len(self.train_points))]
        return chunks

    @property
    def n_shards(self) -> int:
        return len(self._chunks())

    def shard_fn(self):
        return functools.partial(_shard, key=recipe_hash(self.recipe()), L=self.L, points=self.points(),
                                 chunks=self._chunks(), region=sc.middle_region(self.L, self.region_size),
                                 resolve_parity=self.resolve_parity, trim=self.trim,
                                 mean_convention=self.mean_convention, ed=self.ed)

    # -- splits ---------------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        if self.arrays is None:
            self.arrays = self.cache.load(self.shard_fn(), workers=self.gen_workers, progress=self.progress)
        if not self.splits:
            self.splits = self.make_splits(self.arrays)

    def grid_data(self) -> dict:
        """The grid eigenstates: spectra, entropy, point (grid index = i_delta * n_lambda + i_lambda), ..."""
        a = self.arrays
        m = a["point"] < self.n_grid
        return {k: v[m] for k, v in a.items()}

    def train_point_data(self) -> dict:
        """The training points' eigenstates with `label` (index into PHASES) and `split` (0 train, 1 val, 2 test)."""
        a = self.arrays
        m = a["point"] >= self.n_grid
        out = {k: v[m] for k, v in a.items()}
        j = out["point"] - self.n_grid
        out["label"] = np.array([PHASES.index(p[2]) for p in self.train_points], dtype=np.int64)[j]
        R = self.train_realizations
        n_test = int(round(self.test_fraction * R))
        n_val = int(round(self.val_fraction * R))
        r = out["realization"]
        out["split"] = np.where(r >= R - n_test, 2, np.where(r >= R - n_test - n_val, 1, 0)).astype(np.int8)
        return out

    def make_splits(self, arrays: dict) -> dict:
        splits = {}
        if self.train_realizations:
            t = self.train_point_data()
            for s, name in enumerate(("train", "val", "test")):
                m = t["split"] == s
                if m.any():
                    splits[name] = TensorDataset(torch.as_tensor(t["spectra"][m]), torch.as_tensor(t["label"][m]))
        if self.n_grid:
            g = self.grid_data()
            splits["predict"] = TensorDataset(torch.as_tensor(g["spectra"]), torch.as_tensor(g["point"].astype(np.int64)))
        return splits

    def resamples(self, n: int | None = None, seed: int | None = None) -> ResampleDataset:
        g = self.grid_data()
        return ResampleDataset(g["spectra"], g["point"], self.n_grid, self.n_per_point, n or self.n_resamples,
                               self.resample_seed if seed is None else seed)

    # -- loaders --------------------------------------------------------------------------------
    def train_dataloader(self):
        if self.serve == "resamples":
            return DataLoader(self.resamples(), batch_size=None, shuffle=False, num_workers=self.num_workers)
        return super().train_dataloader()

    def val_dataloader(self):
        if self.serve == "resamples":  # one resample of another seed: the clusterer's sanity/val pass
            return DataLoader(self.resamples(1, self.resample_seed + 10_007), batch_size=None, shuffle=False)
        return super().val_dataloader()

    def predict_dataloader(self):
        return self._loader("predict", False)
