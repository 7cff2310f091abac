"""The double Dirac-GAN of Durr, Tu, Mroueh & Wang, "A Phase Transition in Model GAN Dynamics" (in preparation, no
arXiv id; Ch. 2 of S. Durr, PhD thesis, UCLA 2022): Sec. 2.2.1.1 (thesis L848-948) and its NTK version (Sec. 2.2.3,
thesis L1068-1134).

Generator  p = [delta(x - theta1) + delta(x - theta2)] / 2        (eq. 2.14)
Data       p = [delta(x - 1) + delta(x + 1)] / 2                  (eq. 2.15)
Critic     D(x) = b x + c x^2, ||D||^2 = b^2 + c^2                 (eq. 2.16, footnote 5; thesis L884)
Flow (generator rate 1, critic rate eta, eqs. 2.19-2.26 and 2.39-2.40):

    theta1' = 1/2 [(1 - alpha) D'(theta1) + alpha D'(theta2)],   D'(x) = b + 2 c x
    theta2' = 1/2 [(1 - alpha) D'(theta2) + alpha D'(theta1)]
    b'      = eta (-(theta1 + theta2)/2 - lam b)
    c'      = eta (1 - (theta1^2 + theta2^2)/2 - lam c)

alpha = 0 is the plain model; alpha = 1/2 makes both velocities equal, so the points never split.
Mode-collapse metric (Sec. 2.2.1.2, footnote 7; thesis L926-930): log(tau_split / tau_osc), natural log, where tau_split is
the centre of a fit of 1 + tanh(k (t - tau_split)) to |theta1 - theta2|(t) and tau_osc = 1 / (the
dominant FFT frequency of (theta1 + theta2)/2).  Both depend on the horizon T and the sampling
(ours): `collapse_metric` returns them all.

State vectors are ordered (theta1, theta2, b, c).  Pure numpy/scipy: no torch, nothing of ours.
"""
from __future__ import annotations

import numpy as np

__all__ = ["rhs", "simulate", "simulate_batch", "linearization", "linearized_eigs", "linearized_eigs_closed_form", "linear_frequency",
           "tau_split", "tau_osc", "collapse_metric", "default_horizon", "sweep"]

THETA0 = (1.0, 0.99)  # Sec. 2.2.1.2 (thesis L922): theta1 = 1, theta2 = 0.99, b = c = 0


def _check(eta, alpha, lam):
    eta, alpha, lam = np.asarray(eta, float), np.asarray(alpha, float), np.asarray(lam, float)
    if np.any(~np.isfinite(eta)) or np.any(eta <= 0):
        raise ValueError(f"eta (relative discriminator rate) must be finite and > 0; got {eta}")
    if np.any(~np.isfinite(alpha)) or np.any((alpha < 0) | (alpha > 1)):
        raise ValueError(f"alpha (NTK mixing) must be in [0, 1]; got {alpha}")
    if np.any(~np.isfinite(lam)) or np.any(lam < 0):
        raise ValueError(f"lam (regularizer) must be finite and >= 0; got {lam}")
    return eta, alpha, lam


def rhs(state: np.ndarray, eta, alpha=0.0, lam=1.0) -> np.ndarray:
    """Time derivative of state (..., 4) = (theta1, theta2, b, c); eta/alpha/lam broadcast over '...'."""
    t1, t2, b, c = np.moveaxis(np.asarray(state, float), -1, 0)
    d1, d2 = b + 2 * c * t1, b + 2 * c * t2
    return np.stack([0.5 * ((1 - alpha) * d1 + alpha * d2),
                     0.5 * ((1 - alpha) * d2 + alpha * d1),
                     eta * (-(t1 + t2) / 2 - lam * b),
                     eta * (1 - (t1 ** 2 + t2 ** 2) / 2 - lam * c)], axis=-1)


def default_horizon(eta: float, alpha: float = 0.0) -> float:
    """A horizon that covers the split: the split time grows like 1/sqrt(eta) and 1/(1 - 2 alpha) (ours)."""
    return float(max(3000.0, 200.0 / np.sqrt(eta) / max(1 - 2 * alpha, 0.05)))


def simulate(eta: float, alpha: float = 0.0, lam: float = 1.0, T: float | None = None, n_t: int = 20001,
             theta0=THETA0, b0: float = 0.0, c0: float = 0.0, rtol: float = 1e-9, atol: float = 1e-11) -> dict:
    """Integrate one run with scipy's RK45 (rtol 1e-9, ours: the thesis names no integrator) on a uniform grid of n_t times in [0, T]."""
    from scipy.integrate import solve_ivp

    _check(eta, alpha, lam)
    T = default_horizon(eta, alpha) if T is None else float(T)
    if not T > 0 or n_t < 16:
        raise ValueError(f"T must be > 0 and n_t >= 16; got T={T}, n_t={n_t}")
    t = np.linspace(0.0, T, n_t)
    y0 = np.array([theta0[0], theta0[1], b0, c0], float)
    sol = solve_ivp(lambda _t, y: rhs(y, eta, alpha, lam), (0.0, T), y0, t_eval=t, rtol=rtol, atol=atol,
                    method="RK45")
    if not sol.success:
        raise RuntimeError(f"ODE integration failed: {sol.message}")
    y = sol.y.T
    return {"t": t, "theta1": y[:, 0], "theta2": y[:, 1], "b": y[:, 2], "c": y[:, 3],
            "eta": eta, "alpha": alpha, "lam": lam}


def simulate_batch(eta, alpha, lam=1.0, T=3000.0, n_steps: int = 30000, record_every: int = 10,
                   theta0=THETA0) -> dict:
    """Many runs at once with fixed-step RK4; eta, alpha, lam and T broadcast to one batch shape.

    Each run takes n_steps steps of its own size T/n_steps, so runs with different horizons share
    one loop.  Returns t (n_rec, *batch) and theta1, theta2 (n_rec, *batch).  Agrees with
    `simulate` (tested).
    """
    eta, alpha, lam = _check(eta, alpha, lam)
    eta, alpha, lam, T = np.broadcast_arrays(eta, alpha, lam, np.asarray(T, float))
    dt = T / n_steps
    y = np.zeros(eta.shape + (4,))
    y[..., 0], y[..., 1] = theta0
    f = lambda s: rhs(s, eta, alpha, lam)  # noqa: E731
    h = dt[..., None]
    rec_k, rec1, rec2 = [0], [y[..., 0].copy()], [y[..., 1].copy()]
    for k in range(1, n_steps + 1):
        k1 = f(y)
        k2 = f(y + 0.5 * h * k1)
        k3 = f(y + 0.5 * h * k2)
        k4 = f(y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if k % record_every == 0:
            rec_k.append(k)
            rec1.append(y[..., 0].copy())
            rec2.append(y[..., 1].copy())
    t = np.asarray(rec_k, float).reshape((-1,) + (1,) * dt.ndim) * dt
    return {"t": t, "theta1": np.array(rec1), "theta2": np.array(rec2)}


def linearization(eta: float, lam: float = 1.0) -> np.ndarray:
    """Jacobian at the fixed point (theta1, theta2, b, c) = (1, -1, 0, 0) in the thesis order (b, c, x1, x2),
    x1 = theta1 - 1, x2 = theta2 + 1 (Sec. 2.2.1.2, thesis L906-914; the thesis's 'x1 = theta1 + 1' belongs to the
    mirror point (-1, 1): a typo we do not copy)."""
    _check(eta, 0.0, lam)
    return np.array([[-eta * lam, 0, -eta / 2, -eta / 2],
                     [0, -eta * lam, -eta, eta],
                     [0.5, 1, 0, 0],
                     [0.5, -1, 0, 0]], float)


def numerical_jacobian(state, eta: float, alpha: float = 0.0, lam: float = 1.0, h: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian of `rhs` at `state` (order theta1, theta2, b, c)."""
    state = np.asarray(state, float)
    J = np.zeros((4, 4))
    for j in range(4):
        e = np.zeros(4)
        e[j] = h
        J[:, j] = (rhs(state + e, eta, alpha, lam) - rhs(state - e, eta, alpha, lam)) / (2 * h)
    return J


def linearized_eigs(eta: float, lam: float = 1.0) -> np.ndarray:
    """Eigenvalues of the printed linearization, sorted by (real, imag)."""
    return _sorted(np.linalg.eigvals(linearization(eta, lam)))


def linearized_eigs_closed_form(eta: float, lam: float = 1.0) -> np.ndarray:
    """-eta lam/2 +- sqrt((eta lam/2)^2 - 2 eta) and -eta lam/2 +- sqrt((eta lam/2)^2 - eta/2) (Sec. 2.2.1.2, thesis L914)."""
    h = eta * lam / 2
    r1, r2 = np.sqrt(complex(h * h - 2 * eta)), np.sqrt(complex(h * h - eta / 2))
    return _sorted(np.array([-h + r1, -h - r1, -h + r2, -h - r2]))


def _sorted(ev: np.ndarray) -> np.ndarray:
    return ev[np.lexsort((np.round(ev.imag, 9), np.round(ev.real, 9)))]


def _crossing(t: np.ndarray, y: np.ndarray, level: float) -> float:
    above = np.nonzero(y >= level)[0]
    if not len(above):
        return np.nan
    i = above[0]
    if i == 0:
        return float(t[0])
    return float(t[i - 1] + (level - y[i - 1]) * (t[i] - t[i - 1]) / (y[i] - y[i - 1]))


def tau_split(t: np.ndarray, gap: np.ndarray, fit: bool = True) -> float:
    """Centre of 1 + tanh(k (t - tau)) fitted to gap = |theta1 - theta2| (Sec. 2.2.1.2, footnote 7; thesis L928).

    The initial guess is the first time the gap reaches 1 (ours); NaN if it never does within
    the window (censored: the split is later than T).  fit=False returns that crossing time.
    """
    t, gap = np.asarray(t, float), np.abs(np.asarray(gap, float))
    guess = _crossing(t, gap, 1.0)
    if not fit or not np.isfinite(guess):
        return guess
    from scipy.optimize import curve_fit

    # initial slope from the 0.5 -> 1.5 rise of the gap
    lo, hi = _crossing(t, gap, 0.5), _crossing(t, gap, 1.5)
    k0 = 1.1 / max(hi - lo, 1e-6) if np.isfinite(lo) and np.isfinite(hi) else 10.0 / max(t[-1], 1.0)
    try:
        (tau, _k), _ = curve_fit(lambda s, tau, k: 1 + np.tanh(k * (s - tau)), t, gap, p0=(guess, k0), maxfev=5000)
    except RuntimeError:
        return guess
    return float(tau) if t[0] <= tau <= t[-1] else guess


def linear_frequency(eta: float, lam: float = 1.0) -> float:
    """Frequency (cycles per unit time) of the linearized b-mode of the mean, mu^2 + eta lam mu + eta/2 = 0;
    NaN when that mode is overdamped."""
    w2 = eta / 2 - (eta * lam / 2) ** 2
    return float(np.sqrt(w2) / (2 * np.pi)) if w2 > 0 else np.nan


def tau_osc(t: np.ndarray, mean_theta: np.ndarray, f_min: float = 0.0) -> float:
    """1 / dominant frequency (cycles per unit time) of the mean position, from an FFT of the window.

    Frequencies below f_min are ignored (`collapse_metric` uses half of the linear b-mode
    frequency, ours): at large eta the mean's oscillation dies within a period and the quasi-static
    drift of the lowest bins would otherwise win, giving tau_osc = T.
    """
    t, x = np.asarray(t, float), np.asarray(mean_theta, float)
    if not np.isfinite(f_min):
        return np.nan
    dt = t[1] - t[0]
    spec = np.abs(np.fft.rfft(x - x.mean()))
    freq = np.fft.rfftfreq(len(x), dt)
    ok = np.nonzero(freq >= max(f_min, freq[1]))[0]
    k = ok[int(np.argmax(spec[ok]))]
    return float(1.0 / freq[k])


def collapse_metric(run: dict, fit: bool = True) -> dict:
    """{'tau_split', 'tau_osc', 'log_ratio', 'T', 'dt'} for one run of `simulate` (or a column of a batch)."""
    t = run["t"]
    ts = tau_split(t, np.abs(run["theta1"] - run["theta2"]), fit=fit)
    f_min = 0.5 * linear_frequency(run["eta"], run.get("lam", 1.0)) if "eta" in run else 0.0
    to = tau_osc(t, (run["theta1"] + run["theta2"]) / 2, f_min=f_min)
    return {"tau_split": ts, "tau_osc": to,
            "log_ratio": float(np.log(ts / to)) if np.isfinite(ts) and np.isfinite(to) else np.nan,
            "T": float(t[-1]), "dt": float(t[1] - t[0])}


def sweep(etas, alphas, lam: float = 1.0, T: float | None = None, n_steps: int | None = None,
          record_every: int = 5, fit: bool = True) -> dict:
    """log(tau_split/tau_osc) on the grid etas x alphas (Fig. 2.8): every run in one vectorized RK4 batch.

    T per run defaults to `default_horizon(eta, alpha)` (ours: it grows with 1/sqrt(eta) and
    1/(1 - 2 alpha) so the split is inside the window); runs that never split within T are NaN.
    The step count is chosen so that every run's step is <= 0.25 and <= 0.15/sqrt(2 eta).
    """
    etas, alphas = np.asarray(etas, float), np.asarray(alphas, float)
    E, A = np.meshgrid(etas, alphas, indexing="ij")
    TT = np.vectorize(default_horizon)(E, A) if T is None else np.full(E.shape, float(T))
    if n_steps is None:
        dt_max = np.minimum(0.25, 0.15 / np.sqrt(2 * E))
        n_steps = int(np.ceil(np.max(TT / dt_max)))
        n_steps += (-n_steps) % record_every
    run = simulate_batch(E, A, lam, T=TT, n_steps=n_steps, record_every=record_every)
    out = {k: np.full(E.shape, np.nan) for k in ("tau_split", "tau_osc", "log_ratio")}
    for i, j in np.ndindex(E.shape):
        m = collapse_metric({"t": run["t"][:, i, j], "theta1": run["theta1"][:, i, j],
                             "theta2": run["theta2"][:, i, j], "eta": E[i, j], "lam": lam}, fit=fit)
        for k in out:
            out[k][i, j] = m[k]
    return {"etas": etas, "alphas": alphas, "lam": lam, "T": TT, "n_steps": n_steps, **out}
