"""Normalizing flows (zoo/flows.py, zoo/flow_nets.py; Wang's Marburg 2018 lecture note Sec. 3.2.3, NeuralRG
arXiv:1802.02840): coupling log-determinants against torch.func.jacrev, invertibility, normalization of ln q, the
two training modes on tiny problems against exact references, the Metropolized independence sampler against
enumeration, and the DataModules' determinism."""
import math

import numpy as np
import pytest
import torch
from scipy import stats

from datamodules.flows import IsingDualSeeds, Ring2DDataModule
from datamodules.physics import ising_dual, ring2d
from zoo.flow_nets import CouplingFlow, alternating_masks, checkerboard_masks
from zoo.flows import IsingDualFlow, Ring2DFlow
from zoo.registry import get_model_class


def _perturbed(module, seed=0, scale=0.5):
    """Random non-trivial weights (default init leaves s near 0, which would hide a wrong log-det)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module.double()


@pytest.mark.parametrize("kind", ["affine", "additive"])
@pytest.mark.parametrize("dim,masks", [(2, alternating_masks(2, 3)), (9, checkerboard_masks(3, 3))])
def test_log_det_matches_jacrev_and_inverse_is_exact(kind, dim, masks):
    flow = _perturbed(CouplingFlow(masks, [7, 5], kind, tanh_scale="last"))
    z = torch.randn(4, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x, logdet = flow(z)
    for b in range(len(z)):
        J = torch.func.jacrev(lambda v: flow(v[None])[0][0])(z[b])
        assert torch.slogdet(J)[1].item() == pytest.approx(logdet[b].item(), abs=1e-10)
        Jl = torch.func.jacrev(lambda v: flow.layers[0](v[None])[0][0])(z[b])
        assert torch.slogdet(Jl)[1].item() == pytest.approx(flow.layers[0](z[b:b + 1])[1].item(), abs=1e-10)
    back, inv_logdet = flow.inverse(x)
    assert torch.allclose(back, z, atol=1e-12)
    assert torch.allclose(inv_logdet, -logdet, atol=1e-12)
    if kind == "additive":  # NICE is volume preserving (note Eq. 65)
        assert torch.allclose(logdet, torch.zeros_like(logdet))
    # a coupling leaves its conditioning half unchanged
    layer = flow.layers[0]
    y, _ = layer(z)
    assert torch.equal(y[:, layer.mask.bool()], z[:, layer.mask.bool()])


def test_log_prob_is_normalized_on_a_grid():
    """exp(ln q) of a random RealNVP integrates to 1 over the plane (midpoint rule; ln q includes -ln 2 pi)."""
    m = Ring2DFlow(hidden=[10])
    _perturbed(m.flow, seed=3, scale=0.3)
    m.flow.float()
    h = 0.04
    g = torch.arange(-8 + h / 2, 8, h)
    X, Y = torch.meshgrid(g, g, indexing="ij")
    with torch.no_grad():
        lq = m.log_prob(torch.stack([X.reshape(-1), Y.reshape(-1)], 1)).double()
    assert float(lq.exp().sum() * h * h) == pytest.approx(1.0, abs=2e-3)


def test_registry_and_variants():
    assert get_model_class("flows") is Ring2DFlow
    assert IsingDualFlow.registry_name == "flows"


def test_ring2d_likelihood_training_lowers_nll_towards_the_entropy():
    torch.manual_seed(0)
    m = Ring2DFlow(kind="affine", hidden=[16], lr=0.01, weight_decay=0.0)
    dm = Ring2DDataModule(batch_size=512, seed=0, progress=False)
    test = torch.from_numpy(ring2d.sample(20000, np.random.default_rng(7)).astype(np.float32))
    with torch.no_grad():
        before = float(-m.log_prob(test).mean())
    opt = m.configure_optimizers()
    for j in range(100):
        opt.zero_grad()
        loss = m.training_step(dm.batch(j), j)
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = float(-m.log_prob(test).mean())
    H = ring2d.entropy()
    assert after < before - 0.5 and after < 3.6
    assert after > H - 0.05  # the NLL of a normalized model cannot beat the entropy (up to sampling noise)
    assert len(m.history()["value"]) == 100 and not m.sample(10).isnan().any()


@pytest.fixture(scope="module")
def tiny_ising():
    """A flow on the 3 x 3 dual at T = 3, trained briefly by reverse KL."""
    torch.manual_seed(0)
    m = IsingDualFlow(L=3, T=3.0, batch_size=256, n_couplings=4, hidden=[32], lr=3e-3)
    dm = IsingDualSeeds(L=3, T=3.0, batch_size=256, seed=0, progress=False)
    opt = m.configure_optimizers()
    for j in range(300):  # 120 steps left heavy-tailed weights (a sticky chain: chi-square p ~ 2e-4)
        opt.zero_grad()
        m.training_step(dm.batch(j), j).backward()
        opt.step()
    return m.eval()


def test_variational_free_energy_bounds_and_importance_sampling(tiny_ising):
    m = tiny_ising
    exact = ising_dual.log_z_enumeration(3, 1 / 3.0)
    assert m.log_z_exact == pytest.approx(exact)
    # Gibbs-Bogoliubov: beta F_q = <ln q - ln pi>_q - C >= -ln Z on a large fresh batch
    _, lw = m._proposals(50_000, seed=11)
    F = float(-lw.mean()) - m.dual_const
    assert F > -exact - 3 * lw.std() / math.sqrt(len(lw))
    assert F + exact < 0.4  # 300 steps: 0.20 nats above (untrained: several nats)
    lnz, err = m.log_partition(50_000, seed=12)
    assert 0 < err < 0.02 and abs(lnz - exact) < 4 * err + 1e-4


def test_mis_spins_follow_the_exact_energy_distribution(tiny_ising):
    """The Metropolized independence sampler's energies against enumeration (chi-square with the sample size
    deflated by the measured autocorrelation time), and the uncorrected flow is farther off or equal."""
    m = tiny_ising
    r = m.mis_chain(4000, n_chains=4, seed=5)
    assert r["spins"].shape == (4, 4000, 3, 3) and set(np.unique(r["spins"])) <= {-1, 1}
    assert 0.2 < r["accepted"].mean() < 1.0
    levels, p = ising_dual.energy_distribution(3, 1 / 3.0)
    E = r["energy"]
    tau = ising_dual.integrated_autocorrelation_time(E)
    n_eff = E.size / (2 * tau)
    counts = np.array([(E == e).sum() for e in levels])
    assert counts.sum() == E.size
    chi2 = float((((counts / E.size - p) ** 2) / p).sum() * n_eff)
    assert stats.chi2.sf(chi2, len(levels) - 1) > 1e-3
    s = m.sample_spins(500, mcmc=False, seed=1)
    assert s.shape == (500, 3, 3) and s.dtype == torch.int8


def test_datamodules_are_pure_functions_of_recipe_and_index():
    a, b = Ring2DDataModule(batch_size=8, seed=1, progress=False), Ring2DDataModule(batch_size=8, seed=1, progress=False)
    assert torch.equal(a.batch(5), b.batch(5)) and not torch.equal(a.batch(5), a.batch(6))
    assert not torch.equal(a.batch(5), Ring2DDataModule(batch_size=8, seed=2, progress=False).batch(5))
    loader = a.train_dataloader()
    loader.sampler.set_epoch(2)
    first = next(iter(loader))
    assert torch.equal(first, a.batch(2 * a.steps_per_epoch))
    s = IsingDualSeeds(L=4, batch_size=16, seed=0, progress=False)
    assert s.batch(3).dtype == torch.int64 and int(s.batch(3)) == int(IsingDualSeeds(L=4, batch_size=16).batch(3))
    assert IsingDualSeeds.model_links == {"L": "L", "T": "T", "batch_size": "batch_size"}
    assert s.recipe() != IsingDualSeeds(L=4, T=3.0, batch_size=16).recipe()


def test_bad_input_is_a_value_error_naming_the_argument():
    with pytest.raises(ValueError, match="kind"):
        Ring2DFlow(kind="spline")
    with pytest.raises(ValueError, match="hidden"):
        Ring2DFlow(hidden=[0])
    with pytest.raises(ValueError, match="L"):
        IsingDualFlow(L=2)
    with pytest.raises(ValueError, match="x"):
        Ring2DFlow().log_prob(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="x"):
        IsingDualFlow(L=3).log_prob(torch.zeros(3, 16))
    with pytest.raises(ValueError, match="n"):
        IsingDualFlow(L=3).log_partition(0)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        Ring2DDataModule(steps_per_epoch=0)
    with pytest.raises(ValueError, match="L"):
        IsingDualSeeds(L=2)
