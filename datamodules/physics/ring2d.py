"""Ring2D: the 2-D ring density of the normalizing-flow hands-on (Liu, Li & Wang, lecture note "Deep Learning and
Quantum Many-Body Computation", Marburg 2018, Sec. 5.3, Fig. 5; its energy is the NeuralRG code's Ring2D target,
Li & Wang, PRL 121, 260601 (2018), arXiv:1802.02840).

    E(x) = (|x| - 2)^2 / 0.32,    p(x) = exp(-E(x)) / Z,   x in R^2

i.e. a ring of radius mu = 2 with a Gaussian radial profile of width sigma = 0.4 (2 sigma^2 = 0.32).  In polar
coordinates the radius has density proportional to r exp(-(r - mu)^2 / (2 sigma^2)) on r > 0 and the angle is
uniform, so an exact sampler inverts the radial CDF (closed form in erf) and draws the angle uniformly.

Exact references: ln Z and the differential entropy H = ln Z + <E> by one-dimensional quadrature over r (scipy);
H = 3.0337 nats is the floor of any model's NLL (spec-wang-lecture.md Sec. 2.2).  numpy/scipy only.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import integrate, special

__all__ = ["MU", "SIGMA", "energy", "log_density", "log_partition", "entropy", "radial_cdf", "sample"]

MU, SIGMA = 2.0, 0.4  # E = (r - 2)^2 / 0.32 = (r - MU)^2 / (2 SIGMA^2)


def energy(x) -> np.ndarray:
    """E(x) = (|x| - 2)^2 / 0.32 for points x (..., 2)."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-1:] != (2,):
        raise ValueError(f"x must have shape (..., 2) (points of the plane); got {x.shape}")
    return (np.linalg.norm(x, axis=-1) - MU) ** 2 / (2 * SIGMA ** 2)


def _radial_mass(r) -> np.ndarray:
    """int_0^r u exp(-(u - mu)^2 / (2 sigma^2)) du in closed form."""
    r = np.asarray(r, dtype=np.float64)
    s2 = SIGMA ** 2
    gauss = s2 * (math.exp(-MU ** 2 / (2 * s2)) - np.exp(-(r - MU) ** 2 / (2 * s2)))
    erfs = MU * SIGMA * math.sqrt(math.pi / 2) * (special.erf((r - MU) / (SIGMA * math.sqrt(2)))
                                                  + math.erf(MU / (SIGMA * math.sqrt(2))))
    return gauss + erfs


def _radial_total() -> float:
    return float(_radial_mass(np.inf))


def log_partition() -> float:
    """ln Z = ln(2 pi int_0^inf r exp(-E(r)) dr), closed form."""
    return math.log(2 * math.pi * _radial_total())


def log_density(x) -> np.ndarray:
    """ln p(x) in nats, normalized."""
    return -energy(x) - log_partition()


def radial_cdf(r) -> np.ndarray:
    """P(|x| <= r)."""
    return np.where(np.asarray(r) <= 0, 0.0, _radial_mass(np.maximum(r, 0.0)) / _radial_total())


def entropy() -> float:
    """Differential entropy H = -int p ln p = ln Z + <E>, by quadrature over r (3.0337 nats)."""
    w = lambda r: r * math.exp(-(r - MU) ** 2 / (2 * SIGMA ** 2))  # noqa: E731
    z, _ = integrate.quad(w, 0, np.inf, epsabs=1e-13, epsrel=1e-13)
    e, _ = integrate.quad(lambda r: w(r) * (r - MU) ** 2 / (2 * SIGMA ** 2), 0, np.inf, epsabs=1e-13, epsrel=1e-13)
    return math.log(2 * math.pi * z) + e / z


def sample(n: int, rng: np.random.Generator) -> np.ndarray:
    """n exact samples (n, 2) float64: the radius by inverting the closed-form radial CDF (bisection to machine
    precision), the angle uniform."""
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer; got {n!r}")
    n = int(n)
    u = rng.random(n) * _radial_total()
    lo, hi = np.zeros(n), np.full(n, MU + 40 * SIGMA)
    for _ in range(64):  # the CDF is increasing; 64 halvings of [0, 18] reach float64 resolution
        mid = 0.5 * (lo + hi)
        below = _radial_mass(mid) < u
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    r = 0.5 * (lo + hi)
    theta = 2 * math.pi * rng.random(n)
    return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
