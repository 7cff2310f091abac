"""Fine-tuning on thermal samples (zoo.ising_cnn_thermal; PRE 97, 032119, Sec. IV, Fig. 10): the published screened
Coulomb network puts the antiferromagnet's ground state (the checkerboard) 10.8 J too high because random training
spins never reach it; a few rounds of its own cold chains, labelled exactly, must move it onto the exact energy
without losing the random-set accuracy (measured: 10.8 -> 3.1 J with this tiny budget; the
full recipe, benchmarks/reproduce_ising_cnn_long_range_mc.py, gets it far closer)."""
import functools

import numpy as np
import pytest
import torch

import zoo
from datamodules.physics import ising, long_range
from zoo.ising_cnn_thermal import fine_tune_on_thermal_samples

EXACT = functools.partial(long_range.energy, k=0.5, r_cut=64.0)  # the card's Hamiltonian


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return zoo.load_pretrained("ising_cnn/8x8-screened-coulomb")


def test_fine_tuning_corrects_the_ground_state(model):
    cb = long_range.checkerboard(8)
    rand = ising.random_configs(1000, 8, seed=11)
    err_cb = lambda: float(np.abs(model.predict_energy(cb).numpy() - EXACT(cb)).max())  # noqa: E731
    err_rand = lambda: float(np.median(np.abs(model.predict_energy(rand).numpy() - EXACT(rand))))  # noqa: E731
    before_cb, before_rand = err_cb(), err_rand()
    assert before_cb > 5  # the published network's miss this routine exists for
    hist = fine_tune_on_thermal_samples(model, EXACT, [0.2, 0.4], rounds=2, epochs=8, n_chains=2, n_equil=5,
                                        n_samples=10, keep_every=2, seed=0, progress=False)
    assert [h["n_thermal"] for h in hist] == [20, 40]  # 2 T x 2 chains x 5 kept records per round
    assert set(hist[0]) >= {"T", "e", "m", "ms", "ms_err"}
    assert err_cb() < 0.5 * before_cb, (before_cb, err_cb())
    assert err_rand() < 2.5 * before_rand, (before_rand, err_rand())
    assert not model.training


def test_flip_weight_fits_energy_differences():
    """The flip term is in the loss: with it, the energy change of single flips away from thermal configurations
    (what Metropolis accepts by) comes out closer to the exact one than without it, at the same budget."""
    x = np.repeat(long_range.checkerboard(8), 20, 0)  # cold configurations, where the published network is worst
    rng = np.random.default_rng(3)
    site = rng.integers(0, 64, len(x))
    xf = x.copy()
    xf[np.arange(len(x)), site // 8, site % 8] *= -1
    errs = {}
    for w in (0.0, 100.0):
        m = zoo.load_pretrained("ising_cnn/8x8-screened-coulomb")
        torch.manual_seed(0)
        fine_tune_on_thermal_samples(m, EXACT, [0.2], rounds=1, epochs=20, n_chains=2, n_equil=0, n_samples=4,
                                     keep_every=1, flip_weight=w, seed=1, progress=False)
        d = (m.predict_energy(xf) - m.predict_energy(x)).numpy() - (EXACT(xf) - EXACT(x))
        errs[w] = float(np.median(np.abs(d)))
    assert errs[100.0] < 0.5 * errs[0.0], errs  # measured 0.14 vs 1.14 J


def test_fields_magnetize_the_chains_but_not_the_labels():
    """A field pulls the sampling chains into magnetized states (chains that start on the M = 0 checkerboard), and the
    network is still fitted to the zero-field exact energy of what they visit, not to the biased one."""
    up = np.ones((1, 8, 8), dtype=np.int8)
    h = 10.0  # the all-up state costs +292 J = 4.6 J per spin: a field of 10 J per spin beats it
    m = zoo.load_pretrained("ising_cnn/8x8-screened-coulomb")
    torch.manual_seed(0)
    hist = fine_tune_on_thermal_samples(m, EXACT, [0.5], rounds=2, epochs=10, lr=1e-3, n_chains=2, n_equil=5,
                                        n_samples=10, keep_every=1, fields=(h, h), seed=2, progress=False)
    assert hist[0]["m"][0] > 0.9, hist[0]["m"]  # the field orders the chains (zero field: <|M|> ~ 0.1 at most)
    pred, exact = float(m.predict_energy(up)[0]), float(EXACT(up)[0])
    assert abs(pred - exact) < 0.25 * h * 64, (pred, exact)  # zero-field labels; with the biased
    # label (292 - 640 J) it would move toward it: measured 142.9 -> 262.4 J here, -61.8 J with biased labels


def test_bad_arguments(model):
    with pytest.raises(ValueError, match="exact_energy"):
        fine_tune_on_thermal_samples(model, None, [1.0])
    with pytest.raises(ValueError, match="temps"):
        fine_tune_on_thermal_samples(model, EXACT, [0.0, 1.0])
    with pytest.raises(ValueError, match="rounds"):
        fine_tune_on_thermal_samples(model, EXACT, [1.0], rounds=0)
    with pytest.raises(ValueError, match="flip_weight"):
        fine_tune_on_thermal_samples(model, EXACT, [1.0], flip_weight=-1.0)
    with pytest.raises(ValueError, match="lr"):
        fine_tune_on_thermal_samples(model, EXACT, [1.0], lr=float("nan"))
    with pytest.raises(ValueError, match="fields"):
        fine_tune_on_thermal_samples(model, EXACT, [1.0], fields=[])
    with pytest.raises(ValueError, match="fields"):
        fine_tune_on_thermal_samples(model, EXACT, [1.0], fields=[float("nan")])
    with pytest.raises(ValueError, match="fields"):
        fine_tune_on_thermal_samples(model, EXACT, [1.0], fields="strong")
    with pytest.raises(ValueError, match="model"):
        fine_tune_on_thermal_samples(zoo.load_pretrained("ising_cnn/8x8-potts"), EXACT, [1.0])
