"""Published particle GANs: load by name (checksum verified), expose `particles`, and re-measure the card's metrics."""
import math

import numpy as np
import pytest
import torch

import zoo
from zoo.evaluation import measure
from zoo.hub import class_path
from zoo.ntk_gan import ParticleGAN


def _metric(metrics, name):
    return next(m["value"] for m in metrics if m["name"] == name)


def test_trivial_ntk_converges_to_all_eight_modes():
    m = zoo.load_pretrained("ntk_gan/8gauss-trivial")
    assert m.particles.shape == (2000, 2) and not m.training
    assert m.g1 == 2000 and m.g2 == 0
    assert m.card["paper"] and m.card["config"] == "configs/ntk_gan/8gauss-trivial.yaml"
    assert type(m) is ParticleGAN and m.card["class_path"] == class_path(ParticleGAN) == "zoo.ntk_gan.ParticleGAN"
    metrics = measure(m, {"seed": 0, "radius": 2.0, "std": 0.02}, seed=4242)
    assert _metric(metrics, "mc") <= 0.05  # our target
    counts = [_metric(metrics, f"count_mode_{k}") for k in range(8)]
    assert sum(counts) == 2000 and all(abs(c - 250) <= 7 for c in counts)  # paper: 243-255 (thesis L1210)
    # the paper's "average distance of 0.02" (Sec. 2.3.1, thesis L1212), below the 0.02 sqrt(pi/2) = 0.0251 that a
    # perfect sample of the target itself has (checked here on fresh samples): the clumps are tighter than the modes
    from datamodules.gaussians import nearest_mode, sample_ring

    target = torch.as_tensor(sample_ring(20000, np.random.default_rng(4242), 8, 2.0, 0.02))
    floor = float(nearest_mode(target, m.modes)[1].mean())
    assert floor == pytest.approx(0.02 * math.sqrt(math.pi / 2), rel=0.02)
    assert _metric(metrics, "mean_nearest_distance") <= 0.02 < floor
    assert _metric(metrics, "energy_distance") < 0.02  # against fresh target samples
    assert _metric(metrics, "mc") == pytest.approx(m.card["metrics"][0]["value"], abs=1e-9)


def test_card_paper_numbers():
    card = zoo.get_card("ntk_gan/8gauss-trivial")
    paper = {p["metric"]: p for p in card["paper"]}
    # MC of the paper's counts 243/255/250/249/249/251/251/252 (Durr thesis Sec. 2.3.1, thesis L1210)
    P = torch.tensor([243, 255, 250, 249, 249, 251, 251, 252], dtype=torch.float64) / 2000
    assert paper["mc"]["value"] == pytest.approx(math.log(8) + float((P * P.log()).sum()))


def test_r02_ntk_does_not_converge_and_hops():
    m = zoo.load_pretrained("ntk_gan/8gauss-r0.2")
    assert m.particles.shape == (2000, 2)
    assert m.g2 / m.g1 == pytest.approx(0.2)
    assert type(m) is ParticleGAN and m.card["class_path"] == "zoo.ntk_gan.ParticleGAN"
    metrics = measure(m, {"seed": 0, "radius": 2.0, "std": 0.02}, seed=4242)
    # no convergence: the cloud is far from the modes and from the target distribution
    assert _metric(metrics, "mean_nearest_distance") > 0.5
    assert _metric(metrics, "energy_distance") > 0.3
    # the concentrated cloud changes its nearest mode many times (Figs. 2.12-2.13: mode hopping)
    assert _metric(metrics, "mode_hops") >= 10
    # our target "MC stays above 1 over the run" is NOT met (the rigid std-0.5 blob straddles modes): see the report


SWEEPS = ["ntk_gan/sweep-relu", "ntk_gan/sweep-tanh", "ntk_gan/sweep-fourier-pow", "ntk_gan/sweep-fourier-exp"]


@pytest.mark.parametrize("name", SWEEPS)
def test_sweep_table_loads_and_its_boundary_fit_reproduces_the_card(name):
    """A published phase-diagram table: shapes agree with its settings, and refitting the boundary from the
    stored MC table gives the card's slope (the card is derived from the table, not typed in)."""
    from zoo.hub import PublishedTable
    from zoo.ntk_gan_sweep import fit_boundary, log_spaced

    if name not in zoo.list_pretrained("ntk_gan"):
        pytest.fail(f"{name} is not published (checkpoints/ntk_gan/)")
    t = zoo.load_pretrained(name)
    assert isinstance(t, PublishedTable) and t.card["kind"] == "table"
    mc, ratios, nd = t["mc"].numpy(), t["ratios"].numpy(), t["n_discs"].numpy()
    assert mc.shape == (len(nd), len(ratios)) and np.all((mc >= -1e-6) | np.isnan(mc)) and np.nanmax(mc) <= np.log(8) + 1e-6
    fit = fit_boundary(ratios, nd, mc, log_r=log_spaced(name.removeprefix("ntk_gan/sweep-")))
    card = {m["name"]: m["value"] for m in t.card["metrics"]}
    assert fit["n_points"] == card["slices_with_a_transition"]
    assert fit["slope"] == pytest.approx(card["boundary_slope"], rel=1e-6)


# the thesis's slopes (App. 2.7.2, Figs. 2.21-2.22 captions; thesis L1572, L1577), read from the cards' `paper`
FOURIER = ["ntk_gan/sweep-fourier-pow", "ntk_gan/sweep-fourier-exp"]


@pytest.mark.parametrize("name", FOURIER)
def test_fourier_sweep_card_claims_and_its_transition_reruns(name):
    """Issue 17's Fourier-critic claims: the card's slope +- standard error is its own table's, within 2 standard
    errors of the thesis's slope, and the table is what the code computes: the two cells around the half-way point
    of the cheapest slice with a transition, re-run from the card's settings, give the stored MC (one snapshot
    after the last step, the thesis's order parameter) on both sides of the transition."""
    from zoo.evaluation.ntk_gan import slope_variants
    from zoo.ntk_gan_sweep import log_spaced, run_ensemble

    t = zoo.load_pretrained(name)
    st, card = t.card["settings"], {m["name"]: m["value"] for m in t.card["metrics"]}
    paper = next(p["value"] for p in t.card["paper"] if p["metric"] == "boundary_slope")
    mc, ratios, nd = t["mc"].numpy(), t["ratios"].numpy(), t["n_discs"].numpy()
    assert st["order_param"] == "final" and np.array_equal(mc, t["mc_final"].numpy(), equal_nan=True)
    v = slope_variants(ratios, nd, mc, log_spaced(st["critic"]))
    assert v["slope"] == pytest.approx(card["boundary_slope"], rel=1e-6)
    assert v["slope_se"] == pytest.approx(card["boundary_slope_se"], rel=1e-6) and 0 < v["slope_se"]
    assert abs(card["boundary_slope"] - paper) <= 2 * card["boundary_slope_se"]
    i = int(np.flatnonzero(np.isfinite(v["r_star"]))[0])  # the smallest n_disc with a transition: cheapest to rerun
    j = int(np.searchsorted(ratios, v["r_star"][i]))  # ratios[j - 1] < r* <= ratios[j]
    kw = {k: st[k] for k in ("n_particles", "width", "lr_d", "lr_g", "l2", "seed", "init_std", "ntk_norm")}
    # both cells as one batched ensemble (the same runs as the sweep's one by one, up to the order of the batched
    # sums; ~1.5x one run's cost): pow n_disc 1 x 3000 steps, exp n_disc 4 x 2000 steps
    got = run_ensemble(ratios[[j - 1, j]], int(nd[i]), st["steps"], critic=st["critic"], avg_frac=0.0, **kw)["mc"]
    np.testing.assert_allclose(got, mc[i, [j - 1, j]], atol=0.02, err_msg=f"n_disc {nd[i]}, r {ratios[[j - 1, j]]}")
    assert got[0] < np.log(8) / 2 < got[1]  # they straddle the transition (MC half-way to total collapse)
