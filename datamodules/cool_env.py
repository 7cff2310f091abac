"""The game of simulated annealing as a gymnasium environment (COOL: Mills, Ronagh & Tamblyn, Nat. Mach. Intell. 2,
509 (2020), doi:10.1038/s42256-020-0226-x, arXiv:2003.00011; "The environment", "Observations", "Reward", eq. 1;
thesis L2703-2753).

An episode anneals N_reps replicas of one Hamiltonian for n_steps steps of n_sweeps Metropolis sweeps each.
- observation: the (N_reps, N) int8 spins after each step (the temperature and the Hamiltonian are never shown);
- action: one number a; the step's total change of inverse temperature is dbeta = action_scale * clip(a, -1, 1),
  applied as dbeta / n_sweeps before every sweep of the step (the paper: "the change in inverse temperature";
  the scaling by action_scale is the released code's device, ours to choose per config);
- guard: if beta + dbeta <= beta_min the temperature is left unchanged (paper: "no change is made to the
  temperature"; beta_min = 1e-6 is the released code's threshold);
- reward: 0 before the last step; at the last step -min_k H(replica k) (eq. 1), or that per spin (reward="per_spin",
  the released code's scale);
- success (info): some replica is in the ground state at the end (|E - E_gs| <= 1e-6 |E_gs| + 1e-9), paper "The
  environment" (thesis L2717).
- destructive=True: every observation consumes its replicas; each step starts fresh replicas from the initial
  distribution and replays every earlier step's schedule before the new one (paper "Destructive observation", thesis
  L2835-2845; cost grows as n_steps^2 / 2).

The Hamiltonian per episode: a fixed one (WSC), or a new toroidal spin glass per reset (`problem='spin_glass'`); an
evaluation passes its own with reset(options={"hamiltonian": H, "ground_energy": E, "beta_init": b}).
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .physics.annealing import (Hamiltonian, ferromagnet, metropolis_anneal, random_replicas, toroidal_spin_glass,
                                wsc, wsc_initial_state)
from .physics.ground_states import ground_state

__all__ = ["COOLEnv", "PROBLEMS", "make_hamiltonian", "is_ground"]

PROBLEMS = ("wsc", "spin_glass", "ferromagnet")
REWARDS = ("total", "per_spin")


def make_hamiltonian(problem: str, side: int = 4, seed: int = 0) -> Hamiltonian:
    if problem == "wsc":
        return wsc()
    if problem == "spin_glass":
        return toroidal_spin_glass(side, seed)
    if problem == "ferromagnet":
        return ferromagnet(side)
    raise ValueError(f"problem must be one of {PROBLEMS}; got {problem!r}")


def is_ground(energies, ground_energy: float) -> np.ndarray:
    """Which energies are the ground-state energy (relative tolerance 1e-6: float sums of the couplings)."""
    return np.abs(np.asarray(energies) - ground_energy) <= 1e-6 * abs(ground_energy) + 1e-9


class COOLEnv(gym.Env):
    """Simulated annealing driven one step (n_sweeps sweeps) per action.

    Args:
        problem: 'wsc' (always started in its local minimum), 'spin_glass' (a fresh side x side torus per reset) or
            'ferromagnet'.
        side: torus side for spin glasses and the ferromagnet.
        n_reps, n_steps, n_sweeps: N_reps, N_steps, N_sweeps (paper: 64, 40, 100; thesis L2705).
        beta_init: (low, high): each reset draws beta_0 ~ U(low, high) (the released WSC training range is
            (0.2, 1.6)); equal values fix it.
        action_scale: dbeta per step at |a| = 1.
        reward: 'total' (paper eq. 1) or 'per_spin'.
        destructive: destructive observation (see the module docstring).
        compute_ground_state: find the exact ground state of every new Hamiltonian for `success` (brute force up to
            20 spins, else the transfer matrix); off, success is reported only when reset passes ground_energy.
    """

    metadata = {"render_modes": []}
    beta_min = 1e-6

    def __init__(self, problem: str = "wsc", side: int = 4, n_reps: int = 64, n_steps: int = 40, n_sweeps: int = 100,
                 beta_init: tuple[float, float] = (0.2, 1.6), action_scale: float = 0.2, reward: str = "total",
                 destructive: bool = False, compute_ground_state: bool = True):
        if problem not in PROBLEMS:
            raise ValueError(f"problem must be one of {PROBLEMS}; got {problem!r}")
        if reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS}; got {reward!r}")
        for name, v in (("n_reps", n_reps), ("n_steps", n_steps), ("n_sweeps", n_sweeps)):
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be a positive integer; got {v}")
        lo, hi = (float(beta_init), float(beta_init)) if np.isscalar(beta_init) else map(float, beta_init)
        if not (0 < lo <= hi and np.isfinite(hi)):
            raise ValueError(f"beta_init must be (low, high) with 0 < low <= high; got {beta_init}")
        if not (action_scale > 0 and np.isfinite(action_scale)):
            raise ValueError(f"action_scale must be > 0; got {action_scale}")
        self.problem, self.side, self.reward_kind = problem, int(side), reward
        self.n_reps, self.n_steps, self.n_sweeps = int(n_reps), int(n_steps), int(n_sweeps)
        self.beta_range, self.action_scale = (lo, hi), float(action_scale)
        self.destructive, self.compute_ground_state = bool(destructive), bool(compute_ground_state)
        self.hamiltonian = make_hamiltonian(problem, side, 0)
        self._ground = {}
        n = self.hamiltonian.n
        self.observation_space = spaces.Box(-1, 1, (self.n_reps, n), np.int8)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)

    # -- helpers --------------------------------------------------------------------------------
    def _initial(self) -> np.ndarray:
        if self.hamiltonian.name == "wsc":
            return np.tile(wsc_initial_state(), (self.n_reps, 1))
        return random_replicas(self.n_reps, self.hamiltonian.n, self.np_random)

    def _seed(self) -> int:
        return int(self.np_random.integers(2**32))

    def ground_energy(self) -> float | None:
        return self._ground_energy

    # -- gymnasium API --------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        H = options.get("hamiltonian")
        gs = options.get("ground_energy")
        if H is None:
            if self.problem == "spin_glass":  # a new instance per episode (paper "Hamiltonians", thesis L2793)
                H = toroidal_spin_glass(self.side, int(self.np_random.integers(2**31)))
            else:
                H = self.hamiltonian
        if not isinstance(H, Hamiltonian):
            raise ValueError(f"options['hamiltonian'] must be a Hamiltonian; got {type(H).__name__}")
        if H.n != self.observation_space.shape[1]:
            raise ValueError(f"options['hamiltonian'] has {H.n} spins; this environment observes "
                             f"{self.observation_space.shape[1]}")
        self.hamiltonian = H
        if gs is None and self.compute_ground_state:
            key = (H.name, H.couplings.tobytes(), H.fields.tobytes())
            if key not in self._ground:
                self._ground = {key: ground_state(H)[0]}  # keep only the latest (fresh instances per episode)
            gs = self._ground[key]
        self._ground_energy = None if gs is None else float(gs)
        b = options.get("beta_init")
        lo, hi = self.beta_range
        self.beta = float(b) if b is not None else float(self.np_random.uniform(lo, hi))
        if not self.beta > 0:
            raise ValueError(f"options['beta_init'] must be > 0; got {b}")
        self.beta_init = self.beta
        self.t = 0
        self.schedule = []  # per-sweep betas so far (the destructive mode replays them)
        init = options.get("initial_state")
        self.spins = (np.tile(np.asarray(init, np.int8), (self.n_reps, 1)) if init is not None else self._initial())
        self._init_state = init
        return self.spins.copy(), {"beta": self.beta}

    def step(self, action):
        if self.t >= self.n_steps:
            raise RuntimeError("episode is over: call reset()")
        a = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -1.0, 1.0))
        dbeta = self.action_scale * a
        guarded = self.beta + dbeta <= self.beta_min
        if guarded:  # paper: "no change is made to the temperature"
            dbeta = 0.0
        betas = self.beta + dbeta * np.arange(1, self.n_sweeps + 1) / self.n_sweeps
        if self.destructive:
            self.spins = (np.tile(np.asarray(self._init_state, np.int8), (self.n_reps, 1))
                          if self._init_state is not None else self._initial())
            full = np.concatenate(self.schedule + [betas])
            acc = metropolis_anneal(self.hamiltonian, self.spins, full, self._seed())[:, -self.n_sweeps:]
        else:
            acc = metropolis_anneal(self.hamiltonian, self.spins, betas, self._seed())
        self.schedule.append(betas)
        self.beta = float(betas[-1])
        self.t += 1
        terminated = self.t == self.n_steps
        E = self.hamiltonian.energy(self.spins)
        info = {"beta": self.beta, "dbeta": dbeta, "guarded": guarded, "min_energy": float(E.min()),
                "acceptance": float(acc.mean() / self.hamiltonian.n)}
        reward = 0.0
        if terminated:
            reward = -float(E.min()) / (self.hamiltonian.n if self.reward_kind == "per_spin" else 1.0)
            info["final_energies"] = E
            if self._ground_energy is not None:
                info["success"] = bool(is_ground(E, self._ground_energy).any())
        return self.spins.copy(), reward, terminated, False, info
