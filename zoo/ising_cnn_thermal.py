"""Fine-tuning an energy network on its own thermally sampled configurations (Mills & Tamblyn, PRE 97, 032119
(2018), arXiv:1706.09779, Sec. IV "Long-range interactions", Fig. 10; thesis L1145-1149).

The paper ran Metropolis with the network as the energy operator, "then tuned our neural network to this
'thermally sampled' data and repeated the simulation".  A network trained on uniformly random spins has never
seen the low-energy tail a cold chain lives in (the 8x8 screened Coulomb checkerboard lies 4 standard deviations
below the random set's mean, and the published network puts it 10.8 J too high), so its chains fall into false
minima below T ~ 1.  Each round here runs the network's own chains, labels what they visit with the exact energy
and fine-tunes on it: the false minima the network visits are the configurations it gets corrected on.  The
number of rounds, chains, epochs and the 1:1 mix with fresh random configurations (which keeps the random-set
accuracy) are ours; the paper states none of them.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from datamodules.physics import ising, nn_mc

__all__ = ["fine_tune_on_thermal_samples"]


def _positive_int(v, name: str, minimum: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {v!r}")
    return int(v)


def _tensors(model, x: np.ndarray, exact_energy) -> tuple[torch.Tensor, torch.Tensor]:
    """Spins and exact energies in the model's units, on its device."""
    X = torch.as_tensor(x, dtype=model.dtype, device=model.device)
    y = np.asarray(exact_energy(x), dtype=np.float64) / model.target_scale
    return X, torch.as_tensor(y, dtype=model.dtype, device=model.device)


def fine_tune_on_thermal_samples(model, exact_energy: Callable[[np.ndarray], np.ndarray], temps, rounds: int = 4,
                                 epochs: int = 5, lr: float = 1e-4, n_chains: int = 8, n_equil: int = 50,
                                 n_samples: int = 50, keep_every: int = 5, batch_size: int = 256,
                                 start="checkerboard", flip_weight: float = 0.0, fields=(0.0,), seed: int = 0,
                                 progress: bool = True) -> list[dict]:
    """Rounds of (Metropolis with `model` as the energy operator at `temps` -> the visited configurations labelled
    by `exact_energy` -> `epochs` of Adam on all thermal configurations so far, each epoch mixed 1:1 with fresh
    uniformly random ones).  Trains `model` in place (left in eval mode) and returns one record per round: the
    pool size and the round's chain averages (e, m, ms with errors) as `nn_mc.metropolis_with_operator` gives them.

    Args:
        model: an energy regressor (`IsingCNNRegressor` with label 'energy' on +-1 spins).
        exact_energy: (B, L, L) +-1 spins -> (B,) exact total energies in J (e.g. `long_range.energy`).
        temps: temperatures of the sampling chains (J / k_B), positive.
        rounds, epochs, lr, batch_size: the fine-tuning schedule (ours; unstated in the paper).
        n_chains, n_equil, n_samples, keep_every, start: the sampling chains per round (see
            `nn_mc.metropolis_with_operator`); every `keep_every`-th recorded sweep joins the pool.
        flip_weight: > 0 adds `flip_weight` x the squared error of the energy change of one random single-spin flip
            per configuration (Metropolis accepts by energy differences, so the sampler needs those right more than
            the absolute energy; ours, not the paper's).
        fields: uniform fields h (J per spin) of the sampling chains, cycled over the `n_chains` chains of each
            temperature: chain c samples exp(-(E_model - h_c M_tot) / T), and its configurations are labelled with the
            zero-field exact energy.  A field pulls chains into magnetized low-energy states, which zero-field chains of
            an antiferromagnet rarely visit but which set <|M|> (ours, not the paper's; the default (0,) is its
            zero-field protocol).  A round's recorded chain energies "e" then include the -h M_tot term.
    """
    if getattr(model, "task", None) != "energy" or getattr(model, "hamiltonian", "ising") == "potts":
        raise ValueError("model must be an energy regressor on +-1 spins (IsingCNNRegressor, label 'energy', "
                         f"not 'potts'); got {type(model).__name__}")
    if not callable(exact_energy):
        raise ValueError(f"exact_energy must be callable (spins -> energies in J); got {type(exact_energy).__name__}")
    temps = np.atleast_1d(np.asarray(temps, dtype=np.float64))
    if temps.ndim != 1 or not np.all(np.isfinite(temps) & (temps > 0)):
        raise ValueError(f"temps must be a 1-D list of positive finite temperatures; got {temps!r}")
    rounds, epochs = _positive_int(rounds, "rounds"), _positive_int(epochs, "epochs")
    batch_size, keep_every = _positive_int(batch_size, "batch_size"), _positive_int(keep_every, "keep_every")
    if not (isinstance(lr, (int, float)) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive finite number; got {lr!r}")
    if not (isinstance(flip_weight, (int, float)) and np.isfinite(flip_weight) and flip_weight >= 0):
        raise ValueError(f"flip_weight must be a finite number >= 0; got {flip_weight!r}")
    try:
        fields = np.atleast_1d(np.asarray(fields, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"fields must be a non-empty 1-D list of finite fields; got {fields!r}") from None
    if fields.ndim != 1 or len(fields) == 0 or not np.all(np.isfinite(fields)):
        raise ValueError(f"fields must be a non-empty 1-D list of finite fields; got {fields!r}")
    n_chains = _positive_int(n_chains, "n_chains")
    L = model.L
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    # chains are ordered (temperature, chain): the field of chain c of every temperature is fields[c % len(fields)]
    h = np.tile(fields[np.arange(n_chains) % len(fields)], len(temps))

    def energy_fn(s: np.ndarray) -> np.ndarray:
        e = model.predict_energy(s).cpu().numpy().astype(np.float64)
        return e - h * s.reshape(len(s), -1).sum(1) if fields.any() else e
    pool, history = [], []
    for r in range(rounds):
        model.eval()
        run = nn_mc.metropolis_with_operator(energy_fn, L, temps, n_chains=n_chains, n_equil=n_equil,
                                             n_samples=n_samples, seed=int(rng.integers(2 ** 62)), start=start,
                                             keep_every=keep_every, progress=progress)
        pool.append(run.pop("configs"))
        run.pop("configs_T")
        thermal = np.concatenate(pool)
        model.train()
        for _ in range(epochs):
            x = np.concatenate([thermal, ising.random_configs(len(thermal), L, seed=int(rng.integers(2 ** 62)))])
            X, Y = _tensors(model, x, exact_energy)
            if flip_weight:
                xf = x.copy()
                site = rng.integers(0, L * L, size=len(x))
                xf[np.arange(len(x)), site // L, site % L] *= -1
                Xf, Yf = _tensors(model, xf, exact_energy)
            for b in np.array_split(rng.permutation(len(x)), max(1, len(x) // batch_size)):
                opt.zero_grad()
                out = model(X[b])
                loss = torch.nn.functional.mse_loss(out, Y[b])
                if flip_weight:
                    loss = loss + flip_weight * torch.nn.functional.mse_loss(model(Xf[b]) - out, Yf[b] - Y[b])
                loss.backward()
                opt.step()
        model.eval()
        history.append({"round": r + 1, "n_thermal": int(len(thermal)),
                        **{k: np.asarray(v).tolist() for k, v in run.items()}})
    return history
