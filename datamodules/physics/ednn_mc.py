"""Metropolis with an extensive (tile-sum) energy, re-evaluating only the tiles a flip touches.

An EDNN energy is E(s) = sum_{I,J} g(tile_{I,J}(s)), where tile (I, J) is the (f + 2c)^2 window of rows
I f - c ... I f + f + c - 1 (periodic) and g is any tile function (a trained network, or the exact
nearest-neighbour contribution below).  Flipping spin (i, j) changes only the tiles whose window contains it:
rows I = floor((i - c)/f) ... floor((i + c)/f) (mod L/f), likewise columns, so (2c + 1)^2 tiles for f = 1
(Chem. Sci. 2019 Sec. 3.5, thesis L1899: "local updates would only require the re-evaluation of nearby tiles").  `mode='full'`
re-evaluates every tile of every chain at every proposal: the baseline of the speed benchmark and of the tests.

Pure torch/numpy: no Lightning, nothing outside `datamodules.physics`.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from numba import njit, prange

from .ising import _next, _uniform, seed_sequence

__all__ = ["tile_windows", "all_tiles", "exact_ising_tile_energy", "EDNNMetropolis", "metropolis_ednn",
           "tile_keys", "all_binary_tiles", "table_energy", "metropolis_table"]

TileFn = Callable[[torch.Tensor], torch.Tensor]  # (n, t, t) +-1 float tiles -> (n,) contributions


def _check(L: int, focus: int, context: int) -> None:
    if focus < 1 or context < 0:
        raise ValueError(f"focus must be >= 1 and context >= 0; got focus={focus}, context={context}")
    if L < 1 or L % focus:
        raise ValueError(f"lattice side L must be a positive multiple of focus={focus}; got L={L}")


def all_tiles(spins: torch.Tensor, focus: int, context: int) -> torch.Tensor:
    """(C, L, L) -> (C, L/f, L/f, t, t) periodic tiles, tile (I, J) starting at row I f - c, column J f - c."""
    L = spins.shape[-1]
    _check(L, focus, context)
    idx = torch.arange(-context, L + context, device=spins.device) % L
    padded = spins.index_select(-2, idx).index_select(-1, idx)
    t = focus + 2 * context
    return padded.unfold(-2, t, focus).unfold(-2, t, focus)


def tile_windows(spins: torch.Tensor, chain: torch.Tensor, I: torch.Tensor, J: torch.Tensor, focus: int,
                 context: int) -> torch.Tensor:
    """Tiles (I, J) of the chains `chain`: spins (C, L, L), chain (n,), I and J (n, K) tile indices ->
    (n, K, K, t, t) with tile [a, b] = tile (I[:, a], J[:, b])."""
    L = spins.shape[-1]
    t = focus + 2 * context
    u = torch.arange(t, device=spins.device)
    rows = (I[..., None] * focus - context + u) % L  # (n, K, t)
    cols = (J[..., None] * focus - context + u) % L
    return spins[chain[:, None, None, None, None], rows[:, :, None, :, None], cols[:, None, :, None, :]]


def exact_ising_tile_energy(focus: int, context: int) -> TileFn:
    """The exact nearest-neighbour Ising energy (J = 1) as a tile function: each focus spin with its right and
    lower neighbour (needs context >= 1), so the tile sum over a periodic lattice is the total energy."""
    if context < 1:
        raise ValueError("the nearest-neighbour energy needs context >= 1")
    f, c = focus, context

    def g(tiles: torch.Tensor) -> torch.Tensor:
        s = tiles[:, c:c + f, c:c + f]
        right = tiles[:, c:c + f, c + 1:c + f + 1]
        down = tiles[:, c + 1:c + f + 1, c:c + f]
        return -(s * (right + down)).sum(dim=(-1, -2))
    return g


class EDNNMetropolis:
    """Random-site single-flip Metropolis on C chains at once (one proposal per chain per step).

    Args:
        tile_fn: (n, t, t) -> (n,) tile contributions (float); called under no_grad.
        L, focus, context: lattice side and the EDNN tiling (periodic).
        betas: (C,) inverse temperatures, one per chain.
        mode: 'local' ((2c/f + 1)^2 tiles per proposal) or 'full' (every tile).
        seed: int, string or SeedSequence; start: 'ordered' or 'random'.
    """

    def __init__(self, tile_fn: TileFn, L: int, focus: int, context: int, betas, mode: str = "local", seed=0,
                 start: str = "ordered", device: str | torch.device = "cpu", dtype=torch.float32):
        _check(L, focus, context)
        if mode not in ("local", "full"):
            raise ValueError(f"mode must be 'local' or 'full'; got {mode!r}")
        if start not in ("ordered", "random"):
            raise ValueError(f"start must be 'ordered' or 'random'; got {start!r}")
        self.tile_fn, self.L, self.f, self.c, self.mode = tile_fn, L, focus, context, mode
        self.nt = L // focus
        self.K = math.ceil(2 * context / focus) + 1  # most tile rows one spin can be in
        if mode == "local" and self.K > self.nt:
            raise ValueError(f"local updates need L/f >= ceil(2c/f) + 1 = {self.K} tiles per side; got {self.nt} "
                             f"(use mode='full' on so small a lattice)")
        self.betas = torch.as_tensor(np.asarray(betas, dtype=np.float64), device=device)
        C = len(self.betas)
        ss = seed if isinstance(seed, np.random.SeedSequence) else seed_sequence(seed)
        self.gen = torch.Generator(device="cpu").manual_seed(int(ss.generate_state(1, dtype=np.uint64)[0] >> 1))
        self.device, self.dtype = torch.device(device), dtype
        if start == "ordered":
            self.spins = torch.ones(C, L, L, device=device, dtype=dtype)
        else:
            self.spins = (2 * torch.randint(0, 2, (C, L, L), generator=self.gen) - 1).to(device, dtype)
        self.contrib = self._full_map()  # (C, L/f, L/f) float64
        self.energy = self.contrib.sum(dim=(1, 2))
        self.n_accepted = torch.zeros(C, dtype=torch.long, device=device)
        self.n_proposed = 0

    @torch.no_grad()
    def _eval(self, tiles: torch.Tensor) -> torch.Tensor:
        t = self.f + 2 * self.c
        return self.tile_fn(tiles.reshape(-1, t, t)).reshape(tiles.shape[:-2]).to(torch.float64)

    def _full_map(self) -> torch.Tensor:
        return self._eval(all_tiles(self.spins, self.f, self.c))

    @torch.no_grad()
    def step(self) -> None:
        """One proposal per chain."""
        C, L = self.spins.shape[:2]
        site = torch.randint(0, L * L, (C,), generator=self.gen).to(self.device)
        u = torch.rand(C, generator=self.gen, dtype=torch.float64).to(self.device)
        i, j = site // L, site % L
        rows = torch.arange(C, device=self.device)
        self.spins[rows, i, j] *= -1  # flip in place; rejected flips are undone below
        if self.mode == "full":
            new_map = self._full_map()
            dE = new_map.sum(dim=(1, 2)) - self.energy
        else:
            k = torch.arange(self.K, device=self.device)
            I0 = torch.div(i - self.c, self.f, rounding_mode="floor")
            J0 = torch.div(j - self.c, self.f, rounding_mode="floor")
            I, J = I0[:, None] + k, J0[:, None] + k  # (C, K), unwrapped
            mask = ((I <= torch.div(i + self.c, self.f, rounding_mode="floor")[:, None])[:, :, None]
                    & (J <= torch.div(j + self.c, self.f, rounding_mode="floor")[:, None])[:, None, :])
            I, J = I % self.nt, J % self.nt
            new = self._eval(tile_windows(self.spins, rows, I, J, self.f, self.c))  # (C, K, K)
            old = self.contrib[rows[:, None, None], I[:, :, None], J[:, None, :]]
            dE = ((new - old) * mask).sum(dim=(1, 2))
        accept = u < torch.exp(-torch.clamp(self.betas * dE, min=0, max=700))
        rej = ~accept
        self.spins[rows[rej], i[rej], j[rej]] *= -1
        if self.mode == "full":
            self.contrib[accept] = new_map[accept]
        else:
            a = accept.nonzero().squeeze(1)
            if len(a):
                m = mask[a]
                cc = a[:, None, None].expand_as(m)[m]
                ii = I[a][:, :, None].expand_as(m)[m]
                jj = J[a][:, None, :].expand_as(m)[m]
                self.contrib[cc, ii, jj] = new[a][m]
        self.energy = self.energy + torch.where(accept, dE, torch.zeros_like(dE))
        self.n_accepted += accept.long()
        self.n_proposed += 1

    def sweep(self, n: int = 1) -> None:
        """n sweeps of L^2 proposals per chain."""
        for _ in range(n * self.L * self.L):
            self.step()

    def resync(self) -> float:
        """Recompute the whole tile map; returns the largest |tracked - recomputed| energy (float drift check)."""
        full = self._full_map()
        drift = float((full.sum(dim=(1, 2)) - self.energy).abs().max())
        self.contrib, self.energy = full, full.sum(dim=(1, 2))
        return drift


def metropolis_ednn(tile_fn: TileFn, L: int, focus: int, context: int, temps, n_chains: int = 16,
                    n_equil: int = 100, n_samples: int = 100, every: int = 1, seed=0, mode: str = "local",
                    start: str = "ordered", progress: bool = False) -> dict:
    """<E>/N, C/N, <|M|>/N vs T with the tile energy in the loop (sweeps of L^2 proposals).

    Returns T, e, c, m and their standard errors over chains ('*_err'), plus 'drift' (the largest float
    difference between the incrementally tracked energy and a full recomputation at the end) and 'acceptance'.
    """
    temps = np.atleast_1d(np.asarray(temps, dtype=np.float64))
    if np.any(temps <= 0):
        raise ValueError("temperatures must be positive")
    sampler = EDNNMetropolis(tile_fn, L, focus, context, np.repeat(1.0 / temps, n_chains), mode=mode, seed=seed,
                             start=start)
    N = L * L
    from tqdm.auto import tqdm

    Es, Ms = [], []
    for s in tqdm(range(n_equil + n_samples * every), desc="EDNN Metropolis", unit="sweep", disable=not progress):
        sampler.sweep()
        if s >= n_equil and (s - n_equil + 1) % every == 0:
            Es.append(sampler.energy.cpu().numpy().copy())
            Ms.append(sampler.spins.reshape(len(sampler.spins), -1).mean(1).abs().double().cpu().numpy())
    drift = sampler.resync()
    E_ = np.stack(Es, 1).reshape(len(temps), n_chains, -1)
    M_ = np.stack(Ms, 1).reshape(len(temps), n_chains, -1)
    T3 = temps[:, None]
    per_chain = {"e": E_.mean(-1) / N, "c": E_.var(-1) / (T3 ** 2 * N), "m": M_.mean(-1)}
    out = {"T": temps, "drift": drift,
           "acceptance": (sampler.n_accepted.double() / max(sampler.n_proposed, 1)).cpu().numpy()
           .reshape(len(temps), n_chains).mean(1)}
    for k, v in per_chain.items():
        out[k] = v.mean(1)
        out[k + "_err"] = v.std(1, ddof=1) / math.sqrt(n_chains) if n_chains > 1 else np.full(len(temps), np.nan)
    return out


# ============================================================================ tabulated tile function (numba)
def tile_keys(tiles: np.ndarray) -> np.ndarray:
    """(n, t, t) +-1 tiles -> (n,) int64 keys: bit k = (element k > 0), elements in row-major order."""
    flat = np.asarray(tiles).reshape(len(tiles), -1)
    return ((flat > 0).astype(np.int64) << np.arange(flat.shape[1], dtype=np.int64)).sum(1)


def all_binary_tiles(t: int) -> np.ndarray:
    """Every +-1 tile of side t (t^2 <= 20) as float32 (2^(t^2), t, t); tile k has key k."""
    n = t * t
    if n > 20:
        raise ValueError(f"a {t}x{t} tile has 2^{n} states: too many to tabulate (t^2 <= 20)")
    k = np.arange(2 ** n, dtype=np.int64)[:, None]
    return (2 * ((k >> np.arange(n)) & 1) - 1).astype(np.float32).reshape(-1, t, t)


@njit(parallel=True, cache=True)
def _table_kernel(spins, betas, table, f, c, n_sweeps, rng, E, every, E_rec, M_rec):  # pragma: no cover - numba
    C, L, _ = spins.shape
    t = f + 2 * c
    nt = L // f
    for ch in prange(C):
        s = spins[ch]
        st = rng[ch]
        e = E[ch]
        rec = 0
        for sweep in range(n_sweeps):
            for _ in range(L * L):
                st, x = _next(st)
                i = np.int64(x % np.uint64(L))
                j = np.int64((x >> np.uint64(20)) % np.uint64(L))
                I0 = (i - c) // f
                I1 = (i + c) // f
                J0 = (j - c) // f
                J1 = (j + c) // f
                dE = 0.0
                for flip in range(2):  # 0: old keys (subtract), then flip, 1: new keys (add)
                    if flip == 1:
                        s[i, j] = -s[i, j]
                    for Iu in range(I0, I1 + 1):
                        I = Iu % nt
                        for Ju in range(J0, J1 + 1):
                            J = Ju % nt
                            key = 0
                            b = 0
                            for u in range(t):
                                r = (I * f - c + u) % L
                                for v in range(t):
                                    if s[r, (J * f - c + v) % L] > 0:
                                        key |= 1 << b
                                    b += 1
                            if flip == 0:
                                dE -= table[key]
                            else:
                                dE += table[key]
                accept = dE <= 0.0
                if not accept:
                    st, x = _next(st)
                    accept = _uniform(x) < math.exp(-betas[ch] * dE)
                if accept:
                    e += dE
                else:
                    s[i, j] = -s[i, j]
            if every > 0 and (sweep + 1) % every == 0 and rec < E_rec.shape[1]:
                m = 0
                for a in range(L):
                    for b2 in range(L):
                        m += s[a, b2]
                E_rec[ch, rec] = e
                M_rec[ch, rec] = m
                rec += 1
        E[ch] = e
        rng[ch] = st


def table_energy(spins: np.ndarray, table: np.ndarray, focus: int, context: int) -> np.ndarray:
    """Total tile-sum energy of (C, L, L) spins with a tabulated tile function."""
    tiles = all_tiles(torch.as_tensor(np.asarray(spins, dtype=np.float32)), focus, context).numpy()
    C = len(tiles)
    t = focus + 2 * context
    return table[tile_keys(tiles.reshape(-1, t, t))].reshape(C, -1).sum(1).astype(np.float64)


def metropolis_table(table: np.ndarray, L: int, focus: int, context: int, temps, n_chains: int = 64,
                     n_equil: int = 1000, n_samples: int = 500, every: int = 2, seed=0, start: str = "ordered") -> dict:
    """Local-update Metropolis (random site, L^2 proposals per sweep) whose energy is a tabulated tile function:
    `table[key]` = the tile network's output on the tile with that key (see `all_binary_tiles`), i.e. exactly the
    EDNN energy, each proposal re-evaluating the (ceil(2c/f) + 1)^2 tiles that hold the flipped spin.
    Returns T, e, c, m (+ '*_err' over chains) and 'drift' (tracked vs recomputed energy at the end)."""
    _check(L, focus, context)
    t = focus + 2 * context
    table = np.ascontiguousarray(table, dtype=np.float64)
    if table.shape != (2 ** (t * t),):
        raise ValueError(f"table must have 2^(t^2) = {2 ** (t * t)} entries for t = {t}; got {table.shape}")
    temps = np.atleast_1d(np.asarray(temps, dtype=np.float64))
    if np.any(temps <= 0):
        raise ValueError("temperatures must be positive")
    if math.ceil(2 * context / focus) + 1 > L // focus:
        raise ValueError("lattice too small for local updates: need L/f >= ceil(2c/f) + 1")
    ss = seed if isinstance(seed, np.random.SeedSequence) else seed_sequence(seed)
    C = len(temps) * n_chains
    if start == "ordered":
        spins = np.ones((C, L, L), dtype=np.int8)
    elif start == "random":
        spins = (2 * np.random.default_rng(ss).integers(0, 2, size=(C, L, L)) - 1).astype(np.int8)
    else:
        raise ValueError(f"start must be 'ordered' or 'random'; got {start!r}")
    betas = np.repeat(1.0 / temps, n_chains)
    rng = ss.generate_state(C, dtype=np.uint64)
    E = table_energy(spins, table, focus, context)
    none = np.zeros((C, 0))
    _table_kernel(spins, betas, table, focus, context, int(n_equil), rng, E, 0, none, none.astype(np.int64))
    E_rec = np.zeros((C, n_samples))
    M_rec = np.zeros((C, n_samples), dtype=np.int64)
    _table_kernel(spins, betas, table, focus, context, int(n_samples * every), rng, E, int(every), E_rec, M_rec)
    drift = float(np.max(np.abs(table_energy(spins, table, focus, context) - E)))
    N = L * L
    E_ = E_rec.reshape(len(temps), n_chains, -1)
    M_ = np.abs(M_rec.reshape(len(temps), n_chains, -1)) / N
    T3 = temps[:, None]
    per_chain = {"e": E_.mean(-1) / N, "c": E_.var(-1) / (T3 ** 2 * N), "m": M_.mean(-1)}
    out = {"T": temps, "drift": drift, "configs": spins}
    for k, v in per_chain.items():
        out[k] = v.mean(1)
        out[k + "_err"] = v.std(1, ddof=1) / math.sqrt(n_chains) if n_chains > 1 else np.full(len(temps), np.nan)
    return out
