"""Annealing with a trained COOL agent, the linear-schedule baseline, and the paper's success statistics (Mills,
Ronagh & Tamblyn, Nat. Mach. Intell. 2, 509 (2020), arXiv:2003.00011, "Evaluation", eqs. 2-3; thesis L2767-2785).

- `anneal(model, ...)`: the agent's deterministic policy on given couplings and fields;
- `linear_sa(...)`: classic SA, beta linear from beta_i to beta_f over the same n_steps x n_sweeps sweeps, the same
  N_reps replicas and the same success rule (paper "The environment", thesis L2717).  The schedule is applied
  directly, per sweep (the released baseline pushed it through the environment's action scaling and covered 1/10 of
  its range: spec "things easy to get wrong" 7);
- `best_linear_schedule`: the grid search over beta_f (paper Fig. 3b, 4d: "the best linear schedule");
- `n99`: episodes needed for 99 % confidence of one success, both formulas: the paper's printed
  log(0.01)/log(1-p) * (1-p) ("thesis") and the released plots' log(0.01)/log(1-p) ("code"); 0 at p = 1 (paper
  Fig. 4d caption), inf at p = 0;
- `wilson`: the Wilson 95 % score interval of a success fraction.
"""
from __future__ import annotations

import math

import numpy as np

from datamodules.cool_env import COOLEnv, is_ground
from datamodules.cool import play_episodes
from datamodules.physics.annealing import Hamiltonian, metropolis_anneal, random_replicas, wsc, wsc_initial_state
from datamodules.physics.ground_states import MAX_BRUTE_FORCE, brute_force, torus_transfer_matrix

__all__ = ["anneal", "linear_sa", "best_linear_schedule", "n99", "wilson", "exact_ground_energy", "as_hamiltonian"]


def as_hamiltonian(couplings, fields) -> Hamiltonian:
    """A Hamiltonian from user arrays (ValueError naming the argument on bad input); a square torus of nearest-
    neighbour bonds is recognized, so its ground state can come from the transfer matrix."""
    J = np.asarray(couplings, dtype=np.float64)
    n = J.shape[0] if J.ndim == 2 else -1
    side = int(round(math.sqrt(max(n, 0))))
    H = Hamiltonian(J, fields)
    if side >= 3 and side * side == n:
        site = np.arange(n).reshape(side, side)
        right, down = J[site, np.roll(site, -1, 1)], J[site, np.roll(site, -1, 0)]
        from datamodules.physics.annealing import torus_couplings

        if np.array_equal(torus_couplings(right, down), J):
            H = Hamiltonian(J, H.fields, name=H.name, lattice=(side, side))
    return H


def exact_ground_energy(H: Hamiltonian) -> float:
    if H.n <= MAX_BRUTE_FORCE:
        return brute_force(H)[0]
    if H.lattice is not None:
        return torus_transfer_matrix(H)[0]
    raise ValueError("ground_energy is needed: couplings with more than 20 spins that are not a square "
                     "nearest-neighbour torus have no exact solver here")


def _initial_for(model_problem: str, H: Hamiltonian, initial_state):
    if initial_state is not None:
        s = np.asarray(initial_state)
        if s.shape != (H.n,) or not np.all(np.abs(s) == 1):
            raise ValueError(f"initial_state must be a vector of {H.n} entries +-1; got shape {s.shape}")
        return s.astype(np.int8)
    ref = wsc()
    if model_problem == "wsc" and H.n == 16 and np.array_equal(H.couplings, ref.couplings) and \
            np.array_equal(H.fields, ref.fields):
        return wsc_initial_state()
    return None


def anneal(model, couplings, fields, beta_init: float, episodes: int = 100, seed: int = 0,
           ground_energy: float | None = None, initial_state=None, deterministic: bool = True,
           chunk: int = 25) -> dict:
    """See `COOLAgent.anneal`."""
    H = as_hamiltonian(couplings, fields)
    if H.n != model.n_spins:
        raise ValueError(f"couplings must be {model.n_spins} x {model.n_spins} for this agent; got {H.n} spins")
    if int(episodes) != episodes or episodes < 1:
        raise ValueError(f"episodes must be a positive integer; got {episodes}")
    if not (np.isfinite(beta_init) and beta_init > 0):
        raise ValueError(f"beta_init must be > 0; got {beta_init}")
    gs = exact_ground_energy(H) if ground_energy is None else float(ground_energy)
    init = _initial_for(model.hparams.problem, H, initial_state)
    args = {k: v for k, v in model.data_args.items() if k not in ("beta_init_low", "beta_init_high")}
    args["beta_init"] = (float(beta_init), float(beta_init))
    was = model.training
    model.eval()
    parts = []
    for c, start in enumerate(range(0, episodes, chunk)):
        k = min(chunk, episodes - start)
        envs = [COOLEnv(**args, compute_ground_state=False) for _ in range(k)]
        opts = [{"hamiltonian": H, "ground_energy": gs, "initial_state": init}] * k
        parts.append(play_episodes(model, envs, seed=seed * 7919 + c, deterministic=deterministic, options=opts))
    model.train(was)
    out = {key: np.concatenate([p[key].numpy() for p in parts]) for key in
           ("betas", "final_energies", "acceptance", "actions")}
    out["success"] = is_ground(out["final_energies"], gs).any(1)
    out["ground_energy"] = gs
    return out


def linear_sa(couplings, fields, beta_i: float, beta_f: float, episodes: int = 100, n_reps: int = 64,
              n_steps: int = 40, n_sweeps: int = 100, seed: int = 0, ground_energy: float | None = None,
              initial_state=None) -> dict:
    """Classic SA: beta rises linearly from beta_i to beta_f over n_steps * n_sweeps sweeps (one value per sweep), N_reps
    replicas per episode, success if any replica ends in the ground state.  initial_state None: random replicas
    (paper); the WSC model is started in its local minimum, as the agent is."""
    H = as_hamiltonian(couplings, fields)
    if not (beta_i > 0 and beta_f > 0 and np.isfinite(beta_i) and np.isfinite(beta_f)):
        raise ValueError(f"beta_i and beta_f must be > 0; got {beta_i}, {beta_f}")
    gs = exact_ground_energy(H) if ground_energy is None else float(ground_energy)
    init = _initial_for("wsc", H, initial_state)
    S = n_steps * n_sweeps
    schedule = beta_i + (beta_f - beta_i) * np.arange(1, S + 1) / S
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 17]))
    final = np.zeros((episodes, n_reps))
    acceptance = np.zeros((episodes, n_steps))
    for e in range(episodes):
        spins = np.tile(init, (n_reps, 1)) if init is not None else random_replicas(n_reps, H.n, rng)
        acc = metropolis_anneal(H, spins, schedule, int(rng.integers(2**32)))
        acceptance[e] = acc.reshape(n_reps, n_steps, n_sweeps).mean((0, 2)) / H.n
        final[e] = H.energy(spins)
    betas = np.concatenate([[beta_i], schedule[n_sweeps - 1::n_sweeps]])
    return {"betas": np.tile(betas, (episodes, 1)), "final_energies": final, "acceptance": acceptance,
            "success": is_ground(final, gs).any(1), "ground_energy": gs}


def best_linear_schedule(couplings, fields, beta_i: float, beta_fs, episodes: int = 100, seed: int = 0,
                         **kwargs) -> dict:
    """Grid search over the final inverse temperature: success fraction of linear_sa(beta_i, beta_f) for each
    beta_f in `beta_fs`; returns the table and the best beta_f (ties: the first)."""
    H = as_hamiltonian(couplings, fields)
    gs = kwargs.pop("ground_energy", None)
    gs = exact_ground_energy(H) if gs is None else gs
    rates = [float(linear_sa(H.couplings, H.fields, beta_i, bf, episodes, seed=seed, ground_energy=gs,
                             **kwargs)["success"].mean()) for bf in beta_fs]
    k = int(np.argmax(rates))
    return {"beta_f": list(map(float, beta_fs)), "success": rates, "best_beta_f": float(beta_fs[k]),
            "best_success": rates[k]}


def n99(p, formula: str = "thesis"):
    """Episodes to 99 % confidence of one success at per-episode success p: 'thesis' log(0.01)/log(1-p) (1-p)
    (paper's printed formula, "Evaluation"), 'code' log(0.01)/log(1-p); 0 at p = 1, inf at p = 0."""
    if formula not in ("thesis", "code"):
        raise ValueError(f"formula must be 'thesis' or 'code'; got {formula!r}")
    p = np.asarray(p, dtype=np.float64)
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"p must lie in [0, 1]; got {p}")
    with np.errstate(divide="ignore", invalid="ignore"):
        n = np.log(0.01) / np.log1p(-p)
        if formula == "thesis":
            n = n * (1 - p)
    n = np.where(p >= 1, 0.0, np.where(p <= 0, np.inf, n))
    return float(n) if n.ndim == 0 else n


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval (95 % by default) for k successes in n trials."""
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, n >= 1; got k={k}, n={n}")
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    # at k = 0 or k = n one end is exactly 0 or 1 (float rounding would leave 1 - 1e-16)
    return (0.0 if k == 0 else max(0.0, c - h)), (1.0 if k == n else min(1.0, c + h))
