"""Neural-network quantum states: an RBM wave function optimized by variational Monte Carlo (Carleo & Troyer,
Science 355, 602 (2017), arXiv:1606.02318; the hands-on of L. Wang's lecture, Liu, Li & Wang, "Deep Learning and
Quantum Many-Body Computation", Marburg 2018, Sec. 5.5, Eq. 66, Fig. 7; spec-wang-lecture.md Secs. 1.9, 2.4).

System: the periodic chain H = sum_i S_i.S_{i+1} + J2 sum_i S_i.S_{i+2} (datamodules.physics.heisenberg), in the
S^z = 0 sector.  With `marshall=True` the network represents psi_rot(s) = M(s) psi(s), M the Marshall sign, so the
J2 = 0 ground state is positive there (the lecture's rotated basis); `psi(spins)` always returns the amplitude in the
UNROTATED sigma^z basis, sign included.

VMC (lecture Fig. 7): sample s ~ |psi|^2 with Metropolis chains; E_loc(s) = sum_s' H_ss' psi(s')/psi(s), all
connected s' of a batch in one vectorized forward pass; O_k(s) = d log psi(s)/d p_k in closed form (zoo.nqs_nets).
Gradient, factor convention: for real parameters p_k,

    dE/dp_k = 2 Re[ <E_loc* O_k> - <E_loc>* <O_k> ]

which for a real psi is TWICE the lecture's Eq. 66 (<E_loc Delta> - <E_loc><Delta>; the note absorbs the 2 into
eta).  We write the exact gradient into .grad, so plain SGD at lr eta here equals the lecture's update at 2 eta.
With `sr=True` (stochastic reconfiguration, Sorella; Carleo & Troyer, Supplementary Materials) .grad holds instead
(S + shift I)^-1 F with S_kl = Re<dO_k* dO_l>, F_k = Re<dO_k* dE> (no factor 2: one imaginary-time step of length eta).

Sampler: the move exchanges one random up spin with one random down spin (conserves S^z), or with probability
`p_flip` flips every spin (the hands-on's 0.05); accept with min(1, |psi'|^2/|psi|^2).  After the accept/reject
step the chain's CURRENT configuration is recorded, not the proposal (the hands-on's `vmc_sample` appended the
proposal, a bias; spec Sec. 2.4).  The chains persist across iterations in the `chains` buffer; iteration j's
moves are drawn from datamodules.nqs.iteration_seed(stream key, j), j the `iteration` buffer.  `mode="exact"` replaces the samples by the whole S^z = 0
sector weighted by |psi|^2 (a test mode for small N: the same gradient without noise).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from datamodules import validation
from datamodules.nqs import iteration_seed
from datamodules.physics import heisenberg as hb

from .base import ZooTask, build_optimizer
from .nqs_nets import RBMNet
from .registry import register_model

MODES = ("mcmc", "exact")


def local_energy(log_psi, x: torch.Tensor, pairs: torch.Tensor, J: torch.Tensor, off_sign: torch.Tensor,
                 lp: torch.Tensor | None = None) -> torch.Tensor:
    """E_loc(x) = sum_x' H_xx' psi(x')/psi(x) for x (B, N), every bond at once.

    Diagonal: sum_b J_b s_i s_j / 4; an anti-aligned bond b = (i, j) connects x' = x with s_i, s_j flipped, with
    element off_sign_b J_b / 2 (off_sign -1 for a nearest-neighbour bond in the Marshall-rotated basis)."""
    si, sj = x[:, pairs[:, 0]], x[:, pairs[:, 1]]
    diag = 0.25 * (J * si * sj).sum(1)
    flip = torch.ones(len(pairs), x.shape[1], dtype=x.dtype, device=x.device)
    flip[torch.arange(len(pairs)), pairs[:, 0]] = -1
    flip[torch.arange(len(pairs)), pairs[:, 1]] = -1
    rows, bond = torch.nonzero(si != sj, as_tuple=True)  # only anti-aligned bonds connect (half of them, S^z = 0)
    lp = log_psi(x) if lp is None else lp
    ratio = torch.exp(log_psi(x[rows] * flip[bond]) - lp[rows])
    off = torch.zeros(x.shape[0], dtype=ratio.dtype, device=x.device)
    off.index_add_(0, rows, 0.5 * (J * off_sign)[bond].to(ratio.dtype) * ratio)
    return diag + off


@register_model("nqs")
class RBMWavefunction(ZooTask):
    """A real RBM wave function trained by VMC (the lecture's hands-on, spec Sec. 2.4).

    Args:
        n_sites, J2: the periodic J1-J2 chain (J1 = 1), linked from the DataModule.
        n_hidden: M hidden units (hands-on: 16 for N = 8); symmetric: translation-invariant filters (M / N of them).
        marshall: represent the Marshall-rotated psi (hands-on: yes).
        mode: 'mcmc' (VMC) or 'exact' (enumerate the S^z = 0 sector; small N only).
        n_chains, samples_per_chain: Metropolis chains and samples recorded per chain per iteration.
        sweeps_between: sweeps (N moves each) between recorded samples; thermalize_sweeps: sweeps before the first
            one in every iteration (the chains carry over, so this re-equilibrates after a parameter step).
        p_flip: probability of a global spin flip move (hands-on 0.05).
        optimizer, lr, optimizer_args: any torch.optim class by name (hands-on: SGD, lr 0.1 on Eq. 66).
        sr, sr_shift: stochastic reconfiguration and its diagonal shift.
        init_std: the initial weights' scale (hands-on 0.1); seed: initialization and chains.
        history_size: iterations kept in the energy trace (halved in resolution when full).
    """

    complex_weights = False

    def __init__(self, n_sites: int = 8, J2: float = 0.0, n_hidden: int = 16, symmetric: bool = False,
                 marshall: bool = True, mode: str = "mcmc", n_chains: int = 256, samples_per_chain: int = 4,
                 sweeps_between: int = 1, thermalize_sweeps: int = 2, p_flip: float = 0.05, optimizer: str = "sgd",
                 lr: float = 0.05, optimizer_args: dict | None = None, sr: bool = False, sr_shift: float = 1e-3,
                 init_std: float = 0.01, seed: int = 0, history_size: int = 4096):
        hb.check_sites(n_sites)
        hb._check_couplings(1.0, J2)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
        for name in ("n_hidden", "n_chains", "samples_per_chain", "sweeps_between"):
            validation.positive_int(locals()[name], name)
        validation.count(thermalize_sweeps, "thermalize_sweeps")
        if not 0 <= p_flip < 1:
            raise ValueError(f"p_flip must be in [0, 1); got {p_flip}")
        if not (lr > 0 and sr_shift >= 0 and init_std >= 0):
            raise ValueError(f"need lr > 0, sr_shift >= 0, init_std >= 0; got {lr}, {sr_shift}, {init_std}")
        if history_size < 4:
            raise ValueError(f"history_size must be >= 4; got {history_size}")
        super().__init__()
        self.automatic_optimization = False  # the gradient (or the SR direction) is written into .grad by hand

    # -- structure ------------------------------------------------------------------------------
    def configure_models(self) -> None:
        hp = self.hparams
        N = hp.n_sites
        self.net = RBMNet(N, hp.n_hidden, hp.symmetric, self.complex_weights, hp.init_std, hp.get("init_std_imag", 0.0),
                          hp.seed)
        pairs, J = hb.bonds(N, hp.J2)
        self.register_buffer("pairs", torch.as_tensor(pairs), persistent=False)
        self.register_buffer("J", torch.as_tensor(J), persistent=False)
        # H_rot = M H M: a bond between the sublattices (i + j odd) changes the sign of its exchange
        odd = torch.as_tensor((pairs.sum(1) % 2 == 1) & hp.marshall)
        self.register_buffer("off_sign", torch.where(odd, -1.0, 1.0).double(), persistent=False)
        # the chains: random S^z = 0 configurations; the RNG state of `sample`/`energy` outside training
        g = torch.Generator().manual_seed(hp.seed + 1)
        base = torch.tensor([1.0, -1.0], dtype=torch.float64).repeat(N // 2)
        chains = torch.stack([base[torch.randperm(N, generator=g)] for _ in range(hp.n_chains)])
        self.register_buffer("chains", chains)
        self.register_buffer("rng_state", g.get_state())
        self.register_buffer("iteration", torch.zeros((), dtype=torch.long))
        H = hp.history_size
        self.register_buffer("hist_len", torch.zeros((), dtype=torch.long))
        self.register_buffer("hist_every", torch.ones((), dtype=torch.long))
        self.register_buffer("hist", torch.zeros(H, 5, dtype=torch.float64))  # iteration, E, error, var, acceptance

    def configure_optimizers(self):
        hp = self.hparams
        return build_optimizer(self.net.parameters(), hp.optimizer, hp.lr, **(hp.get("optimizer_args") or {}))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """log psi(x) of the network (the rotated amplitude when marshall=True), x (B, N) of +-1."""
        return self.net(x)

    def _spins(self, spins, name: str = "spins") -> torch.Tensor:
        x = torch.as_tensor(spins)
        if x.ndim != 2 or x.shape[1] != self.hparams.n_sites:
            raise ValueError(f"{name} must have shape (B, {self.hparams.n_sites}); got {tuple(x.shape)}")
        if not bool(((x == 1) | (x == -1)).all()):
            raise ValueError(f"{name} must hold only +1 and -1")
        return x.to(torch.float64)

    @torch.no_grad()
    def log_amplitude(self, x: torch.Tensor) -> torch.Tensor:
        """Re log psi = log |psi| (all |psi|^2 sampling needs), without gradients."""
        return self.net.log_abs(x)

    def sector_spins(self) -> torch.Tensor:
        return torch.as_tensor(hb.states_to_spins(hb.sector_states(self.hparams.n_sites), self.hparams.n_sites),
                               dtype=torch.float64)

    # -- physics --------------------------------------------------------------------------------
    @torch.no_grad()
    def psi(self, spins, normalized: bool = False) -> torch.Tensor:
        """Amplitudes in the UNROTATED sigma^z basis of H, sign (or phase) included, for spins (B, N) of +-1:
        real for the real RBM, complex for complex weights.  Unnormalized unless `normalized=True` (then
        sum over the S^z = 0 sector of |psi|^2 = 1; the ansatz lives in that sector)."""
        x = self._spins(spins)
        lp = self.net(x)
        if normalized:
            lp = lp - self._log_norm()
        return self._unrotate(torch.exp(lp), x)

    def _unrotate(self, amp: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.hparams.marshall:
            amp = amp * torch.as_tensor(hb.marshall_sign(x.numpy()), dtype=torch.float64)
        return amp

    def _log_norm(self, lp_sector: torch.Tensor | None = None) -> torch.Tensor:
        """1/2 log sum over the S^z = 0 sector of |psi|^2."""
        if lp_sector is None:
            return 0.5 * torch.logsumexp(2 * self.log_amplitude(self.sector_spins()), 0)
        return 0.5 * torch.logsumexp(2 * (lp_sector.real if lp_sector.is_complex() else lp_sector), 0)

    @torch.no_grad()
    def sector_psi(self) -> torch.Tensor:
        """Normalized amplitudes over `hb.sector_states(n_sites)` in the unrotated basis (one pass over the sector)."""
        x = self.sector_spins()
        lp = self.net(x)
        return self._unrotate(torch.exp(lp - self._log_norm(lp)), x)

    @torch.no_grad()
    def local_energy(self, x: torch.Tensor) -> torch.Tensor:
        """E_loc(x) for configurations x (B, N) of +-1 (real, or complex for complex weights)."""
        return local_energy(self.net, x, self.pairs, self.J, self.off_sign)

    @torch.no_grad()
    def metropolis(self, x: torch.Tensor, n_moves: int, g: torch.Generator) -> tuple[torch.Tensor, float]:
        """n_moves exchange / global-flip moves on every chain of x (C, N); returns the chains' CURRENT
        configurations and the acceptance rate."""
        C = x.shape[0]
        rows = torch.arange(C)
        A = self.log_amplitude(x)
        accepted = 0
        for _ in range(n_moves):
            keys = torch.rand(x.shape, generator=g, dtype=torch.float64)
            up = torch.where(x > 0, keys, -1.0).argmax(1)    # a uniformly random up spin
            down = torch.where(x < 0, keys, -1.0).argmax(1)  # and a down spin
            prop = x.clone()
            prop[rows, up], prop[rows, down] = -1.0, 1.0
            flip = torch.rand(C, generator=g, dtype=torch.float64) < self.hparams.p_flip
            prop = torch.where(flip[:, None], -x, prop)
            A_new = self.log_amplitude(prop)
            acc = torch.rand(C, generator=g, dtype=torch.float64).log() < 2 * (A_new - A)
            x = torch.where(acc[:, None], prop, x)  # keep the current configuration where rejected
            A = torch.where(acc, A_new, A)
            accepted += int(acc.sum())
        return x, accepted / max(1, C * n_moves)

    @torch.no_grad()
    def sample_chains(self, x: torch.Tensor, n_per_chain: int, g: torch.Generator, thermalize: int | None = None):
        """(samples (n_per_chain, C, N), final chains, acceptance) from chains x, recording each chain's current
        configuration every `sweeps_between` sweeps after `thermalize` sweeps."""
        hp, N = self.hparams, self.hparams.n_sites
        therm = hp.thermalize_sweeps if thermalize is None else thermalize
        x, acc0 = self.metropolis(x, therm * N, g) if therm else (x, 0.0)
        out, accs = [], []
        for _ in range(n_per_chain):
            x, a = self.metropolis(x, hp.sweeps_between * N, g)
            out.append(x)
            accs.append(a)
        return torch.stack(out), x, float(np.mean(accs)) if accs else acc0

    @torch.no_grad()
    def _statistics(self, x: torch.Tensor, w: torch.Tensor) -> dict:
        """Energy, the gradient pieces and the SR matrix from configurations x (B, N) with weights w (sum 1)."""
        lp = self.net(x)
        E = local_energy(self.net, x, self.pairs, self.J, self.off_sign, lp=lp)
        O = self.net.log_derivs(x)
        Ebar = (w * E).sum()
        dE = E - Ebar
        dO = O - (w[:, None] * O).sum(0)
        F = (w[:, None] * dO.conj() * dE[:, None]).sum(0)
        F = F.real if F.is_complex() else F
        return {"E": E, "Ebar": float(Ebar.real), "var": float((w * dE.abs() ** 2).sum()), "F": F, "dO": dO}

    def gradient(self, x: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """The exact-gradient vector dE/dp = 2 F (see the module docstring) and the statistics."""
        s = self._statistics(x, w)
        return 2 * s["F"], s

    def sr_direction(self, s: dict, w: torch.Tensor) -> torch.Tensor:
        dO = s["dO"]
        S = (w[:, None] * dO).conj().T @ dO
        S = S.real if S.is_complex() else S
        S = S + self.hparams.sr_shift * torch.eye(len(S), dtype=S.dtype)
        return torch.linalg.solve(S, s["F"])

    # -- training -------------------------------------------------------------------------------
    def _batch_for_step(self, seed: int) -> tuple[torch.Tensor, torch.Tensor, float, float]:
        """(x, w, error of the energy, acceptance) for one iteration whose moves are drawn from `seed`."""
        hp = self.hparams
        if hp.mode == "exact":
            x = self.sector_spins()
            with torch.no_grad():
                A = self.log_amplitude(x)
            w = torch.softmax(2 * A, 0)
            return x, w, 0.0, 1.0
        g = torch.Generator().manual_seed(seed)
        samples, self.chains, acc = self.sample_chains(self.chains, hp.samples_per_chain, g)
        x = samples.reshape(-1, hp.n_sites)
        return x, torch.full((len(x),), 1.0 / len(x), dtype=torch.float64), 0.0, acc

    def vmc_step(self, seed: int, opt: torch.optim.Optimizer) -> dict:
        """One VMC iteration: sample (or enumerate), E_loc, the gradient (or the SR direction) into .grad, one
        optimizer step; returns {'energy', 'error', 'variance', 'acceptance', 'grad_norm'}."""
        hp = self.hparams
        x, w, _, acc = self._batch_for_step(seed)
        with torch.no_grad():
            grad, s = self.gradient(x, w)
            step = self.sr_direction(s, w) if hp.sr else grad
        if not torch.isfinite(step).all():
            raise FloatingPointError(f"VMC update is not finite at iteration {int(self.iteration)} "
                                     "(lower lr or raise sr_shift)")
        opt.zero_grad()
        i = 0
        for p in self.net.ordered_parameters():
            p.grad = step[i:i + p.numel()].view_as(p).to(p.dtype).clone()
            i += p.numel()
        opt.step()
        err = 0.0
        if hp.mode == "mcmc":  # independent chains: the error of the mean from the spread of the chain means
            chain_means = s["E"].real.view(hp.samples_per_chain, hp.n_chains).mean(0)
            err = float(chain_means.std() / math.sqrt(hp.n_chains))
        self.iteration += 1
        out = {"energy": s["Ebar"], "error": err, "variance": s["var"], "acceptance": acc,
               "grad_norm": float(grad.norm())}
        self._record([float(self.iteration), out["energy"], err, out["variance"], acc])
        return out

    def on_fit_start(self) -> None:
        # .grad is written by hand, so DDP's backward hooks never average it: ranks would train apart
        if self.trainer.world_size > 1:
            raise ValueError("strategy: VMC here runs in one process (the gradient is set by hand, not all-reduced); "
                             f"got world_size {self.trainer.world_size}")

    def training_step(self, batch, batch_idx):
        # batch = the stream key; the seed is a function of (key, this model's iteration counter): resume-exact
        out = self.vmc_step(iteration_seed(int(batch), int(self.iteration)), self.optimizers())
        self.log("train/energy", out["energy"], prog_bar=True, on_step=True, on_epoch=False)
        for k in ("error", "variance", "acceptance", "grad_norm"):
            self.log(f"train/{'energy_error' if k == 'error' else k}", out[k], on_step=True, on_epoch=False)

    @torch.no_grad()
    def _record(self, row: list[float]) -> None:
        step = int(self.iteration)
        if step % int(self.hist_every):
            return
        n, H = int(self.hist_len), self.hparams.history_size
        if n == H:  # full: keep every other entry, record half as often from now on
            self.hist[: H // 2] = self.hist[1::2][: H // 2].clone()
            n = H // 2
            self.hist_every *= 2
            self.hist_len.fill_(n)
            if step % int(self.hist_every):
                return
        self.hist[n] = torch.tensor(row, dtype=torch.float64)
        self.hist_len.fill_(n + 1)

    def history(self) -> dict:
        """The energy trace: iteration, energy, its error (0 in exact mode), E_loc variance, acceptance."""
        h = self.hist[: int(self.hist_len)].cpu().numpy()
        return {k: h[:, i] for i, k in enumerate(("iteration", "energy", "error", "variance", "acceptance"))}

    # -- domain API -----------------------------------------------------------------------------
    @torch.no_grad()
    def energy(self, exact: bool = False, n_samples: int | None = None, seed: int | None = None,
               n_chains: int = 64, thermalize: int = 50):
        """The variational energy.  exact=True: <psi|H|psi>/<psi|psi> over the S^z = 0 sector with the sparse H of
        datamodules.physics.heisenberg (the unrotated H and `psi`: an independent path from the local energies);
        returns a float.  n_samples: a fresh Metropolis estimate from `n_chains` independent chains (each
        thermalized for `thermalize` sweeps), returns (mean, error of the mean from the spread of chain means).
        seed None continues the model's own RNG stream (kept in its state)."""
        if exact:
            N = self.hparams.n_sites
            return hb.energy_of(self.sector_psi().numpy(), N, self.hparams.J2)
        if n_samples is None:
            raise ValueError("n_samples: give a number of samples, or exact=True")
        n_samples = validation.positive_int(n_samples, "n_samples")
        n_chains = validation.positive_int(n_chains, "n_chains")
        x = self.sample(n_samples, seed=seed, n_chains=n_chains, thermalize=thermalize).view(-1, n_chains,
                                                                                            self.hparams.n_sites)
        E = self.local_energy(x.reshape(-1, self.hparams.n_sites)).real.view(x.shape[0], n_chains)
        means = E.mean(0)
        return float(E.mean()), float(means.std() / math.sqrt(n_chains))

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, n_chains: int = 64, thermalize: int = 50) -> torch.Tensor:
        """(ceil(n / n_chains) * n_chains, N) configurations ~ |psi|^2 in the S^z = 0 sector (rows ordered sample by
        sample, chain by chain), from fresh random chains."""
        n = validation.positive_int(n, "n")
        n_chains = validation.positive_int(n_chains, "n_chains")
        g = torch.Generator()
        if seed is None:
            g.set_state(self.rng_state)
        else:
            g.manual_seed(int(seed))
        N = self.hparams.n_sites
        base = torch.tensor([1.0, -1.0], dtype=torch.float64).repeat(N // 2)
        x = torch.stack([base[torch.randperm(N, generator=g)] for _ in range(n_chains)])
        samples, _, _ = self.sample_chains(x, -(-n // n_chains), g, thermalize=thermalize)
        if seed is None:
            self.rng_state.copy_(g.get_state())
        return samples.reshape(-1, N)


@register_model("nqs", variant=True)
class ComplexRBMWavefunction(RBMWavefunction):
    """The RBM with complex parameters (Carleo & Troyer's ansatz): log psi = A + i Phi carries a phase, so the
    network can follow a sign structure the Marshall rotation does not remove (the J1-J2 chain, spec Sec. 2.4: "a
    real positive RBM cannot represent it").  The base class's arguments, and init_std_imag: the scale of the
    imaginary parts at initialization (b', W' ~ init_std_imag N(0, 1), a' = 0)."""

    complex_weights = True

    # the full signature (not **kwargs): LightningCLI links n_sites and J2 from the DataModule only into named
    # arguments
    def __init__(self, n_sites: int = 8, J2: float = 0.0, n_hidden: int = 16, symmetric: bool = False,
                 marshall: bool = True, mode: str = "mcmc", n_chains: int = 256, samples_per_chain: int = 4,
                 sweeps_between: int = 1, thermalize_sweeps: int = 2, p_flip: float = 0.05, optimizer: str = "sgd",
                 lr: float = 0.05, optimizer_args: dict | None = None, sr: bool = False, sr_shift: float = 1e-3,
                 init_std: float = 0.01, init_std_imag: float = 0.01, seed: int = 0, history_size: int = 4096):
        if not init_std_imag >= 0:
            raise ValueError(f"init_std_imag must be >= 0; got {init_std_imag}")
        super().__init__(n_sites, J2, n_hidden, symmetric, marshall, mode, n_chains, samples_per_chain,
                         sweeps_between, thermalize_sweeps, p_flip, optimizer, lr, optimizer_args, sr, sr_shift,
                         init_std, seed, history_size)
