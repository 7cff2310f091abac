"""The COOL policy network (Mills, Ronagh & Tamblyn, Nat. Mach. Intell. 2, 509 (2020), arXiv:2003.00011, "Policy
network architecture" and Fig. 2; thesis L2749).

Observation (N_reps, N) of +-1 spins ->
  strip convolution A: N_k1 kernels 1 x N (one replica row at a time) -> (N_k1, N_reps)
  strip convolution B: N_k2 kernels N_reps x 1 (one spin column across the replicas) -> (N_k2, N)
  flatten both, concatenate -> dense N_d -> LSTM N_L -> Gaussian head (mu, log sigma) over the action, value head.
All activations tanh (paper).  The no-LSTM ablation (paper "Comparing easy and difficult instances", thesis L2821)
replaces the LSTM by a dense layer and appends the step index t / n_steps to the features.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["COOLPolicy"]


class COOLPolicy(nn.Module):
    def __init__(self, n_reps: int, n_spins: int, n_kernels: int = 64, dense: int = 64, lstm: int = 64,
                 recurrent: bool = True, log_std_bounds: tuple[float, float] = (-5.0, 1.0)):
        super().__init__()
        self.n_reps, self.n_spins, self.recurrent = n_reps, n_spins, recurrent
        self.conv_rows = nn.Conv2d(1, n_kernels, (1, n_spins))  # along each replica's spins
        self.conv_cols = nn.Conv2d(1, n_kernels, (n_reps, 1))  # along the replicas of each spin
        extra = 0 if recurrent else 1
        self.dense = nn.Linear(n_kernels * (n_reps + n_spins) + extra, dense)
        if recurrent:
            self.core = nn.LSTM(dense, lstm, batch_first=True)
        else:
            self.core = nn.Linear(dense, lstm)
        self.mu = nn.Linear(lstm, 1)
        self.log_std = nn.Linear(lstm, 1)
        self.value = nn.Linear(lstm, 1)
        self.log_std_bounds = log_std_bounds
        # small policy outputs at the start (a common PPO initialization; ours): actions begin near 0 with sigma ~ 1
        for head in (self.mu, self.log_std):
            nn.init.orthogonal_(head.weight, gain=0.01)
            nn.init.zeros_(head.bias)

    def features(self, obs: torch.Tensor, step: torch.Tensor | None = None) -> torch.Tensor:
        """obs (B, T, N_reps, N) -> (B, T, dense)."""
        B, T = obs.shape[:2]
        x = obs.reshape(B * T, 1, self.n_reps, self.n_spins).float()
        a = torch.tanh(self.conv_rows(x)).flatten(1)
        b = torch.tanh(self.conv_cols(x)).flatten(1)
        f = torch.cat([a, b], dim=1)
        if not self.recurrent:
            f = torch.cat([f, step.reshape(B * T, 1).to(f.dtype)], dim=1)
        return torch.tanh(self.dense(f)).reshape(B, T, -1)

    def forward(self, obs: torch.Tensor, state=None, step: torch.Tensor | None = None):
        """obs (B, T, N_reps, N); state: the LSTM (h, c) or None (episode start); step (B, T) = t / n_steps for the
        no-LSTM variant.  Returns mu (B, T), log_std (B, T), value (B, T), new state."""
        f = self.features(obs, step)
        if self.recurrent:
            out, state = self.core(f, state)
        else:
            out = torch.tanh(self.core(f))
        lo, hi = self.log_std_bounds
        return (self.mu(out).squeeze(-1), self.log_std(out).squeeze(-1).clamp(lo, hi), self.value(out).squeeze(-1),
                state)
