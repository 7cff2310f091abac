"""'Atoms as pictures' PROXY data for the EDNN (Mills et al., Chem. Sci. 10, 4129 (2019), arXiv:1708.06686,
Sec. 3.2.1, thesis L1816-1834; thesis Sec. 3.3, L1614-1643).

A PROXY: the paper's labels are PBE total energies of graphene / hBN sheets (not reachable here); ours are the analytic
short-range Morse pair energy of `datamodules.physics.atoms` (its docstring has the potential).  The representation is
the paper's: V(x, y) = sum_i Z_i exp(-r^2 / 2 gamma^2), gamma = 0.2 Angstrom, periodic images included (Eq. 3.1).

Cells (ours): honeycomb sheets of `units` = (5, 3) rectangular 4-atom units (the paper's 60-atom, 12.5 x 13 Angstrom
cell is 5 x 3 such units of graphene, Chem. Sci. 2019 Sec. 3.2.1, thesis L1832) made square: 12.8 x 12.8 Angstrom on a 64 x 64 grid, pixel 0.2 Angstrom
(the paper: 256 x 256 for 12.5 x 13 Angstrom, pixel ~0.05 Angstrom; ours is 4x coarser for the CPU, one pixel =
gamma).  Random family (graphene / hBN / hetero stripe / random alloy), vacancies and displacements
(`physics.atoms.random_sheet`).  Transfer test sets: the same recipe on m x m larger cells (same pixel size, as the
EDNN requires, Chem. Sci. 2019 Sec. 3.3, thesis L1864): m = 2 (4x the area, 240 sites) and m = 4 (16x, 960 sites).

The cache stores the atoms (positions, Z, padded) and the energies; images are rendered from them at setup (a pure
function of the atoms), so entries stay small.  Splits: 'train', 'val', 'test' (the small cell) and 'test_x{m}' for
each transfer multiple m; every sample has its own seed (recipe hash, split, index).
"""
from __future__ import annotations

import functools

import numpy as np
import torch
from torch.utils.data import TensorDataset

from .base import ZooDataModule, per_shard_counts
from .cache import recipe_hash
from .physics import atoms as phys
from .physics.ising import seed_sequence


def _structures(key: str, split: str, lo: int, hi: int, units, cell, vacancy_max, disp_max):
    n_sites = 4 * units[0] * units[1]
    pos = np.zeros((hi - lo, n_sites, 2))
    Z = np.zeros((hi - lo, n_sites), dtype=np.int8)
    E = np.zeros(hi - lo)
    fam = np.zeros(hi - lo, dtype=np.int8)
    for k, i in enumerate(range(lo, hi)):
        rng = np.random.default_rng(seed_sequence(key, split, i))
        p, z, f = phys.random_sheet(units, cell, rng, vacancy_max=vacancy_max, disp_max=disp_max)
        pos[k, :len(z)], Z[k, :len(z)] = p, z
        E[k] = phys.energy(p, z, cell)
        fam[k] = phys.FAMILIES.index(f)
    return {f"{split}_pos": pos, f"{split}_Z": Z, f"{split}_E": E, f"{split}_family": fam}


def _shard(k: int, *, key: str, sizes: dict, mults: dict, units, cell, vacancy_max, disp_max, shard_size) -> dict:
    out = {}
    for split, n in sizes.items():
        m = mults[split]
        lo, hi = min(n, k * shard_size), min(n, (k + 1) * shard_size)
        out.update(_structures(key, split, lo, hi, (units[0] * m, units[1] * m), (cell[0] * m, cell[1] * m),
                               vacancy_max, disp_max))
    return out


def render_batch(pos: np.ndarray, Z: np.ndarray, cell_px: int, pixel: float, gamma: float) -> np.ndarray:
    """(n, N_max, 2) positions and (n, N_max) Z (0 = padding) -> (n, cell_px, cell_px) float32 images."""
    out = np.empty((len(pos), cell_px, cell_px), dtype=np.float32)
    for k in range(len(pos)):
        keep = Z[k] > 0
        out[k] = phys.render(pos[k][keep], Z[k][keep], (cell_px, cell_px), pixel, gamma)
    return out


class AtomsDataModule(ZooDataModule):
    """Rendered C/B/N sheets labelled by the analytic pair energy (total, eV): a PROXY for the paper's DFT sheets.

    Args:
        cell_px: side of the small (training) cell in pixels (ours 64; the paper 256, Chem. Sci. 2019 Sec. 3.2.1, thesis L1832).
        units: (nx, ny) honeycomb units in the small cell (ours 5 x 3 = 60 sites, the paper's atom count).
        pixel: pixel side in Angstrom (ours 0.2; the paper ~0.049).
        gamma: Gaussian width in Angstrom (the paper's 0.2, thesis Sec. 3.3, thesis L1641).
        transfer: linear multiples m of the cell for the transfer test sets 'test_x{m}' (area m^2 x).
        n_train, n_val, n_test: small-cell samples; n_transfer: samples per transfer multiple (same order).
        vacancy_max, disp_max: per-sheet vacancy probability ~ U(0, vacancy_max), displacement sigma ~ U(0, disp_max)
            Angstrom (ours).
        shard_size: samples per split per shard; seed: dataset seed.
    Serves (B, cell_px, cell_px) float32 images and total energies (eV) as float32.
    """

    name = "atoms"
    version = 1
    model_links: dict = {}  # the EDNN takes any multiple of its focus

    def __init__(self, cell_px: int = 64, units: list[int] = (5, 3), pixel: float = 0.2, gamma: float = phys.GAMMA,
                 transfer: list[int] = (2, 4), n_train: int = 8000, n_val: int = 500, n_test: int = 1000,
                 n_transfer: list[int] = (200, 50), vacancy_max: float = 0.15, disp_max: float = 0.1,
                 shard_size: int = 500, seed: int = 0, batch_size: int = 32, num_workers: int = 0,
                 data_dir: str | None = None, gen_workers: int | None = None, progress: bool = True,
                 eval_batch_size: int | None = None):
        super().__init__(batch_size=batch_size, num_workers=num_workers, data_dir=data_dir, gen_workers=gen_workers,
                         progress=progress, eval_batch_size=64 if eval_batch_size is None else eval_batch_size)
        units, transfer, n_transfer = [int(u) for u in units], [int(m) for m in transfer], [int(n) for n in n_transfer]
        if int(cell_px) != cell_px or cell_px < 8:
            raise ValueError(f"cell_px must be an integer >= 8; got {cell_px!r}")
        if len(units) != 2 or min(units) < 1:
            raise ValueError(f"units must be two positive integers (nx, ny); got {units}")
        if not (pixel > 0 and gamma > 0):
            raise ValueError(f"pixel and gamma must be > 0 Angstrom; got {pixel}, {gamma}")
        if any(m < 2 for m in transfer) or len(set(transfer)) != len(transfer):
            raise ValueError(f"transfer must be distinct integers >= 2 (cell multiples); got {transfer}")
        if len(n_transfer) != len(transfer):
            raise ValueError(f"n_transfer needs one count per transfer multiple {transfer}; got {n_transfer}")
        if min(n_train, n_val, n_test, *n_transfer, shard_size) < 1:
            raise ValueError("n_train, n_val, n_test, n_transfer and shard_size must be >= 1")
        if not (0 <= vacancy_max < 1 and disp_max >= 0):
            raise ValueError(f"need 0 <= vacancy_max < 1 and disp_max >= 0; got {vacancy_max}, {disp_max}")
        side = cell_px * pixel
        if phys.R_CUT >= side / 2:
            raise ValueError(f"the cell ({side} Angstrom) must be wider than twice the cutoff {phys.R_CUT}")
        self.cell_px, self.units, self.pixel, self.gamma = int(cell_px), units, float(pixel), float(gamma)
        self.transfer, self.n_transfer = transfer, n_transfer
        self.n_train, self.n_val, self.n_test = n_train, n_val, n_test
        self.vacancy_max, self.disp_max, self.shard_size, self.seed = vacancy_max, disp_max, shard_size, seed

    @property
    def cell(self) -> tuple[float, float]:
        """Small-cell side lengths in Angstrom."""
        return (self.cell_px * self.pixel, self.cell_px * self.pixel)

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": self.n_train, "val": self.n_val, "test": self.n_test,
                **{f"test_x{m}": n for m, n in zip(self.transfer, self.n_transfer)}}

    @property
    def mults(self) -> dict[str, int]:
        return {"train": 1, "val": 1, "test": 1, **{f"test_x{m}": m for m in self.transfer}}

    @property
    def n_shards(self) -> int:
        return len(per_shard_counts(max(self.sizes.values()), self.shard_size))

    def shard_fn(self):
        return functools.partial(_shard, key=recipe_hash(self.recipe()), sizes=self.sizes, mults=self.mults,
                                 units=tuple(self.units), cell=self.cell, vacancy_max=self.vacancy_max,
                                 disp_max=self.disp_max, shard_size=self.shard_size)

    def make_splits(self, arrays: dict) -> dict:
        self.structures, out = {}, {}
        for split, m in self.mults.items():
            pos, Z, E = arrays[f"{split}_pos"], arrays[f"{split}_Z"], arrays[f"{split}_E"]
            self.structures[split] = {"pos": pos, "Z": Z, "E": E, "family": arrays[f"{split}_family"],
                                      "cell": (self.cell[0] * m, self.cell[1] * m)}
            x = render_batch(pos, Z, self.cell_px * m, self.pixel, self.gamma)
            out[split] = TensorDataset(torch.as_tensor(x), torch.as_tensor(E, dtype=torch.float32))
        return out
