"""RBM wave functions and VMC (zoo.nqs): closed-form log-derivatives and the VMC gradient against autograd of the
exactly enumerated energy, local energies against the sparse Hamiltonian, the sampler's stationary distribution on a
4-site ring against |psi|^2 (and the hands-on's record-the-proposal bug failing the same check), training, an exact
resume, the seed stream, and bad input."""
import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch.func import functional_call, jacrev

from datamodules.nqs import VMCSeedDataModule, iteration_seed, stream_key
from datamodules.physics import heisenberg as hb
from zoo.nqs import ComplexRBMWavefunction, RBMWavefunction

CASES = [(RBMWavefunction, False, 0.0, True), (RBMWavefunction, True, 0.3, False),
         (ComplexRBMWavefunction, False, 0.3, True), (ComplexRBMWavefunction, True, 0.0, False)]


def _model(cls, symmetric=False, J2=0.0, marshall=True, N=6, **kw):
    extra = {"init_std_imag": 0.3} if cls is ComplexRBMWavefunction else {}
    return cls(n_sites=N, J2=J2, n_hidden=2 * N, symmetric=symmetric, marshall=marshall, init_std=0.3, seed=3,
               **extra, **kw)


def _exact_energy_autograd(m, params, x):
    """<psi|H|psi>/<psi|psi> by enumeration with the dense unrotated sector H, differentiable in params."""
    amp = torch.exp(functional_call(m.net, params, (x,)))
    if m.hparams.marshall:
        amp = amp * torch.as_tensor(hb.marshall_sign(x.numpy()), dtype=torch.float64)
    H = torch.as_tensor(hb.hamiltonian_sector(m.hparams.n_sites, m.hparams.J2).toarray()).to(amp.dtype)
    return (amp.conj() @ (H @ amp)).real / (amp.conj() @ amp).real


@pytest.mark.parametrize("cls,symmetric,J2,marshall", CASES)
def test_log_derivs_and_vmc_gradient_against_autograd(cls, symmetric, J2, marshall):
    m = _model(cls, symmetric, J2, marshall)
    x = m.sector_spins()
    params = {k: v.detach() for k, v in m.net.named_parameters()}
    names = {id(p): k for k, p in m.net.named_parameters()}
    order = [names[id(p)] for p in m.net.ordered_parameters()]

    def f(pr):
        out = functional_call(m.net, pr, (x,))
        return torch.view_as_real(out) if out.is_complex() else out

    jac = jacrev(f)(params)
    cols = []
    for k in order:
        j = jac[k].reshape(len(x), *((2,) if m.complex_weights else ()), -1)
        cols.append(torch.complex(j[:, 0], j[:, 1]) if m.complex_weights else j)
    assert torch.allclose(m.net.log_derivs(x), torch.cat(cols, 1), atol=1e-12)
    # the VMC gradient 2 Re[<E* O> - <E>*<O>] over the exact |psi|^2 weights = d<H>/dp by autograd
    w = torch.softmax(2 * m.log_amplitude(x), 0)
    grad, s = m.gradient(x, w)
    pr = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    E = _exact_energy_autograd(m, pr, x)
    E.backward()
    assert torch.allclose(grad, torch.cat([pr[k].grad.reshape(-1) for k in order]), atol=1e-11)
    assert s["Ebar"] == pytest.approx(float(E), abs=1e-12) == pytest.approx(m.energy(exact=True), abs=1e-12)


@pytest.mark.parametrize("cls,symmetric,J2,marshall", CASES)
def test_local_energy_is_H_psi_over_psi(cls, symmetric, J2, marshall):
    m = _model(cls, symmetric, J2, marshall)
    x = m.sector_spins()
    amp = m.psi(x).numpy()  # unrotated basis, sign included
    H = hb.hamiltonian_sector(6, J2)
    assert np.allclose(m.local_energy(x).numpy(), (H @ amp) / amp, atol=1e-11)
    # psi is unnormalized by default; normalized over the sector on request
    assert np.sum(np.abs(m.psi(x, normalized=True).numpy()) ** 2) == pytest.approx(1.0)


def test_real_rbm_is_real_and_marshall_rotation_of_psi():
    m = _model(RBMWavefunction)
    x = m.sector_spins()
    M = torch.as_tensor(hb.marshall_sign(x.numpy()), dtype=torch.float64)
    assert not m.psi(x).is_complex()
    assert torch.allclose(m.psi(x), M * torch.exp(m(x)))
    assert m.psi(x).min() < 0 < m.psi(x).max()  # the sign is in psi


def _histogram(samples: torch.Tensor, N: int) -> np.ndarray:
    st = hb.sector_states(N)
    return np.bincount(hb.sector_index(hb.spins_to_states(samples.numpy().astype(int)), st), minlength=len(st))


class _RecordsProposal(RBMWavefunction):
    """The hands-on's bug (spec Sec. 2.4): the chain moves correctly, but after each accept/reject step the
    PROPOSAL is appended to the samples instead of the current configuration."""

    @torch.no_grad()
    def sample_chains(self, x, n_per_chain, g, thermalize=None):
        x, _ = self.metropolis(x, thermalize * self.hparams.n_sites, g)
        rows, out = torch.arange(x.shape[0]), []
        for _ in range(n_per_chain):
            keys = torch.rand(x.shape, generator=g, dtype=torch.float64)
            up, down = torch.where(x > 0, keys, -1.0).argmax(1), torch.where(x < 0, keys, -1.0).argmax(1)
            prop = x.clone()
            prop[rows, up], prop[rows, down] = -1.0, 1.0
            acc = torch.rand(len(x), generator=g, dtype=torch.float64).log() < 2 * (
                self.log_amplitude(prop) - self.log_amplitude(x))
            x = torch.where(acc[:, None], prop, x)
            out.append(prop)
        return torch.stack(out), x, 0.0


@pytest.mark.parametrize("p_flip", [0.0, 0.3])
def test_sampler_detailed_balance_four_sites(p_flip):
    """Independent chains, one recorded sample each after thermalization: the histogram over the 6 states of the
    S^z = 0 sector of a 4-site ring matches |psi|^2 (chi-square), for exchange moves with and without global flips;
    the same check rejects a sampler that records the proposal."""
    from scipy.stats import chisquare

    N, C = 4, 6000
    m = RBMWavefunction(n_sites=N, n_hidden=4, init_std=0.8, seed=5, p_flip=p_flip)
    x = m.sector_spins()
    p = torch.softmax(2 * m.log_amplitude(x), 0).numpy()
    assert p.max() / p.min() > 3  # a far from uniform target
    g = torch.Generator().manual_seed(0)
    start = x[torch.randint(0, len(x), (C,), generator=g)]
    samples, _, _ = m.sample_chains(start, 1, g, thermalize=10)
    counts = _histogram(samples.reshape(-1, N), N)
    assert chisquare(counts, C * p).pvalue > 1e-3
    bad = _RecordsProposal(n_sites=N, n_hidden=4, init_std=0.8, seed=5)
    bad_samples, _, _ = bad.sample_chains(start, 1, g, thermalize=10)
    assert chisquare(_histogram(bad_samples.reshape(-1, N), N), C * p).pvalue < 1e-6


def test_sampled_energy_agrees_with_exact():
    m = _model(RBMWavefunction, J2=0.3, N=8)
    e, err = m.energy(n_samples=4096, seed=1)
    assert 0 < err < 0.05 and abs(e - m.energy(exact=True)) < 4 * err
    # seed None continues the model's own stream: two calls differ, and the state is in the state dict
    s0 = m.rng_state.clone()
    a, b = m.sample(64), m.sample(64)
    assert not torch.equal(a, b) and not torch.equal(s0, m.rng_state) and "rng_state" in m.state_dict()
    assert (a.sum(1) == 0).all()  # S^z = 0


def _trainer(tmp_path=None, **kw):
    kw = {"enable_checkpointing": False, **kw}
    return pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                      default_root_dir=tmp_path, **kw)


def test_exact_mode_training_reaches_ground_state():
    """mode='exact' (the test mode): SR steps over the enumerated sector drive the N = 6 RBM to E0."""
    m = RBMWavefunction(n_sites=6, n_hidden=12, mode="exact", sr=True, lr=0.1, init_std=0.1, seed=1)
    _trainer(max_epochs=2).fit(m, VMCSeedDataModule(n_sites=6, steps_per_epoch=50, progress=False))
    e0 = hb.ground_state(6)[0]
    assert int(m.iteration) == 100 and (m.energy(exact=True) - e0) / abs(e0) < 1e-4
    h = m.history()
    assert len(h["energy"]) == 100 and h["energy"][-1] < h["energy"][0] and (h["error"] == 0).all()


def test_mcmc_training_and_exact_resume(tmp_path):
    """VMC by sampling lowers the energy; a run resumed from the last.ckpt its ModelCheckpoint wrote (chains, RNG,
    history and the iteration counter in the state dict) ends bit-identical to an uninterrupted one."""
    from pytorch_lightning.callbacks import ModelCheckpoint

    kw = dict(n_sites=6, n_hidden=6, n_chains=16, samples_per_chain=4, sr=True, lr=0.1, init_std=0.1, seed=2)
    dm = lambda: VMCSeedDataModule(n_sites=6, steps_per_epoch=3, progress=False)  # noqa: E731
    a = RBMWavefunction(**kw)
    _trainer(max_epochs=3).fit(a, dm())
    ckpt = lambda: ModelCheckpoint(dirpath=tmp_path, filename="last", enable_version_counter=False)  # noqa: E731
    b = RBMWavefunction(**kw)
    _trainer(tmp_path, max_epochs=1, callbacks=[ckpt()], enable_checkpointing=True).fit(b, dm())
    c = RBMWavefunction(**kw)
    _trainer(tmp_path, max_epochs=3, callbacks=[ckpt()], enable_checkpointing=True).fit(
        c, dm(), ckpt_path=str(tmp_path / "last.ckpt"))
    sa, sc = a.state_dict(), c.state_dict()
    assert set(sa) == set(sc) and {"chains", "rng_state", "hist", "iteration"} <= set(sa)
    assert all(torch.equal(sa[k], sc[k]) for k in sa)
    assert int(a.iteration) == 9 and not torch.equal(a.chains, RBMWavefunction(**kw).chains)
    h = a.history()
    assert h["energy"][-1] < h["energy"][0] and (h["error"] > 0).all() and (h["acceptance"] > 0).all()


def test_seed_stream_is_a_pure_function_of_recipe_and_index():
    d1, d2 = VMCSeedDataModule(n_sites=8, seed=4, steps_per_epoch=5), VMCSeedDataModule(n_sites=8, seed=4,
                                                                                       steps_per_epoch=7)
    assert d1.iteration_seed(12) == d2.iteration_seed(12) == iteration_seed(stream_key(d1.key), 12)
    assert d1.iteration_seed(12) != d1.iteration_seed(13)
    assert VMCSeedDataModule(n_sites=8, seed=5).iteration_seed(12) != d1.iteration_seed(12)
    assert [int(k) for k in d1.train_dataloader()] == [stream_key(d1.key)] * 5


def test_bad_input():
    m = _model(RBMWavefunction)
    with pytest.raises(ValueError, match="spins"):
        m.psi(torch.ones(3, 5))
    with pytest.raises(ValueError, match="spins"):
        m.psi(torch.zeros(2, 6))
    with pytest.raises(ValueError, match="n_samples"):
        m.energy()
    with pytest.raises(ValueError, match="n_samples"):
        m.energy(n_samples=0)
    with pytest.raises(ValueError, match="mode"):
        RBMWavefunction(mode="exakt")
    with pytest.raises(ValueError, match="n_sites"):
        RBMWavefunction(n_sites=7)
    with pytest.raises(ValueError, match="n_hidden"):
        RBMWavefunction(n_sites=8, n_hidden=12, symmetric=True)
    with pytest.raises(ValueError, match="p_flip"):
        RBMWavefunction(p_flip=1.0)
    with pytest.raises(ValueError, match="init_std_imag"):
        ComplexRBMWavefunction(init_std_imag=-1.0)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        VMCSeedDataModule(steps_per_epoch=0)
