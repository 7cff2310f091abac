"""COOL speed (Mills, Ronagh & Tamblyn 2020, arXiv:2003.00011): the replica annealing kernel, the policy's share of an
episode step, and training episodes per hour.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/perf_cool.py

1. Replica updates per second: datamodules.physics.annealing.metropolis_anneal (neighbour lists) vs a straightforward
   numba random-site loop over the dense coupling matrix (the field of a site as a full row sum), same replicas,
   schedule and proposal count, interleaved (ours, baseline, ours, ...), REPEATS repeats, medians and the median of
   the per-repeat ratios.  Cases: WSC (16 spins) and 10x10 and 16x16 spin glasses, 64 replicas.
2. Policy inference per step as a fraction of one environment step at 10x10 (paper "Evaluation": inference about 1/3
   of a step at 10^2 with 100 sweeps, thesis L2863), at 100 sweeps per step and at our 10.
3. Training episodes per hour on WSC with configs/cool/wsc.yaml's settings: rollout (8 episodes) + PPO update
   (4 passes), timed separately, one thread.
Threads: 1 (torch and numba).  The machine's load average is recorded at start and end.
Results: benchmarks/results/perf_cool.json.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np
import torch
from numba import njit

from datamodules.cool import play_episodes
from datamodules.cool_env import COOLEnv
from datamodules.physics.annealing import metropolis_anneal, random_replicas, toroidal_spin_glass, wsc
from zoo.cool import COOLAgent, gae, ppo_loss

REPEATS = 7


@njit(cache=True)
def dense_random_site(spins, J, h, betas, seed):
    """Baseline: the textbook loop, local field from the full dense row."""
    np.random.seed(seed)
    R, N = spins.shape
    for r in range(R):
        for s in range(betas.shape[0]):
            for _ in range(N):
                i = np.random.randint(N)
                f = h[i]
                for j in range(N):
                    f += J[i, j] * spins[r, j]
                dE = 2.0 * spins[r, i] * f
                if dE <= 0.0 or np.random.random() < np.exp(-betas[s] * dE):
                    spins[r, i] = -spins[r, i]


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def kernel_cases() -> dict:
    out = {}
    for name, H, sweeps in (("wsc 16 spins", wsc(), 400), ("sg 10x10", toroidal_spin_glass(10, 0), 100),
                            ("sg 16x16", toroidal_spin_glass(16, 0), 40)):
        rng = np.random.default_rng(0)
        s0 = random_replicas(64, H.n, rng)
        betas = np.linspace(0.3, 3.0, sweeps)
        ours, base = [], []
        for k in range(REPEATS):
            a = s0.copy()
            ours.append(timed(lambda: metropolis_anneal(H, a, betas, k)))
            b = s0.copy()
            base.append(timed(lambda: dense_random_site(b, H.couplings, H.fields, betas, k)))
        upd = 64 * H.n * sweeps
        ratios = [b / a for a, b in zip(ours, base)]
        out[name] = {"updates_per_call": upd, "ours_median_Mupd_per_s": upd / statistics.median(ours) / 1e6,
                     "baseline_median_Mupd_per_s": upd / statistics.median(base) / 1e6,
                     "ratio_median": statistics.median(ratios)}
    return out


def inference_fraction() -> dict:
    out = {}
    m = COOLAgent(problem="spin_glass", side=10, n_reps=64, n_steps=40, n_sweeps=100).eval()
    for sweeps in (100, 10):
        env = COOLEnv("spin_glass", side=10, n_sweeps=sweeps, n_steps=40, compute_ground_state=False)
        obs, _ = env.reset(seed=0)
        state, t_pol, t_env = None, [], []
        for k in range(REPEATS * 3):
            o = torch.from_numpy(obs)[None, None]
            t0 = time.perf_counter()
            a, _, _, state = m.act(o, state, torch.zeros(1, 1), True)
            t_pol.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            obs, *_ = env.step(np.clip(a.numpy(), -1, 1).astype(np.float32))
            t_env.append(time.perf_counter() - t0)
            if env.t == env.n_steps:
                obs, _ = env.reset()
        p, e = statistics.median(t_pol), statistics.median(t_env)
        out[f"10x10, {sweeps} sweeps per step"] = {"policy_ms": p * 1e3, "env_step_ms": e * 1e3,
                                                   "policy_over_env_step": p / e}
    return out


def episodes_per_hour() -> dict:
    kw = dict(problem="wsc", n_reps=64, n_steps=40, n_sweeps=10, action_scale=0.2, reward="per_spin")
    m = COOLAgent(**kw)
    opt = torch.optim.Adam(m.parameters(), lr=3e-4)
    envs = [COOLEnv(beta_init=(0.2, 2.0), **kw) for _ in range(8)]
    t_roll, t_upd = [], []
    for k in range(REPEATS):
        t0 = time.perf_counter()
        b = play_episodes(m, envs, seed=k)
        t_roll.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        adv, ret = gae(b["rewards"], b["values"], 0.99, 0.95)
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        for _ in range(4):
            mu, ls, v, _ = m(b["obs"])
            loss = ppo_loss(mu, ls, v, b["actions"], b["logp"], adv, ret, 0.05, 0.5, 0.001)["loss"]
            opt.zero_grad()
            loss.backward()
            opt.step()
        t_upd.append(time.perf_counter() - t0)
    r, u = statistics.median(t_roll), statistics.median(t_upd)
    return {"rollout_8_episodes_s": r, "ppo_update_s": u, "episodes_per_hour": 8 * 3600 / (r + u),
            "settings": "WSC, 64 replicas, 40 steps x 10 sweeps, 8 episodes per update, 4 PPO passes"}


def main() -> dict:
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    load0 = list(os.getloadavg())
    H = wsc()  # warm up the JIT / cache
    s = random_replicas(2, 16, np.random.default_rng(0))
    metropolis_anneal(H, s, [1.0], 0)
    dense_random_site(s, H.couplings, H.fields, np.ones(1), 0)
    t0 = time.perf_counter()
    results = {"benchmark": "COOL: replica annealing kernel vs dense random-site numba loop; policy inference share "
                            "of an episode step; training episodes per hour",
               "machine": {"platform": platform.platform(), "python": sys.version.split()[0],
                           "cpu_count": os.cpu_count(), "torch": torch.__version__, "numba": numba.__version__,
                           "loadavg_at_start": load0},
               "kernel": kernel_cases(), "inference": inference_fraction(), "training": episodes_per_hour()}
    results["total_wall_s"] = time.perf_counter() - t0
    results["machine"]["loadavg_at_end"] = list(os.getloadavg())
    results["summary"] = {f"kernel {k}": {"ours_median_Mupd_per_s": round(v["ours_median_Mupd_per_s"], 2),
                                          "baseline_median_Mupd_per_s": round(v["baseline_median_Mupd_per_s"], 2),
                                          "ratio_median": round(v["ratio_median"], 2)}
                          for k, v in results["kernel"].items()}
    out = Path(__file__).parent / "results" / "perf_cool.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    for k, v in results["kernel"].items():
        print(f"{k}: ours {v['ours_median_Mupd_per_s']:.1f} Mupd/s, dense loop {v['baseline_median_Mupd_per_s']:.1f}"
              f" Mupd/s, x{v['ratio_median']:.2f}")
    for k, v in results["inference"].items():
        print(f"{k}: policy {v['policy_ms']:.2f} ms, env step {v['env_step_ms']:.2f} ms, "
              f"ratio {v['policy_over_env_step']:.3f}")
    tr = results["training"]
    print(f"training: {tr['episodes_per_hour']:.0f} episodes/h (rollout {tr['rollout_8_episodes_s']:.2f} s + update "
          f"{tr['ppo_update_s']:.2f} s per 8 episodes); load {load0} -> {results['machine']['loadavg_at_end']}")
    return results


if __name__ == "__main__":
    main()
