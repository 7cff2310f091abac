"""What the published COOL agents measure (`zoo evaluate cool/...`), and the paper's numbers beside them.

Paper: Mills, Ronagh & Tamblyn, "Finding the ground state of spin Hamiltonians with reinforcement learning", Nat. Mach.
Intell. 2, 509 (2020), doi:10.1038/s42256-020-0226-x, arXiv:2003.00011 (Mills thesis Ch. 5; lines of
shared/papers/mills-2021-thesis.txt in parentheses).

- WSC (`measure_wsc`): at each beta_init of a grid, the agent's success over `episodes` deterministic-policy episodes
  from the local minimum, and the best linear schedule (grid over beta_f >= beta_i, same replicas, sweeps and success
  rule); cold starts = the beta_init where the best linear schedule succeeds < 20 % (our target: RL >= 90 % there);
  heat-then-cool = a cold-start episode whose beta first drops by >= 0.2 below beta_init and ends >= 0.5 above its
  minimum.
- Spin glasses (`measure_sg`): `n_instances` fresh instances (seeds 1,000,000 + k; exact ground states) x `runs`
  episodes: pooled success p with Wilson 95 % intervals and n99 by both formulas, for the agent and for the best
  linear schedule (chosen on separate tuning instances, seeds 2,000,000 + k); the Fig. 5 split (instances where
  linear SA succeeds < 3 % are "difficult", thesis L2814) and the agent's mean schedule replayed as a fixed schedule.
"""
from __future__ import annotations

import numpy as np

from datamodules.physics.annealing import metropolis_anneal, random_replicas, toroidal_spin_glass, wsc
from datamodules.physics.ground_states import ground_state
from datamodules.cool_env import is_ground

from ..cool_anneal import anneal, best_linear_schedule, linear_sa, n99, wilson
from ..records import metric

__all__ = ["measure", "measure_wsc", "measure_sg", "PAPER", "WSC_BETAS", "SG_TEST_SEED", "SG_TUNE_SEED"]

WSC_BETAS = (0.2, 0.6, 1.0, 1.4, 1.8, 2.0)
SG_TEST_SEED, SG_TUNE_SEED = 1_000_000, 2_000_000
SG_GRID = ((0.1, 1.0), (0.1, 2.0), (0.1, 3.0), (0.1, 4.0), (0.33, 2.0), (0.33, 3.0), (0.33, 4.0), (0.33, 6.0))

_SG_PAPER = [{"metric": "rl_n99_thesis", "value": None, "text": "RL n99 below the best linear SA at every size "
              "(4^2 ... 16^2), with better scaling", "ref": "Fig. 4d (thesis L2810, L2829)"},
             {"metric": "sa_n99_thesis", "value": None, "text": "best linear SA: higher n99 at every size",
              "ref": "Fig. 4d (thesis L2829)"},
             {"metric": "avg_schedule_success", "value": None, "text": "< 10 % (10x10, the average RL schedule "
              "replayed)", "ref": "Fig. 5d (thesis L2825)"}]
PAPER = {
    "wsc": [{"metric": "cold_start_rl_success", "value": 1.0, "text": "RL reaches the ground state in 100 % of "
             "episodes from any initial temperature", "ref": "Results, WSC model; Fig. 3b (thesis L2798, L2808)"},
            {"metric": "cold_start_sa_best_success", "value": None, "text": "classic SA: very low success at cold "
             "starts", "ref": "Fig. 3b caption (thesis L2802, L2808)"},
            {"metric": "cold_heat_then_cool_fraction", "value": None, "text": "cold start: the agent heats, then "
             "cools", "ref": "Fig. 3d, f (thesis L2802)"}],
    "sg-4x4": _SG_PAPER, "sg-6x6": _SG_PAPER,
}


def measure(model, data_args: dict, seed: int | None = None, progress: bool = False, **kwargs) -> list[dict]:
    if model.hparams.problem == "wsc":
        return measure_wsc(model, seed=0 if seed is None else seed, progress=progress, **kwargs)
    return measure_sg(model, seed=0 if seed is None else seed, progress=progress, **kwargs)


def _say(progress, *a):
    if progress:
        print(*a, flush=True)


def wsc_table(model, betas=WSC_BETAS, episodes: int = 100, sa_episodes: int = 100, seed: int = 0,
              progress: bool = False) -> list[dict]:
    """Per beta_init: the agent's runs and the linear-schedule grid (the report draws from these rows)."""
    H = wsc()
    hp = model.hparams
    rows = []
    for k, b in enumerate(betas):
        rl = anneal(model, H.couplings, H.fields, b, episodes=episodes, seed=seed * 1000 + k)
        grid = best_linear_schedule(H.couplings, H.fields, b, [b, b + 1.0, b + 2.0, b + 4.0],
                                    episodes=sa_episodes, seed=seed * 1000 + 500 + k, n_reps=hp.n_reps,
                                    n_steps=hp.n_steps, n_sweeps=hp.n_sweeps)
        rows.append({"beta_init": b, "rl": rl, "grid": grid})
        _say(progress, f"beta_init {b}: RL {rl['success'].mean():.2f}, best linear {grid['best_success']:.2f} "
                       f"(beta_f {grid['best_beta_f']})")
    return rows


def heat_then_cool(betas: np.ndarray) -> np.ndarray:
    lo = betas.min(1)
    return (lo <= betas[:, 0] - 0.2) & (betas[:, -1] >= lo + 0.5)


def measure_wsc(model, seed: int = 0, progress: bool = False, episodes: int = 100, sa_episodes: int = 100,
                betas=WSC_BETAS) -> list[dict]:
    rows = wsc_table(model, betas, episodes, sa_episodes, seed, progress)
    out = []
    where = f"WSC from its local minimum, {episodes} agent episodes (deterministic policy) per beta_init"
    for r in rows:
        b, s = r["beta_init"], r["rl"]["success"]
        lo, hi = wilson(int(s.sum()), len(s))
        out.append(metric(f"rl_success_beta{b:g}", s.mean(), where, f"fraction of episodes with a replica in the "
                          f"ground state at the end; Wilson 95 % [{lo:.3f}, {hi:.3f}]"))
        out.append(metric(f"sa_best_success_beta{b:g}", r["grid"]["best_success"],
                          f"linear SA from beta {b:g}, {sa_episodes} episodes per beta_f",
                          f"best over beta_f in {r['grid']['beta_f']} (best {r['grid']['best_beta_f']:g})"))
    cold = [r for r in rows if r["grid"]["best_success"] < 0.2]
    if cold:
        s = np.concatenate([r["rl"]["success"] for r in cold])
        lo, hi = wilson(int(s.sum()), len(s))
        bs = ", ".join(f"{r['beta_init']:g}" for r in cold)
        out.append(metric("cold_start_rl_success", s.mean(), f"cold starts beta_init in {{{bs}}} (best linear < 20 %)",
                          f"pooled agent success; Wilson 95 % [{lo:.3f}, {hi:.3f}]"))
        out.append(metric("cold_start_sa_best_success", np.mean([r["grid"]["best_success"] for r in cold]),
                          f"cold starts beta_init in {{{bs}}}", "mean over them of the best linear schedule's success"))
        h = np.concatenate([heat_then_cool(r["rl"]["betas"]) for r in cold])
        out.append(metric("cold_heat_then_cool_fraction", h.mean(), f"agent episodes at beta_init in {{{bs}}}",
                          "beta drops >= 0.2 below beta_init, then ends >= 0.5 above its minimum"))
    out.append(metric("n_cold_betas", len(cold), f"beta_init grid {list(betas)}", "beta_init with best linear < 20 %"))
    return out


def sg_instances(side: int, n: int, base: int) -> list[tuple]:
    out = []
    for k in range(n):
        H = toroidal_spin_glass(side, base + k)
        out.append((H, ground_state(H)[0]))
    return out


def replay_schedule(H, gs: float, step_betas: np.ndarray, runs: int, n_reps: int, n_sweeps: int, seed: int) -> np.ndarray:
    """Success of a fixed schedule given at the step ends (beta_0 ... beta_T), linear within each step as the
    environment applies a step's dbeta."""
    rng = np.random.default_rng(seed)
    T = len(step_betas) - 1
    sched = np.concatenate([step_betas[t] + (step_betas[t + 1] - step_betas[t]) * np.arange(1, n_sweeps + 1) / n_sweeps
                            for t in range(T)])
    ok = np.zeros(runs, bool)
    for e in range(runs):
        spins = random_replicas(n_reps, H.n, rng)
        metropolis_anneal(H, spins, sched, int(rng.integers(2**32)))
        ok[e] = is_ground(H.energy(spins), gs).any()
    return ok


def _p_metrics(prefix: str, succ: np.ndarray, where: str) -> list[dict]:
    k, n = int(succ.sum()), succ.size
    p = k / n
    lo, hi = wilson(k, n)
    out = [metric(f"{prefix}_success", p, where, f"pooled success fraction; Wilson 95 % [{lo:.4f}, {hi:.4f}]"),
           metric(f"{prefix}_success_lo", lo, where, "Wilson 95 % lower end"),
           metric(f"{prefix}_success_hi", hi, where, "Wilson 95 % upper end")]
    for f in ("thesis", "code"):
        a, b = n99(hi, f), n99(lo, f)  # n99 falls with p: the interval's ends swap
        out.append(metric(f"{prefix}_n99_{f}", n99(p, f), where,
                          f"n99 ({'log(0.01)/log(1-p) (1-p), printed' if f == 'thesis' else 'log(0.01)/log(1-p)'});"
                          f" 95 % [{a:.3g}, {b:.3g}]; 0 at p = 1"))
    return out


def measure_sg(model, seed: int = 0, progress: bool = False, n_instances: int = 100, runs: int = 20,
               tune_instances: int = 10, tune_runs: int = 5, replay_runs: int = 5, beta_init: float = 0.33,
               return_rows: bool = False):
    hp = model.hparams
    side = hp.side
    kw = dict(n_reps=hp.n_reps, n_steps=hp.n_steps, n_sweeps=hp.n_sweeps)
    tune = sg_instances(side, tune_instances, SG_TUNE_SEED)
    rates = []
    for bi, bf in SG_GRID:
        s = [linear_sa(H.couplings, H.fields, bi, bf, tune_runs, seed=seed + k, ground_energy=gs, **kw)["success"]
             for k, (H, gs) in enumerate(tune)]
        rates.append(float(np.mean(s)))
        _say(progress, f"tune linear {bi}->{bf}: {rates[-1]:.3f}")
    bi, bf = SG_GRID[int(np.argmax(rates))]
    test = sg_instances(side, n_instances, SG_TEST_SEED)
    rl, sa, betas, acc = [], [], [], []
    for k, (H, gs) in enumerate(test):
        r = anneal(model, H.couplings, H.fields, beta_init, episodes=runs, seed=seed * 100_000 + k, ground_energy=gs)
        rl.append(r["success"]), betas.append(r["betas"]), acc.append(r["acceptance"])
        sa.append(linear_sa(H.couplings, H.fields, bi, bf, runs, seed=seed * 100_000 + 50_000 + k, ground_energy=gs,
                            **kw)["success"])
        if progress and k % 10 == 9:
            print(f"{k + 1} instances: RL {np.mean(rl):.3f}, SA {np.mean(sa):.3f}", flush=True)
    rl, sa, betas = np.array(rl), np.array(sa), np.concatenate(betas)
    where = f"{n_instances} fresh {side}x{side} instances (seeds {SG_TEST_SEED}+k) x {runs} runs"
    out = _p_metrics("rl", rl, where + f", agent from beta_init {beta_init:g}, deterministic policy")
    out += _p_metrics("sa", sa, where + f", best linear schedule beta {bi:g} -> {bf:g}")
    out.append(metric("sa_best_beta_i", bi, f"{tune_instances} tuning instances x {tune_runs} runs",
                      f"grid {list(SG_GRID)}; success there {max(rates):.3f}"))
    out.append(metric("sa_best_beta_f", bf, f"{tune_instances} tuning instances x {tune_runs} runs", "see sa_best_beta_i"))
    p_sa = sa.mean(1)
    diff = p_sa < 0.03
    out.append(metric("n_difficult", int(diff.sum()), where, "instances where linear SA succeeds < 3 % (Fig. 5 split, "
                      "thesis L2814)"))
    for name, mask in (("easy", ~diff), ("difficult", diff)):
        if mask.any():
            out.append(metric(f"rl_success_{name}", rl[mask].mean(), where, f"agent on the {name} instances"))
            out.append(metric(f"sa_success_{name}", sa[mask].mean(), where, f"linear SA on the {name} instances"))
    mean_sched = betas.mean(0)
    rep = np.array([replay_schedule(H, gs, mean_sched, replay_runs, hp.n_reps, hp.n_sweeps, seed * 7 + k)
                    for k, (H, gs) in enumerate(test)])
    out.append(metric("avg_schedule_success", rep.mean(), f"{n_instances} instances x {replay_runs} runs",
                      "the agent's mean beta schedule replayed as a fixed schedule (Fig. 5d)"))
    if return_rows:
        return out, {"rl": rl, "sa": sa, "betas": betas, "acceptance": np.concatenate(acc), "replay": rep,
                     "schedule": (bi, bf)}
    return out
