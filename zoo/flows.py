"""Normalizing flows trained two ways, as in Wang's Marburg 2018 lecture (lecture note by Liu, Li & Wang, Sec. 3.2.3,
Eqs. 41-44; Sec. 5.3, Eq. 65; slides seed L1683-1969) and NeuralRG (Li & Wang, PRL 121, 260601 (2018),
arXiv:1802.02840):

- `Ring2DFlow` (registry default): density estimation by maximum likelihood on samples, NLL = -<ln q(x)>, the
  forward KL up to the data entropy (slides seed L1808-1820).  NICE (additive) or RealNVP (affine) couplings
  (zoo.flow_nets) on the Ring2D samples of datamodules.flows.Ring2DDataModule.
- `IsingDualFlow` (variant): probability density distillation (reverse KL, slides seed L1822-1903) on the continuous
  Hubbard-Stratonovich dual of the periodic Ising model (datamodules.physics.ising_dual): the loss
  L = <ln q(x) - ln pi(x)>_{x ~ q} is bounded below by -ln Z_x (Gibbs-Bogoliubov-Feynman, slides seed L1888-1890).
  Logged every step as the Ising model's variational free energy beta F_q = L - C (C = ln Z_Ising - ln Z_x, exact),
  beside the exact beta F = -ln Z_Ising.  The flow then gives ln Z by importance sampling and serves as a
  Metropolized independence sampler (slides seed L2063-2085) whose spins sample the Ising model exactly.

Both are ZooTasks that make their own data (ARCHITECTURE.md): the DataModules serve samples or seeds, pure
functions of (recipe, batch index); the card's measurements are in zoo/evaluation/flows.py.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch

from datamodules import validation
from datamodules.physics import ising_dual
from datamodules.physics.ising import T_C

from .base import ZooTask, build_optimizer
from .flow_nets import KINDS, TANH_SCALES, CouplingFlow, alternating_masks, checkerboard_masks
from .registry import register_model

__all__ = ["Ring2DFlow", "IsingDualFlow"]


SCHEDULES = ("constant", "cosine")


def _check_common(n_couplings, hidden, kind, tanh_scale, lr, weight_decay, lr_schedule="constant") -> None:
    if lr_schedule not in SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {SCHEDULES}; got {lr_schedule!r}")
    validation.positive_int(n_couplings, "n_couplings")
    if not isinstance(hidden, (list, tuple)) or not all(isinstance(h, int) and h > 0 for h in hidden):
        raise ValueError(f"hidden must be a list of positive integers (hidden layer widths); got {hidden!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    if tanh_scale not in TANH_SCALES:
        raise ValueError(f"tanh_scale must be one of {TANH_SCALES}; got {tanh_scale!r}")
    if not (lr > 0 and weight_decay >= 0):
        raise ValueError(f"need lr > 0 and weight_decay >= 0; got lr={lr!r}, weight_decay={weight_decay!r}")


class _FlowTask(ZooTask):
    """Shared: the flow, its optimizer, and a fixed-size per-step history of the training objective (halved in
    resolution when full) kept in buffers, so a published checkpoint carries its own curve."""

    def configure_optimizers(self):
        hp = self.hparams
        opt = build_optimizer(self.flow.parameters(), hp.optimizer, hp.lr, hp.weight_decay)
        if hp.get("lr_schedule", "constant") == "constant":
            return opt
        # cosine decay to zero over the run, stepped per optimizer step (ours: the lecture keeps lr constant)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, int(self.trainer.estimated_stepping_batches)))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def _init_history(self, size: int) -> None:
        self.register_buffer("hist_len", torch.zeros((), dtype=torch.long))
        self.register_buffer("hist_every", torch.ones((), dtype=torch.long))
        self.register_buffer("hist_step", torch.zeros(size, dtype=torch.long))
        self.register_buffer("hist_value", torch.zeros(size, dtype=torch.float64))
        self.register_buffer("hist_err", torch.zeros(size, dtype=torch.float64))

    @torch.no_grad()
    def _record(self, step: int, value: float, err: float) -> None:
        if step % int(self.hist_every):
            return
        n, H = int(self.hist_len), self.hist_step.numel()
        if n == H:  # full: keep every other entry, record half as often from now on
            for b in (self.hist_step, self.hist_value, self.hist_err):
                b[: H // 2] = b[1::2][: H // 2].clone()
            n = H // 2
            self.hist_every *= 2
            self.hist_len.fill_(n)
            if step % int(self.hist_every):
                return
        self.hist_step[n], self.hist_value[n], self.hist_err[n] = step, value, err
        self.hist_len.fill_(n + 1)

    def history(self) -> dict:
        """The recorded curve: optimizer step, the objective's batch mean and its standard error."""
        n = int(self.hist_len)
        return {"step": self.hist_step[:n].cpu().numpy(), "value": self.hist_value[:n].cpu().numpy(),
                "stderr": self.hist_err[:n].cpu().numpy()}

    def _check_finite(self, loss: torch.Tensor) -> None:
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is not finite at step {self.global_step} (lower lr, or bound the "
                                     "scales with tanh_scale)")


@register_model("flows")
class Ring2DFlow(_FlowTask):
    """NICE or RealNVP fitted to Ring2D samples by maximum likelihood.

    Args:
        kind: 'affine' (RealNVP, note Eq. 43) or 'additive' (NICE, note Eq. 65).
        n_couplings: coupling layers alternating the two coordinates (hands-on: 4).
        hidden: hidden widths of each s- and t-net (hands-on: [10], i.e. Linear(1, 10)-ReLU-Linear(10, 1); our nets
            read the masked 2-vector, so each first layer has one input whose value is always zero).
        tanh_scale: 'last' (the RealNVP solution's Tanh on the last s-net only), 'all' or 'none'.
        optimizer, lr, weight_decay: hands-on: Adam, 0.01, 0.001.
        lr_schedule: 'constant' (hands-on) or 'cosine' (decay to zero over the run's steps; ours).
        seed: initialization seed.
        history_size: length of the stored per-step NLL curve.
    """

    def __init__(self, kind: str = "affine", n_couplings: int = 4, hidden: list[int] = (10,),
                 tanh_scale: str = "last", optimizer: str = "adam", lr: float = 0.01, weight_decay: float = 0.001,
                 lr_schedule: str = "constant", seed: int = 0, history_size: int = 1024):
        _check_common(n_couplings, list(hidden), kind, tanh_scale, lr, weight_decay, lr_schedule)
        validation.positive_int(history_size, "history_size")
        super().__init__()

    def configure_models(self) -> None:
        hp = self.hparams
        with torch.random.fork_rng(devices=[]):  # torch's default init draws from the global RNG
            torch.manual_seed(hp.seed)
            self.flow = CouplingFlow(alternating_masks(2, hp.n_couplings), list(hp.hidden), hp.kind, hp.tanh_scale)
        self._init_history(hp.history_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.log_prob(x)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """ln q(x) in nats (normalized, with the prior's -ln 2 pi) for points x (B, 2) -> (B,)."""
        validation.last_dim(x, 2, "x", "points of the plane")
        return self.flow.log_prob(x.to(self.flow.layers[0].mask.dtype))

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """n points (n, 2) from the model."""
        n = validation.count(n, "n")
        dev = self.flow.layers[0].mask.device
        z = torch.randn(n, 2, generator=torch.Generator().manual_seed(int(seed))).to(dev)
        return self.flow(z.to(self.flow.layers[0].mask.dtype))[0]

    def training_step(self, batch, batch_idx):
        lp = self.log_prob(batch)
        loss = -lp.mean()
        self._check_finite(loss)
        err = float(lp.detach().std() / math.sqrt(len(lp)))
        self._record(int(self.global_step), float(loss.detach()), err)
        self.log("train/nll", loss.detach(), prog_bar=True, on_step=True, on_epoch=True)
        return loss


@register_model("flows", variant=True)
class IsingDualFlow(_FlowTask):
    """A RealNVP trained by reverse KL on the continuous dual of the periodic L x L Ising model (NeuralRG).

    Args:
        L, T: lattice side and temperature, linked from IsingDualSeeds (NeuralRG's demo: T_c).
        batch_size: prior samples per step, linked from the data (spec Sec. 4.1 item 1: 256).
        margin: A = K + alpha I with lambda_min(A) = margin (NeuralRG code: 0.1).
        n_couplings, hidden, kind, tanh_scale: checkerboard couplings (spec Sec. 4.1 item 1: 8 couplings, MLP
            16 -> 64 -> 64 -> 32 giving s and t; ours: separate s- and t-nets 16 -> 64 -> 64 -> 16 each).
        optimizer, lr, weight_decay: spec: Adam, 1e-3.  lr_schedule: 'constant' or 'cosine' (ours).
        seed: initialization seed.  history_size: length of the stored free-energy curve.
        z2_symmetrize: the estimators and the sampler (not the training loss) use q_s(x) = (q(x) + q(-x)) / 2 as
            the proposal (ours): pi is even in x, and a flow trained by reverse KL weights the two ordered modes
            unequally (43 % / 57 % at step 6500 of our 4 x 4 run), which inflates the importance weights' variance
            (effective sample fraction 0.10 -> 0.34 with q_s, measured).  KL(q_s || pi) <= KL(q || pi) by convexity,
            so the free-energy bound still holds.
    """

    def __init__(self, L: int = 4, T: float = T_C, batch_size: int = 256, margin: float = 0.1,
                 n_couplings: int = 8, hidden: list[int] = (64, 64), kind: str = "affine", tanh_scale: str = "none",
                 optimizer: str = "adam", lr: float = 1e-3, weight_decay: float = 0.0, lr_schedule: str = "constant",
                 seed: int = 0, history_size: int = 2048, z2_symmetrize: bool = True):
        _check_common(n_couplings, list(hidden), kind, tanh_scale, lr, weight_decay, lr_schedule)
        if int(L) != L or L < 3:
            raise ValueError(f"L must be an integer >= 3; got {L!r}")
        if not T > 0:
            raise ValueError(f"T must be > 0; got {T!r}")
        if not margin > 0:
            raise ValueError(f"margin must be > 0; got {margin!r}")
        validation.positive_int(batch_size, "batch_size")
        validation.positive_int(history_size, "history_size")
        super().__init__()

    def configure_models(self) -> None:
        hp = self.hparams
        K = ising_dual.coupling_matrix(hp.L, 1.0 / hp.T)
        self.alpha = ising_dual.dual_shift(K, hp.margin)
        # ln Z_Ising = ln Z_x + C, exact; -ln Z_Ising is the free energy line the variational one stays above
        self.dual_const = ising_dual.dual_constant(K, self.alpha)
        self.log_z_exact = ising_dual.log_z_exact(hp.L, 1.0 / hp.T)
        A_inv = np.linalg.inv(K + self.alpha * np.eye(len(K)))
        self.register_buffer("A_inv", torch.as_tensor(A_inv, dtype=torch.float32), persistent=False)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(hp.seed)
            self.flow = CouplingFlow(checkerboard_masks(hp.L, hp.n_couplings), list(hp.hidden), hp.kind,
                                     hp.tanh_scale)
        self._init_history(hp.history_size)

    @property
    def n_sites(self) -> int:
        return self.hparams.L ** 2

    def _flow_dtype(self):
        return self.flow.layers[0].mask.dtype

    def target_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """ln pi(x) = -1/2 x^T A^-1 x + sum ln cosh x_i (unnormalized dual density) for x (B, N)."""
        validation.last_dim(x, self.n_sites, "x", "dual fields of the lattice (flattened)")
        return ising_dual.dual_log_density(x, self.A_inv.to(x.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.log_prob(x)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """ln q(x) of the flow for dual fields x (B, N), in nats."""
        validation.last_dim(x, self.n_sites, "x", "dual fields of the lattice (flattened)")
        return self.flow.log_prob(x.to(self._flow_dtype()))

    def draw(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """n flow samples x, ln q(x) and ln pi(x) (gradients flow through the reparametrization)."""
        z = torch.randn(n, self.n_sites, generator=generator, dtype=self._flow_dtype()).to(self.A_inv.device)
        x, logq = self.flow.sample_with_log_prob(z)
        return x, logq, self.target_log_prob(x)

    def training_step(self, batch, batch_idx):
        g = torch.Generator().manual_seed(int(batch))
        _, logq, logp = self.draw(self.hparams.batch_size, g)
        diff = logq - logp
        loss = diff.mean()  # reverse KL up to -ln Z_x: the variational free energy of the dual
        self._check_finite(loss)
        F_var = float(loss.detach()) - self.dual_const  # beta F_q of the Ising model, >= -ln Z_Ising in expectation
        err = float(diff.detach().std() / math.sqrt(len(diff)))
        self._record(int(self.global_step), F_var, err)
        self.log("train/free_energy", F_var, prog_bar=True, on_step=True, on_epoch=False)
        self.log("train/free_energy_exact", -self.log_z_exact, on_step=True, on_epoch=False)
        self.log("train/free_energy_gap", F_var + self.log_z_exact, prog_bar=True, on_step=True, on_epoch=False)
        self.log("train/free_energy_stderr", err, on_step=True, on_epoch=False)
        return loss

    # -- domain API -----------------------------------------------------------------------------
    @torch.no_grad()
    def _proposals(self, n: int, seed: int, chunk: int = 65536, symmetrize: bool | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """n proposals (float64 numpy) and their log weights ln pi(x) - ln q(x), evaluated in float64.  With
        z2_symmetrize the proposal is q_s(x) = (q(x) + q(-x)) / 2: a flow sample with its sign flipped at random."""
        # a float64 copy: the log weights of ~40-nat densities need more than float32's 1e-5 relative accuracy
        flow = copy.deepcopy(self.flow).double()
        g = torch.Generator().manual_seed(int(seed))
        xs, lws = [], []
        A_inv = self.A_inv.double()
        for i in range(0, n, chunk):
            z = torch.randn(min(chunk, n - i), self.n_sites, generator=g, dtype=torch.float64).to(A_inv.device)
            x, logq = flow.sample_with_log_prob(z)
            if self.hparams.get("z2_symmetrize", True) if symmetrize is None else symmetrize:
                sign = torch.randint(0, 2, (len(x), 1), generator=g).to(x) * 2 - 1
                x = x * sign
                logq = torch.logaddexp(flow.log_prob(x), flow.log_prob(-x)) - math.log(2)
            xs.append(x.cpu().numpy())
            lws.append((ising_dual.dual_log_density(x, A_inv) - logq).cpu().numpy())
        return np.concatenate(xs), np.concatenate(lws)

    def log_partition(self, n: int = 100_000, seed: int = 0) -> tuple[float, float]:
        """(ln Z_Ising, its standard error) by importance sampling with the flow: ln Z_x = ln <pi/q>_q, plus the
        exact dual constant; the error is the delta-method std(w) / (sqrt(n) <w>)."""
        n = validation.positive_int(n, "n")
        _, lw = self._proposals(n, seed)
        w = np.exp(lw - lw.max())
        log_zx = float(np.log(w.mean()) + lw.max())
        err = float(w.std() / (math.sqrt(n) * w.mean())) if n > 1 else float("inf")
        return log_zx + self.dual_const, err

    def mis_chain(self, n_steps: int, n_chains: int = 1, seed: int = 0, burn_in: int = 100) -> dict:
        """Metropolized independence sampler on pi(x) with the flow as proposal, A = min(1, w(x') / w(x)) with
        w = pi / q (slides seed L2063-2085); at every step the spins are drawn from pi(s | x) of the current state,
        a Gibbs step of the joint p(s, x), so the spins sample the Ising model exactly.  Returns spins
        (n_chains, n_steps, L, L) int8, accepted (n_chains, n_steps) bool, energy (n_chains, n_steps)."""
        n_steps = validation.positive_int(n_steps, "n_steps")
        n_chains = validation.positive_int(n_chains, "n_chains")
        burn_in = validation.count(burn_in, "burn_in")
        T = burn_in + n_steps
        x, lw = self._proposals(n_chains * (T + 1), seed)
        x, lw = x.reshape(n_chains, T + 1, -1), lw.reshape(n_chains, T + 1)
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1]))
        log_u = np.log(rng.random((n_chains, T)))
        cur = np.zeros(n_chains, dtype=np.int64)  # index of the current state; chains start at proposal 0
        idx = np.empty((n_chains, T), dtype=np.int64)
        acc = np.empty((n_chains, T), dtype=bool)
        rows = np.arange(n_chains)
        for t in range(T):
            a = log_u[:, t] < lw[:, t + 1] - lw[rows, cur]
            cur = np.where(a, t + 1, cur)
            idx[:, t], acc[:, t] = cur, a
        states = x[rows[:, None], idx[:, burn_in:]]
        L = self.hparams.L
        spins = ising_dual.sample_spins_given_x(states, rng).reshape(n_chains, n_steps, L, L)
        E = ising_dual.flat_energy(spins.reshape(-1, L * L), L).reshape(n_chains, n_steps)
        return {"spins": spins, "accepted": acc[:, burn_in:], "energy": E}

    def sample_spins(self, n: int, mcmc: bool = True, seed: int = 0, n_chains: int = 1) -> torch.Tensor:
        """n Ising configurations (n, L, L) of +-1 (int8).  mcmc=True: the Metropolized independence sampler
        (exact in law, successive samples correlated); mcmc=False: s ~ pi(s | x) at flow samples x, without the
        Metropolis correction (biased by the flow's error)."""
        n = validation.positive_int(n, "n")
        L = self.hparams.L
        if mcmc:
            per = -(-n // validation.positive_int(n_chains, "n_chains"))
            out = self.mis_chain(per, n_chains, seed)["spins"].reshape(-1, L, L)[:n]
        else:
            x, _ = self._proposals(n, seed)
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), 2]))
            out = ising_dual.sample_spins_given_x(x, rng).reshape(n, L, L)
        return torch.from_numpy(np.ascontiguousarray(out))
