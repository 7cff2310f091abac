"""Rollouts for COOL's PPO agent (Mills, Ronagh & Tamblyn, Nat. Mach. Intell. 2, 509 (2020), arXiv:2003.00011,
"Hyperparameters": eight episodes between weight updates, 40 steps each; thesis L2763).

The model makes its own data (ARCHITECTURE.md, "A model that makes its own data"; Lightning's PPO example pattern: an
IterableDataset that plays the current policy).  One training batch = `episodes_per_batch` WHOLE episodes played in
lockstep (the LSTM sees complete sequences) with the model attached to the trainer.  Rollout j is seeded from
(recipe hash, j), where j is the model's update counter (saved in its checkpoint), so a resumed run plays the same
environments an uninterrupted one would; the actions depend on the policy, as they must.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset

from .base import GeneratedDataModule
from .cool_env import PROBLEMS, COOLEnv
from .gaussians import _key_int

__all__ = ["COOLDataModule", "play_episodes"]


@torch.no_grad()
def play_episodes(policy, envs: list[COOLEnv], seed: int, deterministic: bool = False,
                  options: list[dict] | None = None) -> dict:
    """Play one episode in each env in lockstep with `policy.act(obs, state, step, deterministic, generator)`
    ((E, 1, R, N) int8 tensor -> action (E,), log-prob (E,), value (E,), new state).  Returns (E, T, ...) tensors:
    obs (the observation each action was chosen from), actions, logp, values, rewards, plus betas (E, T + 1),
    acceptance (E, T), final_energies (E, R), success (E,) (-1 where unknown) and ground_energy (E,)."""
    E, T = len(envs), envs[0].n_steps
    ss = np.random.SeedSequence([int(seed) % 2**63])
    env_seeds = ss.spawn(E + 1)
    gen = torch.Generator().manual_seed(int(env_seeds[-1].generate_state(1)[0]))
    obs = np.stack([env.reset(seed=int(s.generate_state(1)[0]), options=(options or [{}] * E)[k])[0]
                    for k, (env, s) in enumerate(zip(envs, env_seeds))])
    R, N = obs.shape[1:]
    out = {k: torch.zeros(E, T) for k in ("actions", "logp", "values", "rewards", "acceptance")}
    out["obs"] = torch.zeros(E, T, R, N, dtype=torch.int8)
    betas = np.zeros((E, T + 1))
    betas[:, 0] = [env.beta for env in envs]
    state = None
    final, success = np.zeros((E, R)), -np.ones(E)
    for t in range(T):
        o = torch.from_numpy(obs).unsqueeze(1)
        out["obs"][:, t] = o[:, 0]
        step = torch.full((E, 1), t / T)
        a, logp, v, state = policy.act(o, state, step, deterministic, gen)
        out["actions"][:, t], out["logp"][:, t], out["values"][:, t] = a, logp, v
        nxt = []
        for k, env in enumerate(envs):
            o2, r, term, _, info = env.step(a[k:k + 1].numpy().astype(np.float32))
            nxt.append(o2)
            out["rewards"][k, t], out["acceptance"][k, t] = r, info["acceptance"]
            betas[k, t + 1] = info["beta"]
            if term:
                final[k] = info["final_energies"]
                success[k] = float(info.get("success", -1))
        obs = np.stack(nxt)
    out.update(betas=torch.from_numpy(betas).float(), final_energies=torch.from_numpy(final),
               success=torch.from_numpy(success).float(),
               ground_energy=torch.tensor([np.nan if env.ground_energy() is None else env.ground_energy()
                                           for env in envs]))
    return out


class _Rollouts(IterableDataset):
    """Yields `n` rollouts of the policy the DataModule's trainer is training."""

    def __init__(self, dm: "COOLDataModule", n: int):
        self.dm, self.n = dm, n

    def __iter__(self):
        model = self.dm.trainer.lightning_module
        for _ in range(self.n):
            j = int(model.updates)  # the next update's index: rollouts resume where the checkpoint stopped
            was_training = model.training
            model.eval()
            # each DDP rank plays its own episodes (rank 0's seeds are those of a one-process run)
            rank = self.dm.trainer.global_rank
            batch = play_episodes(model, self.dm.envs, seed=self.dm.key_int * 1_000_003 + j + rank * (1 << 50))
            model.train(was_training)
            yield batch


class COOLDataModule(GeneratedDataModule):
    """Episodes of simulated annealing played with the current policy.

    Args:
        problem, side: what is annealed ('wsc'; 'spin_glass' with a fresh side x side torus per episode).
        n_reps, n_steps, n_sweeps: N_reps, N_steps, N_sweeps (paper 64, 40, 100; thesis L2705).
        beta_init_low, beta_init_high: training beta_0 ~ U(low, high) (released WSC code: 0.2-1.6).
        action_scale: dbeta per step at |action| = 1 (released code: 0.1 WSC, 0.2 spin glass).
        reward: 'total' (paper eq. 1) or 'per_spin' (released code).
        destructive: destructive observation (paper "Destructive observation").
        episodes_per_batch: episodes between weight updates (paper: 8, thesis L2763).
        batches_per_epoch: PPO updates per Lightning epoch (epochs only pace logging and checkpoints).
        seed: part of the recipe; rollout j is seeded from (recipe hash, j).
    """

    name = "cool_rollouts"
    model_links = {k: k for k in ("problem", "side", "n_reps", "n_steps", "n_sweeps", "action_scale", "reward",
                                  "beta_init_low", "beta_init_high", "destructive")}

    def __init__(self, problem: str = "wsc", side: int = 4, n_reps: int = 64, n_steps: int = 40, n_sweeps: int = 100,
                 beta_init_low: float = 0.2, beta_init_high: float = 1.6, action_scale: float = 0.2,
                 reward: str = "total", destructive: bool = False, episodes_per_batch: int = 8,
                 batches_per_epoch: int = 25, seed: int = 0, num_workers: int = 0, data_dir: str | None = None,
                 progress: bool = True):
        super().__init__(batch_size=episodes_per_batch, num_workers=0, data_dir=data_dir, progress=progress)
        if problem not in PROBLEMS:
            raise ValueError(f"problem must be one of {PROBLEMS}; got {problem!r}")
        for name, v in (("episodes_per_batch", episodes_per_batch), ("batches_per_epoch", batches_per_epoch)):
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be a positive integer; got {v}")
        if num_workers:
            raise ValueError("num_workers must be 0: rollouts need the live policy in the training process")
        self.args = dict(problem=problem, side=side, n_reps=n_reps, n_steps=n_steps, n_sweeps=n_sweeps,
                         beta_init=(beta_init_low, beta_init_high), action_scale=action_scale, reward=reward,
                         destructive=destructive)
        self.envs = [COOLEnv(**self.args) for _ in range(episodes_per_batch)]  # validates the environment args
        self.episodes_per_batch, self.batches_per_epoch, self.seed = episodes_per_batch, batches_per_epoch, seed

    def recipe(self) -> dict:
        return {"dataset": self.name, "version": 1, **{k: list(v) if isinstance(v, tuple) else v
                                                       for k, v in self.args.items()},
                "episodes_per_batch": self.episodes_per_batch, "seed": self.seed}

    @property
    def key_int(self) -> int:
        return _key_int(self.key) % 2**40

    def train_dataloader(self) -> DataLoader:
        return DataLoader(_Rollouts(self, self.batches_per_epoch), batch_size=None, num_workers=0)
