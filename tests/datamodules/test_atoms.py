"""'Atoms as pictures' PROXY (EDNN paper section 3.3-3.4): the pair energy against a brute-force periodic sum,
translation invariance, exact extensivity under tiling, the rendering against a direct Gaussian sum, the DataModule,
and the EDNN / non-extensive models on it (tiny)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from datamodules.atoms import AtomsDataModule
from zoo.evaluation.ednn import measure_atoms
from datamodules.physics import atoms as A

CELL = (12.8, 12.8)


def brute_energy(pos, Z, cell, n_img=2):
    """Pure-python double loop over atoms and periodic images n in [-n_img, n_img]^2, Morse written out again."""
    E = 0.0
    for i, j in itertools.product(range(len(pos)), repeat=2):
        for nx, ny in itertools.product(range(-n_img, n_img + 1), repeat=2):
            if i == j and nx == 0 and ny == 0:
                continue
            dx = pos[j][0] + nx * cell[0] - pos[i][0]
            dy = pos[j][1] + ny * cell[1] - pos[i][1]
            r = math.hypot(dx, dy)
            if r >= A.R_CUT:
                continue
            key = tuple(sorted((A.SPECIES[Z[i] - 5], A.SPECIES[Z[j] - 5])))
            D, r0 = A.MORSE[key]
            s = 1.0 if r < A.R_SWITCH else 0.5 * (1 + math.cos(math.pi * (r - A.R_SWITCH) / (A.R_CUT - A.R_SWITCH)))
            E += 0.5 * D * ((1 - math.exp(-A.ALPHA * (r - r0))) ** 2 - 1) * s
    return E


@pytest.fixture(scope="module")
def sheets():
    rng = np.random.default_rng(7)
    return [A.random_sheet((5, 3), CELL, rng, family=f) for f in A.FAMILIES]


def test_energy_equals_brute_force_periodic_sum(sheets):
    for pos, Z, _ in sheets[:2]:  # (the brute force is slow in python: two 60-atom sheets)
        assert A.energy(pos, Z, CELL) == pytest.approx(brute_energy(pos, Z, CELL), rel=1e-10, abs=1e-9)
    # a narrow cell (3.2 Angstrom, R_CUT > L/2): several images of the same atom interact
    rng = np.random.default_rng(1)
    pos, Z = rng.uniform(0, 3.2, (5, 2)), rng.choice([5, 6, 7], 5)
    assert A.energy(pos, Z, (3.2, 3.2)) == pytest.approx(brute_energy(pos, Z, (3.2, 3.2), n_img=3), rel=1e-10)


def test_pristine_graphene_bond_count():
    """60-site graphene: 90 bonds (3 per atom / 2), all within the switch-free range -> E = sum of 90 Morse terms."""
    pos, _ = A.honeycomb_sites((5, 3), CELL)
    Z = np.full(len(pos), 6)
    r = np.array([1.28 ** 2 + (12.8 / 3 / 6) ** 2]) ** 0.5  # the two bond lengths: b/3 and hypot(a/2, b/6)
    d_vert, d_diag = 12.8 / 3 / 3, float(r[0])
    expect = 30 * A.pair_energy(d_vert, 6, 6) + 60 * A.pair_energy(d_diag, 6, 6)
    assert A.energy(pos, Z, CELL) == pytest.approx(float(expect), rel=1e-12)


def test_pair_energy_cutoff_is_smooth():
    r = np.array([A.R_CUT - 1e-7, A.R_CUT, A.R_CUT + 0.5])
    e = A.pair_energy(r, 6, 6)
    assert abs(e[0]) < 1e-9 and e[1] == 0 and e[2] == 0
    assert A.pair_energy(A.R_SWITCH - 1e-9, 6, 6) == pytest.approx(A.pair_energy(A.R_SWITCH + 1e-9, 6, 6), abs=1e-6)


def test_translation_invariance(sheets):
    pos, Z, _ = sheets[3]
    E = A.energy(pos, Z, CELL)
    for shift in ([3.7, -1.1], [12.8, 0.0], [-0.05, 6.4]):
        assert A.energy(pos + shift, Z, CELL) == pytest.approx(E, rel=1e-12)
    # a whole-pixel translation rolls the picture
    V = A.render(pos, Z, (64, 64), 0.2)
    V2 = A.render(pos + [3 * 0.2, 5 * 0.2], Z, (64, 64), 0.2)
    np.testing.assert_allclose(V2, np.roll(V, (5, 3), axis=(0, 1)), atol=1e-5)


def test_exactly_extensive_under_tiling(sheets):
    for pos, Z, _ in sheets:
        p2, Z2, cell2 = A.tile_structure(pos, Z, CELL, (2, 2))
        assert A.energy(p2, Z2, cell2) == pytest.approx(4 * A.energy(pos, Z, CELL), rel=1e-12)
        e1, e2 = A.atom_energies(pos, Z, CELL), A.atom_energies(p2, Z2, cell2)
        np.testing.assert_allclose(e2, np.tile(e1, 4), atol=1e-12)  # per-atom energies repeat too
        V, V2 = A.render(pos, Z, (64, 64), 0.2), A.render(p2, Z2, (128, 128), 0.2)
        np.testing.assert_allclose(V2, np.tile(V, (2, 2)), atol=1e-5)


def test_render_matches_direct_gaussian_sum():
    rng = np.random.default_rng(3)
    pos, Z = rng.uniform(0, 3.2, (4, 2)), rng.choice([5, 6, 7], 4)
    pos[0] = [0.05, 3.15]  # near a corner: its images matter
    V = A.render(pos, Z, (16, 16), 0.2)
    yy, xx = np.mgrid[0:16, 0:16] * 0.2
    ref = np.zeros((16, 16))
    for (x, y), z in zip(pos, Z):
        for nx, ny in itertools.product(range(-2, 3), repeat=2):
            ref += z * np.exp(-((xx - x - nx * 3.2) ** 2 + (yy - y - ny * 3.2) ** 2) / (2 * 0.2 ** 2))
    np.testing.assert_allclose(V, ref, rtol=1e-5, atol=1e-5)
    assert V.sum() == pytest.approx(Z.sum() * 2 * np.pi * 0.2 ** 2 / 0.2 ** 2, rel=1e-4)  # integral of a Gaussian


def test_bad_input_raises():
    with pytest.raises(ValueError, match="Z must be 5"):
        A.energy(np.zeros((1, 2)), [8], CELL)
    with pytest.raises(ValueError, match="positions must be"):
        A.energy(np.zeros((3,)), [6, 6, 6], CELL)
    with pytest.raises(ValueError, match="NaN"):
        A.render(np.full((1, 2), np.nan), [6], (8, 8), 0.2)
    with pytest.raises(ValueError, match="transfer"):
        AtomsDataModule(transfer=[1])
    with pytest.raises(ValueError, match="cutoff"):
        AtomsDataModule(cell_px=16)


KW = dict(n_train=6, n_val=2, n_test=3, transfer=[2], n_transfer=[2], shard_size=4, progress=False, gen_workers=1)


def test_datamodule_deterministic_and_labelled(tmp_path):
    a = AtomsDataModule(data_dir=str(tmp_path / "a"), **KW)
    a.prepare_data()
    a.setup()
    b = AtomsDataModule(data_dir=str(tmp_path / "b"), **KW)
    b.prepare_data()
    b.setup()
    assert a.splits["train"].tensors[0].shape == (6, 64, 64) and a.splits["test_x2"].tensors[0].shape == (2, 128, 128)
    for s in a.splits:
        for u, v in zip(a.splits[s].tensors, b.splits[s].tensors):
            assert torch.equal(u, v)
        st = a.structures[s]
        k = 0
        keep = st["Z"][k] > 0
        assert st["E"][k] == pytest.approx(A.energy(st["pos"][k][keep], st["Z"][k][keep], st["cell"]), rel=1e-12)
    assert not torch.equal(a.splits["train"].tensors[0][:2], a.splits["test"].tensors[0][:2])


def test_models_on_tiny_data(tmp_path):
    """The EDNN ('atoms_cnn', f=16, c=16, circular) takes any multiple of its focus and sums tiles; the non-extensive
    baseline (f = cell, c = 0: the CNN on the whole cell) takes only multiples of the training cell; measure() runs."""
    from zoo.ednn import AtomsEDNN

    torch.manual_seed(0)
    ednn = AtomsEDNN(focus=16, context=16, filters=8, fc_width=16).eval()
    cnn = AtomsEDNN(focus=64, context=0, filters=8, fc_width=16).eval()
    dm = AtomsDataModule(data_dir=str(tmp_path), **KW)
    dm.prepare_data()
    dm.setup()
    x = dm.splits["test"].tensors[0]
    assert ednn.predict_energy(x).shape == (3,)
    np.testing.assert_allclose(ednn.predict_energy(x).numpy(), ednn.energy_map(x).sum((1, 2)).numpy(), rtol=1e-5)
    # periodic EDNN on a 2 x 2 tiling of a cell predicts exactly 4x (the tiles repeat)
    big = x[:1].repeat(1, 2, 2)
    assert ednn.predict_energy(big).item() == pytest.approx(4 * ednn.predict_energy(x[:1]).item(), rel=1e-5)
    with pytest.raises(ValueError, match="multiples of focus"):
        cnn.predict_energy(torch.zeros(1, 80, 80))
    names = {m["name"] for m in measure_atoms(ednn, {**KW, "data_dir": str(tmp_path)})}
    assert {"median_abs_error_per_area_1x", "median_abs_error_per_area_4x", "median_abs_error_per_atom_4x"} <= names


@pytest.mark.parametrize("name", ["ednn/atoms-proxy", "ednn/atoms-proxy-cnn"])
def test_pretrained_beats_a_constant_on_fresh_sheets(name, tmp_path):
    """The published PROXY models load (sha256-verified) and, on freshly generated sheets, are far better than the
    best constant per area, on the training-size cells and (for the EDNN, no retraining) on 4x larger ones."""
    import zoo
    from zoo.evaluation.ednn import error_summary, predict_splits

    model = zoo.load_pretrained(name)
    from zoo.ednn import AtomsEDNN

    assert isinstance(model, AtomsEDNN) and "median_abs_error_per_area_16x" in {m["name"] for m in model.card["metrics"]}
    args = {**model.card["dataset"]["init_args"], "seed": 4242, "n_train": 1, "n_val": 1, "n_test": 24,
            "transfer": [2], "n_transfer": [8], "progress": False, "gen_workers": 1, "data_dir": str(tmp_path)}
    dm = AtomsDataModule(**args)
    dm.prepare_data()
    dm.setup()
    res = predict_splits(model, dm)
    for split in (["test", "test_x2"] if name == "ednn/atoms-proxy" else ["test"]):
        r = res[split]
        std = np.std(r["true"] / r["area"] * 1e3)
        assert error_summary(r)["median_abs_per_area"] < 0.35 * std, (split, error_summary(r), std)
