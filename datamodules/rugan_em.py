"""Targeted-sampling Ising configurations labelled by (E/L^2, m), for the paper-faithful RUGAN
(Casert, Mills, Vieijra, Ryckebusch, Tamblyn, arXiv:2002.07055, Supp. A.4 and Fig. 6; thesis App. A,
L3167-3178).

Paper: the training set comes from targeted sampling "so that we can obtain a training set with a
uniform energy distribution" (Supp. A.4, thesis L3169); the RUGAN is conditioned on the energy and the magnetization
density m = sum_i s_i / N (L3169); it is trained "on a data set of Ising microstates restricted to
high and low energy values and magnetizations near zero" (the dashed regions of Fig. 6A, thesis L3169,
L3176) and then "requested to create configurations with all possible labels" (Fig. 6 caption, L3176).

Ours (the paper gives no numbers for the windows, no size or kT for the data, Supp. A.4):
  * L = 16 (paper: L = 64 in Fig. 6, thesis L3176; ours: 16 fits a CPU budget);
  * the windows are a union of rectangles [e_lo, e_hi, m_lo, m_hi] in the (E/L^2, m) plane, an
    argument.  Default: our reading of Supp. A.4 (thesis L3169) as "(low OR high energy) AND |m| near zero":
        low   -1.5 <= E/L^2 <= -0.75,  |m| <= 0.25
        high   0.75 <= E/L^2 <=  2.0,  |m| <= 0.25
    The low window starts at -1.5 because targeted sampling at L = 16 gives no configuration with
    |m| <= 0.25 below E/L^2 = -1.5 (measured: 0 of 640 below -1.5, 11-43 % per 1/8-wide energy
    band above it), so a window reaching lower would add no data.  The other reading, "(low or high
    energy) OR |m| small", is one more rectangle: train_windows=[[-2,-1.5,-1,1],[0.75,2,-1,1],[-2,2,-0.25,0.25]].
  * energy_scale 0.05 of Eq. B.2 (datamodules.physics.ising.targeted_sampling, the zoo's default).

Data: shard k is one complete run of the targeted-sampling builder of Mills thesis App. B.2 (Eq. B.2, L3308-3372;
`ising.targeted_sampling`) with `shard_size` configurations per energy level; `per_level / shard_size` shards, so every allowed
level holds `per_level` configurations (uniform in energy, Supp. A.4, thesis L3169).

Splits (targeted sampling repeats configurations, so every split is by the SHA3-512 hash of the
configuration, as Mills & Tamblyn, PRE 97, 032119 (2018), Appendix "Training-testing division" (thesis
L1226-1228)):
    train  configurations inside a window whose hash falls in the train range;
    val    configurations inside a window whose hash falls in the val range (the same windows);
    test   the query set: every configuration outside the windows plus the in-window ones whose
           hash falls in the test range - the whole (E/L^2, m) plane that targeted sampling reaches.
A batch is (spins float (B, L, L) in {-1, +1}, labels float (B, 2) = (E/L^2, m)).
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .base import ZooDataModule, as_dataset
from .cache import recipe_hash
from .physics import ising

DEFAULT_WINDOWS = [[-1.5, -0.75, -0.25, 0.25], [0.75, 2.0, -0.25, 0.25]]


MAX_ATTEMPTS = 12


def _shard(k: int, *, key: str, L: int, shard_size: int, energy_scale, kT_discovery: float, kT_sweep: float) -> dict:
    """One run of the App. B.2 builder.  At L = 16 about 1 run in 4 gets stuck: its Phase III restarts for the
    lowest levels begin in two-domain (stripe) states at E/L^2 = -1.75 and never reach the ground state
    within the builder's pass limit (RuntimeError).  Ours: such a shard is rebuilt from the next seed
    (key, k, attempt), so the data stay a pure function of (recipe, k)."""
    for attempt in range(MAX_ATTEMPTS):
        seed = ising.seed_sequence(key, k) if attempt == 0 else ising.seed_sequence(key, k, attempt)
        try:
            x = ising.targeted_sampling(L, shard_size, seed=seed, energy_scale=energy_scale,
                                        kT_discovery=kT_discovery, kT_sweep=kT_sweep)
        except RuntimeError:
            if attempt == MAX_ATTEMPTS - 1:
                raise
            continue
        return {"spins": x}


def em_labels(spins) -> np.ndarray:
    """(E/L^2, m) of each configuration, float32 (B, 2); exact (multiples of 4/N and 2/N)."""
    s = ising.check_spins(spins)
    N = s.shape[-1] * s.shape[-2]
    return np.stack([ising.energy(s) / N, ising.magnetization(s)], -1).astype(np.float32)


def check_windows(windows) -> list[list[float]]:
    """Validate a list of [e_lo, e_hi, m_lo, m_hi] rectangles (E/L^2 in [-2, 2], m in [-1, 1])."""
    try:
        w = [[float(v) for v in r] for r in windows]
    except TypeError as ex:
        raise ValueError(f"train_windows must be a list of [e_lo, e_hi, m_lo, m_hi]; got {windows!r}") from ex
    if not w:
        raise ValueError("train_windows must list at least one [e_lo, e_hi, m_lo, m_hi] rectangle")
    for r in w:
        if len(r) != 4 or not all(math.isfinite(v) for v in r):
            raise ValueError(f"each train window must be 4 finite numbers [e_lo, e_hi, m_lo, m_hi]; got {r}")
        e0, e1, m0, m1 = r
        if not (-2 <= e0 < e1 <= 2 and -1 <= m0 < m1 <= 1):
            raise ValueError(f"train window {r} must have -2 <= e_lo < e_hi <= 2 and -1 <= m_lo < m_hi <= 1")
    return w


def in_windows(labels, windows) -> np.ndarray:
    """True where the (E/L^2, m) label lies in any window (closed rectangles)."""
    lab = np.asarray(labels, dtype=np.float64).reshape(-1, 2)
    e, m = lab[:, 0], lab[:, 1]
    tol = 1e-9
    out = np.zeros(len(lab), dtype=bool)
    for e0, e1, m0, m1 in windows:
        out |= (e >= e0 - tol) & (e <= e1 + tol) & (m >= m0 - tol) & (m <= m1 + tol)
    return out


# ------------------------------------------------------------------- the reachable (E/L^2, m) plane
def min_boundary(k, L: int) -> np.ndarray:
    """Fewest broken bonds of a periodic L x L lattice with k minority spins (0 <= k <= L^2 / 2):
    min(2 ceil(2 sqrt k), 2L + 2 [k mod L != 0]) - a compact cluster (the Z^2 minimum, Harary-Harborth)
    or a band of rows wrapping the torus; 0 for k = 0."""
    k = np.asarray(k, dtype=np.int64)
    compact = 2 * np.ceil(2 * np.sqrt(k) - 1e-12).astype(np.int64)
    band = 2 * L + 2 * (k % L != 0)
    return np.where(k == 0, 0, np.minimum(compact, band))


def energy_bounds(m, L: int) -> tuple[np.ndarray, np.ndarray]:
    """(lowest, highest) E/L^2 at magnetization m on the periodic L x L lattice.

    Lowest: the k = N(1 - |m|)/2 minority spins in the shape with the fewest broken bonds
    (`min_boundary`); highest: the minority spins isolated on one sublattice, 4 broken bonds each,
    E/N = 2 - 4|m|.  Checked against exact enumeration of L = 4 in tests."""
    N = L * L
    k = np.rint(N * (1 - np.abs(np.asarray(m, dtype=np.float64))) / 2).astype(np.int64)
    lo = -2 + 2 * min_boundary(k, L) / N
    hi = -2 + 8 * k / N
    return lo, hi


def em_feasible(e, m, L: int) -> np.ndarray:
    """True where some periodic L x L configuration has (E/L^2, m) = (e, m), up to the lattice's resolution.

    m is first taken to the nearest magnetization the lattice has (k = round(N (1 - |m|) / 2) minority spins,
    N = L^2, as `energy_bounds` does); then e must lie in that magnetization's exact energy envelope
    [lo, hi] (`energy_bounds`: lo is attained by the minority spins in a minimum-boundary cluster or band, hi by
    isolated minority spins on one sublattice), widened by half an energy-level spacing 2/N so a request
    rounds to its nearest level.  Also |e| <= 2 and |m| <= 1.  So e.g. e = -2 needs |m| = 1 (m = 0: lo =
    -2 + 4/L, the two-domain band), and e = 2 needs m = 0 (hi = 2 - 4|m|).  A point inside the envelope but
    between the levels that k minority spins can reach passes: the generator is asked to interpolate there,
    not to do the impossible.  Checked against exact enumeration of L = 4 in tests/zoo/test_bad_input.py."""
    e = np.asarray(e, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    N = L * L
    tol = 1e-9
    lo, hi = energy_bounds(np.clip(m, -1, 1), L)
    half = 2.0 / N
    return (np.abs(e) <= 2 + tol) & (np.abs(m) <= 1 + tol) & (e >= lo - half - tol) & (e <= hi + half + tol)


def em_grid(L: int, de: float, dm: float) -> np.ndarray:
    """The query grid (n, 2) of (E/L^2, m): every grid point that some L x L configuration has
    (inside `energy_bounds`, on an allowed energy level and magnetization of the lattice)."""
    N = L * L
    if de <= 0 or dm <= 0:
        raise ValueError(f"grid spacings must be positive; got de={de}, dm={dm}")
    e = np.arange(-2.0, 2.0 + 1e-9, de)
    m = np.arange(-1.0, 1.0 + 1e-9, dm)
    E, M = np.meshgrid(e, m, indexing="ij")
    E, M = E.ravel(), M.ravel()
    lo, hi = energy_bounds(M, L)
    Ei, Mi = np.rint(E * N).astype(np.int64), np.rint(M * N).astype(np.int64)
    on_lattice = np.isclose(E * N, Ei) & np.isclose(M * N, Mi) & ((Mi + N) % 2 == 0)
    ok = on_lattice & np.isin(Ei, ising.energy_levels(L)) & (E >= lo - 1e-9) & (E <= hi + 1e-9)
    return np.stack([E[ok], M[ok]], -1)


class IsingEMDataModule(ZooDataModule):
    """Targeted-sampling configurations of the periodic L x L Ising model with (E/L^2, m) labels.

    Args:
        L: lattice side (a multiple of 4 for RUGAN).
        per_level: configurations per allowed energy level (uniform in energy, Supp. A.4); a multiple
            of shard_size.
        shard_size: configurations per level per shard; one shard = one run of the App. B.2 builder
            (the unit of parallel generation).
        train_windows: rectangles [e_lo, e_hi, m_lo, m_hi] of E/L^2 and m that training and
            validation are restricted to (see the module docstring for the default and why).
        val_fraction, test_fraction: hash-split fractions (resolution 1/4096) of the in-window
            configurations; everything outside the windows is test (the query set).
        n_select_labels: training labels (E/L^2, m) at which the physics-selection callback scores
            the model (evenly spaced through the sorted distinct training labels).
        energy_scale, kT_discovery, kT_sweep: targeted-sampling settings (ising.targeted_sampling).
        seed: dataset seed; shard k is generated from (recipe hash, k).
    """

    name = "ising-em"
    # the model warns when asked for labels outside the windows it was trained on
    model_links = {"train_windows": "train_windows"}

    def __init__(self, L: int = 16, per_level: int = 800, shard_size: int = 10,
                 train_windows: list[list[float]] | None = None, val_fraction: float = 0.0625,
                 test_fraction: float = 0.0625, n_select_labels: int = 16, energy_scale: float | str = 0.05,
                 kT_discovery: float = 0.1, kT_sweep: float = 0.01, seed: int = 0, batch_size: int = 64,
                 num_workers: int = 0, data_dir: str | None = None, gen_workers: int | None = None,
                 progress: bool = True, eval_batch_size: int | None = None):
        super().__init__(batch_size=batch_size, num_workers=num_workers, data_dir=data_dir, gen_workers=gen_workers,
                         progress=progress, eval_batch_size=eval_batch_size)
        if not isinstance(L, (int, np.integer)) or L < 4 or L % 4:
            raise ValueError(f"L must be a positive multiple of 4 (RUGAN up/down-samples twice by 2); got {L}")
        if shard_size < 1 or per_level < 1 or per_level % shard_size:
            raise ValueError(f"per_level must be a positive multiple of shard_size >= 1; got {per_level}, {shard_size}")
        if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
            raise ValueError(f"val_fraction and test_fraction must be in [0, 1) and sum below 1; "
                             f"got {val_fraction}, {test_fraction}")
        if n_select_labels < 1:
            raise ValueError(f"n_select_labels must be >= 1; got {n_select_labels}")
        ising._energy_scale(energy_scale, L * L)  # validates energy_scale
        self.L, self.per_level, self.shard_size = int(L), int(per_level), int(shard_size)
        self.train_windows = check_windows(DEFAULT_WINDOWS if train_windows is None else train_windows)
        self.val_fraction, self.test_fraction, self.n_select_labels = val_fraction, test_fraction, n_select_labels
        self.energy_scale, self.kT_discovery, self.kT_sweep, self.seed = energy_scale, kT_discovery, kT_sweep, seed

    def recipe(self) -> dict:
        # the windows and the selection labels only split and score the data: one cache entry serves them all
        r = super().recipe()
        for k in ("train_windows", "n_select_labels"):
            r.pop(k, None)
        return r

    @property
    def n_shards(self) -> int:
        return self.per_level // self.shard_size

    def shard_fn(self):
        return functools.partial(_shard, key=recipe_hash(self.recipe()), L=self.L, shard_size=self.shard_size,
                                 energy_scale=self.energy_scale, kT_discovery=self.kT_discovery,
                                 kT_sweep=self.kT_sweep)

    def make_splits(self, arrays: dict) -> dict:
        spins = arrays["spins"]
        labels = em_labels(spins)
        inside = in_windows(labels, self.train_windows)
        h = ising.hash_split(spins, {"test": self.test_fraction, "val": self.val_fraction, "train": 1.0})
        side = np.empty(len(spins), dtype=np.int8)
        for code, k in enumerate(("test", "val", "train")):
            side[h[k]] = code
        idx = {"train": np.nonzero(inside & (side == 2))[0], "val": np.nonzero(inside & (side == 1))[0],
               "test": np.nonzero(~inside | (side == 0))[0]}
        if len(idx["train"]) == 0:
            raise ValueError(f"no configuration falls inside train_windows {self.train_windows}; "
                             f"targeted sampling at L={self.L} reaches {self.reach(labels)}")
        self.arrays = {"spins": spins, "labels": labels}
        x = lambda i: torch.as_tensor(spins[i], dtype=torch.float32)  # noqa: E731
        return {k: as_dataset(x(i), labels[i]) for k, i in idx.items() if len(i)}

    @staticmethod
    def reach(labels: np.ndarray) -> str:
        return f"E/L^2 in [{labels[:, 0].min():.3f}, {labels[:, 0].max():.3f}], m in [{labels[:, 1].min():.3f}, " \
               f"{labels[:, 1].max():.3f}]"

    # -- physics references for model selection (callbacks.physics_selection) ----------------------
    def selection_labels(self) -> list[tuple[float, float]]:
        """`n_select_labels` distinct training labels, evenly spaced through their sorted list."""
        if not self.splits:
            self.setup()
        lab = np.unique(self.splits["train"].tensors[1].numpy().astype(np.float64), axis=0)
        pick = np.unique(np.linspace(0, len(lab) - 1, min(self.n_select_labels, len(lab))).round().astype(int))
        return [(float(e), float(m)) for e, m in lab[pick]]

    def selection_reference(self) -> dict:
        """At each selection label the observables are |realized - requested| of E/L^2 and m; the
        reference is 0 with the lattice's label spacing (4/N for E/L^2, 2/N for m) as the error, so
        the callback's score is mean over labels of (mean |dE/L^2| / (4/N))^2 and (mean |dm| / (2/N))^2
        (ours: the paper selects by error-weighted deviation from the reference, arXiv:2002.07055 Supp. A.3, thesis
        L3158)."""
        labels = self.selection_labels()
        N = self.L * self.L
        n = len(labels)
        return {"L": self.L, "labels": [{"energy": e, "magnetization": m} for e, m in labels],
                "observables": {"abs_de": (np.zeros(n), np.full(n, 4.0 / N)),
                                "abs_dm": (np.zeros(n), np.full(n, 2.0 / N))}}

    @staticmethod
    def selection_observables(spins, energy: float, magnetization: float) -> dict:
        lab = em_labels(np.asarray(spins))
        return {"abs_de": np.abs(lab[:, 0] - energy), "abs_dm": np.abs(lab[:, 1] - magnetization)}
