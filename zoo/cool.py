"""COOL: a recurrent PPO agent that sets the temperature of simulated annealing (Mills, Ronagh & Tamblyn, "Finding the
ground state of spin Hamiltonians with reinforcement learning", Nat. Mach. Intell. 2, 509 (2020),
doi:10.1038/s42256-020-0226-x, arXiv:2003.00011; Mills thesis Ch. 5, L2641-2975).

The agent watches N_reps replicas (spins only, never beta or H) and outputs the change of inverse temperature for the
next N_sweeps Metropolis sweeps (datamodules.cool_env).  Policy: `zoo.cool_nets.COOLPolicy` (paper Fig. 2).  Training
is PPO with GAE (paper "Reinforcement learning algorithm", "Hyperparameters"; thesis L2719-2763):

    L = E_t[ min(r_t A_t, clip(r_t, 1 - eps, 1 + eps) A_t) ] - c1 E_t[(V(s_t) - V_t^targ)^2] + c2 E_t[S[pi](s_t)]

maximized (we minimize -L), with r_t = pi(a_t|s_t) / pi_old(a_t|s_t), A_t from GAE(gamma, lambda), V_t^targ = A_t +
V_old(s_t).  Paper: gamma 0.99, c1 0.5, c2 0.001, eps 0.05, 8 episodes per update, one minibatch, lr 1e-6 over 25,000
episodes.  Ours (unstated or changed for a 1-core budget, stated in each config): lambda 0.95 (Stable Baselines'
default; the paper used Stable Baselines, thesis L2701), 4 passes over each batch, advantages normalized per batch
(Stable Baselines does), gradient norm clipped at 0.5, Adam at lr 3e-4 for a few thousand episodes.

One training batch = 8 whole episodes played by the current policy (datamodules.cool.COOLDataModule); the LSTM runs
over complete 40-step sequences from a zero state, so no truncated backpropagation is needed.
"""
from __future__ import annotations

import math

import torch

from datamodules.cool_env import PROBLEMS, make_hamiltonian

from .base import ZooTask
from .cool_nets import COOLPolicy
from .registry import register_model

__all__ = ["COOLAgent", "gae", "ppo_loss"]


def gae(rewards: torch.Tensor, values: torch.Tensor, gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalized advantage estimates of whole episodes: rewards, values (E, T), the episode ends after step T - 1
    (V = 0 beyond).  Returns (advantages, returns = advantages + values)."""
    E, T = rewards.shape
    adv = torch.zeros_like(rewards)
    last = torch.zeros(E, dtype=rewards.dtype)
    for t in reversed(range(T)):
        next_v = values[:, t + 1] if t + 1 < T else torch.zeros(E, dtype=values.dtype)
        delta = rewards[:, t] + gamma * next_v - values[:, t]
        last = delta + gamma * lam * last
        adv[:, t] = last
    return adv, adv + values


def gaussian_logp(a: torch.Tensor, mu: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    return -0.5 * ((a - mu) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2 * math.pi)


def ppo_loss(mu, log_std, value, actions, old_logp, advantages, returns, clip: float, c1: float, c2: float) -> dict:
    """The three-term PPO loss (paper eqs. for L^CLIP, L^VF and S); `loss` is minimized (= -L^PPO)."""
    logp = gaussian_logp(actions, mu, log_std)
    ratio = torch.exp(logp - old_logp)
    surrogate = torch.min(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages).mean()
    vf = ((value - returns) ** 2).mean()
    entropy = (log_std + 0.5 * math.log(2 * math.pi * math.e)).mean()  # of a Gaussian
    loss = -(surrogate - c1 * vf + c2 * entropy)
    with torch.no_grad():
        clipped = ((ratio - 1).abs() > clip).float().mean()
        kl = (old_logp - logp).mean()
    return {"loss": loss, "clip_objective": surrogate, "value_loss": vf, "entropy": entropy, "clip_fraction": clipped,
            "approx_kl": kl}


@register_model("cool")
class COOLAgent(ZooTask):
    """The COOL agent: recurrent Gaussian policy and value function trained by PPO on its own rollouts.

    Args:
        problem, side, n_reps, n_steps, n_sweeps, action_scale, reward, beta_init_low, beta_init_high, destructive:
            the environment it is trained for (linked from COOLDataModule by `zoo fit`; `anneal` replays them).
        n_kernels, dense, lstm: N_k1 = N_k2, N_d, N_L (paper: 64 each, thesis L2749).
        recurrent: False is the no-LSTM ablation (step index appended; thesis L2821).
        lr: Adam's (paper 1e-6 over 25k episodes; ours larger for a short run).
        gamma, gae_lambda, clip, vf_coef, ent_coef: gamma, lambda, eps, c1, c2 (paper 0.99, -, 0.05, 0.5, 0.001).
        ppo_epochs: passes over each batch of 8 episodes (one minibatch each, paper).
        max_grad_norm: gradient-norm clip (Stable Baselines' 0.5; ours).
        seed: network initialization.
        history_size: per-update training record kept in the checkpoint (halved in resolution when full).
    """

    def __init__(self, problem: str = "wsc", side: int = 4, n_reps: int = 64, n_steps: int = 40, n_sweeps: int = 100,
                 action_scale: float = 0.2, reward: str = "total", beta_init_low: float = 0.2,
                 beta_init_high: float = 1.6, destructive: bool = False, n_kernels: int = 64, dense: int = 64,
                 lstm: int = 64, recurrent: bool = True, lr: float = 3e-4, gamma: float = 0.99,
                 gae_lambda: float = 0.95, clip: float = 0.05, vf_coef: float = 0.5, ent_coef: float = 0.001,
                 ppo_epochs: int = 4, max_grad_norm: float = 0.5, seed: int = 0, history_size: int = 1024):
        if problem not in PROBLEMS:
            raise ValueError(f"problem must be one of {PROBLEMS}; got {problem!r}")
        for name, v in (("n_reps", n_reps), ("n_steps", n_steps), ("n_sweeps", n_sweeps), ("ppo_epochs", ppo_epochs),
                        ("n_kernels", n_kernels), ("dense", dense), ("lstm", lstm), ("history_size", history_size)):
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be a positive integer; got {v}")
        if not (0 < gamma <= 1 and 0 <= gae_lambda <= 1 and 0 < clip < 1 and lr > 0):
            raise ValueError(f"need 0 < gamma <= 1, 0 <= gae_lambda <= 1, 0 < clip < 1, lr > 0; got "
                             f"{gamma}, {gae_lambda}, {clip}, {lr}")
        if vf_coef < 0 or ent_coef < 0 or max_grad_norm <= 0:
            raise ValueError(f"need vf_coef >= 0, ent_coef >= 0, max_grad_norm > 0; got {vf_coef}, {ent_coef}, "
                             f"{max_grad_norm}")
        super().__init__()
        self.automatic_optimization = False  # several PPO passes over one rollout batch

    def configure_models(self) -> None:
        hp = self.hparams
        self.n_spins = make_hamiltonian(hp.problem, hp.side, 0).n
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(hp.seed)
            self.policy = COOLPolicy(hp.n_reps, self.n_spins, hp.n_kernels, hp.dense, hp.lstm, hp.recurrent)
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))
        self.register_buffer("episodes", torch.zeros((), dtype=torch.long))
        H = hp.history_size
        self.register_buffer("hist_len", torch.zeros((), dtype=torch.long))
        self.register_buffer("hist_every", torch.ones((), dtype=torch.long))
        self.register_buffer("hist", torch.zeros(H, 4))  # episodes, mean return, success rate, mean final beta

    def configure_optimizers(self):
        return torch.optim.Adam(self.policy.parameters(), lr=self.hparams.lr)

    # -- policy ---------------------------------------------------------------------------------
    def forward(self, obs: torch.Tensor, state=None, step: torch.Tensor | None = None):
        """obs (B, T, N_reps, N) spins -> mu, log_std, value (B, T), LSTM state."""
        if obs.ndim != 4 or tuple(obs.shape[2:]) != (self.hparams.n_reps, self.n_spins):
            raise ValueError(f"obs must have shape (B, T, {self.hparams.n_reps}, {self.n_spins}); got "
                             f"{tuple(obs.shape)}")
        if step is None:
            step = torch.arange(obs.shape[1], dtype=torch.float32).expand(obs.shape[0], -1) / self.hparams.n_steps
        return self.policy(obs, state, step)

    @torch.no_grad()
    def act(self, obs, state, step, deterministic: bool = False, generator: torch.Generator | None = None):
        """One step of every episode: obs (E, 1, R, N) -> action (E,), log-prob (E,), value (E,), state."""
        mu, log_std, v, state = self(obs.to(self.device), state, step.to(self.device))
        mu, log_std, v = mu[:, 0].cpu(), log_std[:, 0].cpu(), v[:, 0].cpu()
        a = mu if deterministic else mu + log_std.exp() * torch.randn(mu.shape, generator=generator)
        return a, gaussian_logp(a, mu, log_std), v, state

    # -- training -------------------------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        hp = self.hparams
        opt = self.optimizers()
        obs, actions, old_logp = batch["obs"], batch["actions"].float(), batch["logp"].float()
        adv, returns = gae(batch["rewards"].float(), batch["values"].float(), hp.gamma, hp.gae_lambda)
        adv_n = (adv - adv.mean()) / (adv.std() + 1e-8)
        for _ in range(hp.ppo_epochs):
            mu, log_std, value, _ = self(obs)
            terms = ppo_loss(mu, log_std, value, actions, old_logp, adv_n, returns, hp.clip, hp.vf_coef, hp.ent_coef)
            if not torch.isfinite(terms["loss"]):
                raise FloatingPointError(f"PPO loss is not finite at update {int(self.updates)}")
            opt.zero_grad()
            self.manual_backward(terms["loss"])
            torch.nn.utils.clip_grad_norm_(self.policy.parameters(), hp.max_grad_norm)
            opt.step()
        self.updates += 1
        self.episodes += len(actions)
        ret = batch["rewards"].sum(1)
        betas = batch["betas"]
        stats = {"episode_return": ret.mean(), "beta_final": betas[:, -1].mean(), "beta_min": betas.min(1).values.mean(),
                 "beta_init": betas[:, 0].mean(), "acceptance_first_step": batch["acceptance"][:, 0].mean(),
                 "action_std": log_std.detach().exp().mean(), **{k: terms[k].detach() for k in
                 ("loss", "clip_objective", "value_loss", "entropy", "clip_fraction", "approx_kl")}}
        known = batch["success"] >= 0
        if known.any():
            stats["success_rate"] = batch["success"][known].mean()
        # the mean beta schedule at five points of the episode (W&B plots them against training time)
        T = betas.shape[1] - 1
        for t in sorted({0, T // 4, T // 2, 3 * T // 4, T}):
            stats[f"beta_t{t}"] = betas[:, t].mean()
        self.log_dict({f"train/{k}": float(v) for k, v in stats.items()}, on_step=True, on_epoch=False,
                      batch_size=len(actions))
        self.log("train/episodes", float(self.episodes), prog_bar=True, on_step=True, batch_size=len(actions))
        self._record(float(ret.mean()), float(stats.get("success_rate", float("nan"))), float(betas[:, -1].mean()))

    @torch.no_grad()
    def _record(self, ret: float, success: float, beta_final: float) -> None:
        if int(self.updates) % int(self.hist_every):
            return
        n, H = int(self.hist_len), self.hparams.history_size
        if n == H:  # full: keep every other entry and record half as often from now on
            self.hist[: H // 2] = self.hist[1::2][: H // 2].clone()
            n = H // 2
            self.hist_every *= 2
        self.hist[n] = torch.tensor([float(self.episodes), ret, success, beta_final])
        self.hist_len.fill_(n + 1)

    def history(self) -> dict:
        """The training record: episodes played, mean return, success rate and mean final beta per recorded update."""
        h = self.hist[: int(self.hist_len)].cpu().numpy()
        return {"episodes": h[:, 0], "return": h[:, 1], "success": h[:, 2], "beta_final": h[:, 3]}

    # -- domain API -----------------------------------------------------------------------------
    def anneal(self, couplings, fields, beta_init: float, episodes: int = 100, seed: int = 0,
               ground_energy: float | None = None, initial_state=None, deterministic: bool = True) -> dict:
        """Anneal H = -sum_{i<j} J_ij s_i s_j - sum h_i s_i (couplings a symmetric N x N array, fields an N-vector)
        with this agent's schedule, `episodes` times from beta_init.  Returns betas (episodes, n_steps + 1),
        final_energies (episodes, n_reps), acceptance (episodes, n_steps), success (episodes,) against
        `ground_energy` (computed exactly when None: brute force to 20 spins, a square torus by transfer matrix).
        initial_state: None starts every replica at random (paper), except for a WSC agent given the WSC model,
        which starts in its local minimum as in training."""
        from .cool_anneal import anneal

        return anneal(self, couplings, fields, beta_init, episodes=episodes, seed=seed, ground_energy=ground_energy,
                      initial_state=initial_state, deterministic=deterministic)

    @property
    def data_args(self) -> dict:
        hp = self.hparams
        return {k: hp[k] for k in ("problem", "side", "n_reps", "n_steps", "n_sweeps", "action_scale", "reward",
                                   "beta_init_low", "beta_init_high", "destructive")}
