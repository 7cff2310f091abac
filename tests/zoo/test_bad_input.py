"""Bad input to the models' public methods gets a clear error (a ValueError naming the argument) or, where
the input is legal but outside what the model was trained on, an OutOfTrainingRangeWarning; good input
(the published checkpoints' own kind of data) gets neither.  Each case was silently wrong, or a raw
traceback, before datamodules/validation.py."""
from __future__ import annotations

import contextlib
import functools
import inspect
import warnings

import numpy as np
import pytest
import torch

import zoo
from datamodules.physics import ising
from datamodules.physics import schrodinger as S
from datamodules.rugan_em import em_feasible, energy_bounds
from datamodules.validation import OutOfTrainingRangeWarning


@functools.lru_cache(maxsize=None)
def pre(name):
    """Published checkpoints, loaded once per worker (each load is well under a second)."""
    return zoo.load_pretrained(name).eval()


@functools.lru_cache(maxsize=None)
def tiny_ising(L=8):
    from zoo.ising_cnn import IsingCNN

    return IsingCNN(L=L, input_size=max(8, L), reducing_filters=4, nonreducing_filters=2, fc_width=8).eval()


@functools.lru_cache(maxsize=None)
def tiny_schrodinger():
    from zoo.schrodinger_cnn import SchrodingerCNN

    return SchrodingerCNN(grid=8, reducing_filters=4, nonreducing_filters=2, fc_width=8).eval()


@contextlib.contextmanager
def no_range_warning():
    """Fail on any OutOfTrainingRangeWarning (a false alarm) inside the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutOfTrainingRangeWarning)
        yield


# ------------------------------------------------------------------------- Ising CNN thermodynamics
@pytest.mark.parametrize("temps", [[-1.0], [0.0], [2.0, float("nan")], [float("inf")], -2.0])
def test_thermodynamics_rejects_non_positive_or_non_finite_temperatures(temps):
    # T = -1 answered +1.997 per spin (the inverted spectrum), T = 0 NaN
    with pytest.raises(ValueError, match="^temps must be"):
        tiny_ising(4).thermodynamics(temps)


def test_thermodynamics_good_temperatures_still_work():
    # a tiny network (the published 4x4 one takes ~40 s over all 2^16 states on 2 shared cores)
    got = tiny_ising(4).thermodynamics([0.5, 2.27, 1e3])
    assert all(np.isfinite(got[k]).all() and len(got[k]) == 3 for k in ("e", "c", "m"))
    assert len(tiny_ising(4).thermodynamics([])["e"]) == 0  # no temperatures: empty curves, not an error


# ------------------------------------------------------------------ fixed input size: forward() raises
def _mbl_forward():
    return pre("mbl/classifier-L8")(torch.full((2, 8), 1 / 8))  # 3-site region instead of 4 (16 values)


WRONG_SIZE = {
    "ising_cnn 4x4 into an 8x8 model": (lambda: tiny_ising(8)(torch.ones(2, 4, 4)), "spins"),
    "ising_cnn 16x16 into an 8x8 model": (lambda: tiny_ising(8)(torch.ones(2, 16, 16)), "spins"),
    "ising_cnn unbatched": (lambda: tiny_ising(8)(torch.ones(8, 8)), "spins"),
    "schrodinger_cnn 16^2 into an 8^2 model": (lambda: tiny_schrodinger()(torch.zeros(1, 16, 16)), "V"),
    "mbl classifier 8 eigenvalues for 16": (_mbl_forward, "spectra"),
    "ntk_gan 3-d points": (lambda: pre("ntk_gan/8gauss-trivial")(torch.zeros(4, 3)), "x"),
    "rugan latent with 3 channels": (lambda: pre("rugan/ising-T-L16")(torch.zeros(1, 3, 4, 4),
                                                                        torch.tensor([2.0])), "z"),
    "rugan one label for two (E, m) samples": (lambda: pre("rugan/ising-em-L16")(torch.zeros(2, 16, 4, 4),
                                                                                   torch.tensor([[-1.0, 0.0]])),
                                                "labels"),
}


@pytest.mark.parametrize("case", list(WRONG_SIZE), ids=list(WRONG_SIZE))
def test_forward_rejects_wrong_input_size(case):
    call, arg = WRONG_SIZE[case]
    with pytest.raises(ValueError, match=rf"^{arg} must"):
        call()


def test_forward_accepts_the_trained_size():
    assert tiny_ising(8)(torch.ones(2, 8, 8)).shape == (2, 63)  # 63 energy levels of 8x8
    assert tiny_schrodinger()(torch.zeros(3, 8, 8)).shape == (3,)
    x = pre("rugan/ising-em-L16")(torch.zeros(2, 16, 4, 4), torch.tensor([[-1.0, 0.0]] * 2))
    assert x.shape == (2, 16, 16)


# --------------------------------------------------------------------------- RUGAN (E, m) labels
@pytest.mark.parametrize("kw,arg", [
    (dict(energy=float("nan"), magnetization=0.0), "energy"),   # gave all -1 lattices
    (dict(energy=-1.0, magnetization=float("inf")), "magnetization"),
    (dict(energy=[-1.0, float("nan")], magnetization=0.0), "energy"),
])
@pytest.mark.parametrize("extrapolate", [False, True])
def test_em_labels_must_be_finite(kw, arg, extrapolate):
    with pytest.raises(ValueError, match=rf"^{arg} must be finite"):
        pre("rugan/ising-em-L16").sample(2, extrapolate=extrapolate, **kw)


@pytest.mark.parametrize("e,m", [(-2.0, 0.0),      # the ground state is fully magnetized
                                 (-1.9, 0.0),      # m = 0 at 16x16: at best two domains, E/L^2 >= -1.75
                                 (2.0, 0.5),       # the antiferromagnet has m = 0: E/L^2 <= 2 - 4|m|
                                 (-2.0, 0.99),     # one flipped spin already costs 8/N
                                 (-1.0, 1.2), (2.5, 0.0)])
def test_em_impossible_labels_raise(e, m):
    with pytest.raises(ValueError, match=r"\(energy, magnetization\) = .* is impossible"):
        pre("rugan/ising-em-L16").sample(2, energy=e, magnetization=m)


def test_em_impossible_labels_served_when_asked():
    with no_range_warning():  # extrapolate=True: the caller knows, so no warning either
        assert pre("rugan/ising-em-L16").sample(2, energy=-2.0, magnetization=0.0, extrapolate=True).shape == (2, 16, 16)


def test_em_outside_windows_warns_and_inside_does_not():
    m = pre("rugan/ising-em-L16")  # windows [-1.5, -0.75] and [0.75, 2] in E/L^2, |m| <= 0.25 (its card)
    with pytest.warns(OutOfTrainingRangeWarning, match="outside the training windows"):
        m.sample(2, energy=0.0, magnetization=0.0)
    with pytest.warns(OutOfTrainingRangeWarning, match="1 of 2"):
        m.sample(2, energy=[-1.0, -1.0], magnetization=[0.0, 0.5])
    with no_range_warning():
        assert m.sample(3, energy=[-1.0, 1.0, -1.5], magnetization=[0.0, 0.25, -0.25]).shape == (3, 16, 16)


def test_em_feasibility_is_exact_on_the_4x4_lattice():
    """Every one of the 2^16 configurations passes, and the envelope is tight: at every magnetization the
    lowest and highest attained energies are the bounds, one level (4/N) beyond them is refused."""
    L, N = 4, 16
    s = ising.enumerate_configs(L)
    e, m = ising.energy(s) / N, ising.magnetization(s)
    assert em_feasible(e, m, L).all()
    for mv in np.unique(m):
        sel = m == mv
        lo, hi = energy_bounds(mv, L)
        assert (e[sel].min(), e[sel].max()) == pytest.approx((float(lo), float(hi)))
        assert not em_feasible(e[sel].min() - 4 / N, mv, L) and not em_feasible(e[sel].max() + 4 / N, mv, L)


def test_em_feasibility_passes_the_published_models_own_labels():
    from datamodules.rugan_em import em_grid

    g = em_grid(16, 1 / 16, 1 / 16)  # the card's query grid: all points some 16x16 configuration has
    assert em_feasible(g[:, 0], g[:, 1], 16).all()


# ------------------------------------------------------------------------------- EDNN counting input
def test_count_rejects_float_images_outside_0_1():
    m = pre("ednn/count-digits-1")
    img = torch.rand(1, 32, 32) * 255  # a 0-255 picture as float: counted -13 204 before
    with pytest.raises(ValueError, match=r"^images must be uint8 \(0-255.*or float in \[0, 1\]"):
        m.count(img)
    with pytest.raises(ValueError, match="^images must"):
        m.count(-img / 255)


def test_count_uint8_and_float_0_1_agree():
    m = pre("ednn/count-digits-1")
    u8 = (torch.rand(2, 32, 32) * 255).to(torch.uint8)
    torch.testing.assert_close(m.count(u8), m.count(u8.float() / 255))


@pytest.mark.parametrize("box", [(20, 20, 10, 10),   # reversed: summed to 0 before
                                 (0, 0, 0, 10),       # empty
                                 (-4, 0, 8, 8),       # negative index would wrap
                                 (0, 0, 33, 32),      # past the edge
                                 (0, 0, 8)])          # not 4 numbers
def test_region_count_rejects_bad_boxes(box):
    with pytest.raises(ValueError, match="^box must be"):
        pre("ednn/count-digits-1").region_count(torch.rand(1, 32, 32), box)


def test_region_count_good_box_sums_to_count():
    m = pre("ednn/count-digits-1")
    img = torch.rand(1, 32, 32)
    torch.testing.assert_close(m.region_count(img, (0, 0, 32, 32)), m.count(img), rtol=1e-5, atol=1e-4)


# --------------------------------------------------------------------- Schrodinger out-of-range potentials
@pytest.mark.parametrize("value", [1e6, 25.0, -100.0, -0.5])
def test_schrodinger_warns_outside_training_potentials(value):
    m = pre("schrodinger_cnn/mixed")
    with pytest.warns(OutOfTrainingRangeWarning, match=r"^V \(potential, Ha\) spans .* outside \[0, 20\]"):
        m.predict_energy(np.full((1, m.grid_size, m.grid_size), value))


def test_schrodinger_no_warning_on_the_training_families():
    m = pre("schrodinger_cnn/mixed")
    V = np.stack([S.generate(f, seed=3, n=m.grid_size)[0] for f in S.FAMILIES])
    with no_range_warning():
        assert torch.isfinite(m.predict_energy(V)).all()


# ------------------------------------------------------------------------------------ n = 0, n < 0
SAMPLERS = {
    "rugan T": lambda n: pre("rugan/ising-T-L16").sample(n, L=8, temperature=2.0),
    "rugan em": lambda n: pre("rugan/ising-em-L16").sample(n, L=8, energy=-1.0, magnetization=0.0),
    "ntk_gan": lambda n: pre("ntk_gan/8gauss-trivial").sample(n),
}


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_sample_zero_is_empty(name):
    out = SAMPLERS[name](0)
    assert out.shape[0] == 0 and out.shape[1:] == SAMPLERS[name](1).shape[1:]


@pytest.mark.parametrize("n", [-1, 2.5, True, "3"])
@pytest.mark.parametrize("name", list(SAMPLERS))
def test_sample_bad_n_raises(name, n):
    with pytest.raises(ValueError, match="^n must be a non-negative integer"):
        SAMPLERS[name](n)


# ----------------------------------------------------------------------------------- empty batches
EMPTY = {  # method on a batch of 0 -> expected output shape
    "ising_cnn classify predict_energy": (lambda: pre("ising_cnn/8x8-classify").predict_energy(np.zeros((0, 8, 8))),
                                          (0,)),
    "ising_cnn energy predict_energy": (lambda: pre("ising_cnn/8x8-energy").predict_energy(np.zeros((0, 8, 8))), (0,)),
    "ising_cnn predict_magnetization": (lambda: pre("ising_cnn/8x8-magnetization").predict_magnetization(
        np.zeros((0, 8, 8))), (0,)),
    "ednn predict_energy": (lambda: pre("ednn/ising-f1c1").predict_energy(np.zeros((0, 8, 8))), (0,)),
    "ednn count": (lambda: pre("ednn/count-digits-2").count(torch.zeros(0, 32, 32)), (0, 2)),
    "ednn predict_atoms_energy": (lambda: pre("ednn/atoms-proxy").predict_atoms_energy(np.zeros((0, 32, 32))), (0,)),
    "schrodinger predict_energy": (lambda: pre("schrodinger_cnn/sho").predict_energy(np.zeros((0, 64, 64))), (0,)),
    "mbl predict_phase": (lambda: pre("mbl/classifier-L8").predict_phase(np.zeros((0, 16))), (0, 3)),
    "mbl assign": (lambda: pre("mbl/clusterer-L8").assign(np.zeros((0, 16))), (0,)),
}


@pytest.mark.parametrize("name", list(EMPTY))
def test_empty_batch_gives_empty_result(name):
    call, shape = EMPTY[name]
    assert tuple(call().shape) == shape


# --------------------------------------------------------------------------------------- batch_size
BATCHED = {
    "ising_cnn predict_energy": lambda bs: pre("ising_cnn/8x8-classify").predict_energy(np.ones((2, 8, 8)),
                                                                                        batch_size=bs),
    "ising_cnn predict_magnetization": lambda bs: pre("ising_cnn/8x8-magnetization").predict_magnetization(
        np.ones((2, 8, 8)), batch_size=bs),
    "ednn predict_energy": lambda bs: pre("ednn/ising-f1c1").predict_energy(np.ones((2, 8, 8)), batch_size=bs),
    "ednn predict_atoms_energy": lambda bs: pre("ednn/atoms-proxy").predict_atoms_energy(np.zeros((2, 32, 32)),
                                                                                         batch_size=bs),
    "schrodinger predict_energy": lambda bs: pre("schrodinger_cnn/sho").predict_energy(np.zeros((2, 64, 64)),
                                                                                       batch_size=bs),
    "mbl predict_phase": lambda bs: pre("mbl/classifier-L8").predict_phase(np.full((2, 16), 1 / 16), batch_size=bs),
    "rugan sample": lambda bs: pre("rugan/ising-T-L16").sample(2, L=8, temperature=2.0, batch_size=bs),
}


@pytest.mark.parametrize("bs", [0, -4, 1.5])
@pytest.mark.parametrize("name", list(BATCHED))
def test_bad_batch_size_raises(name, bs):
    with pytest.raises(ValueError, match="^batch_size must be a positive integer"):
        BATCHED[name](bs)


@pytest.mark.parametrize("name", list(BATCHED))
def test_batch_size_one_matches_default(name):
    out = BATCHED[name](1)
    assert out.shape[0] == 2 and torch.isfinite(out.float()).all()


def _datamodules():
    from datamodules.atoms import AtomsDataModule
    from datamodules.digits import DigitCountingDataModule
    from datamodules.ednn import EDNNIsingDataModule
    from datamodules.gaussians import GaussianRingDataModule
    from datamodules.ising import IsingDataModule
    from datamodules.mbl import MBLDataModule
    from datamodules.rugan import IsingThermalDataModule
    from datamodules.rugan_em import IsingEMDataModule
    from datamodules.schrodinger import SchrodingerDataModule

    return [AtomsDataModule, DigitCountingDataModule, EDNNIsingDataModule, GaussianRingDataModule, IsingDataModule,
            MBLDataModule, IsingThermalDataModule, IsingEMDataModule, SchrodingerDataModule]


def _takes_eval_batch_size(cls) -> bool:
    return "eval_batch_size" in inspect.signature(cls.__init__).parameters  # the Gaussian stream has none


DM_CASES = [pytest.param(cls, {arg: v}, id=f"{cls.__name__}-{arg}={v}") for cls in _datamodules()
            for arg in ("batch_size", "eval_batch_size") if arg == "batch_size" or _takes_eval_batch_size(cls)
            for v in (0, -3, 2.5)]


@pytest.mark.parametrize("cls,kw", DM_CASES)
def test_datamodule_rejects_bad_batch_size(cls, kw):
    (arg,) = kw
    with pytest.raises(ValueError, match=rf"^{arg} must be a positive integer"):
        cls(**kw)


@pytest.mark.parametrize("cls", _datamodules(), ids=lambda c: c.__name__)
def test_datamodule_accepts_good_batch_size(cls):
    kw = dict(batch_size=3, eval_batch_size=5) if _takes_eval_batch_size(cls) else dict(batch_size=3)
    dm = cls(**kw)
    assert (dm.batch_size, getattr(dm, "eval_batch_size", 5) if "eval_batch_size" in kw else 5) == (3, 5)
