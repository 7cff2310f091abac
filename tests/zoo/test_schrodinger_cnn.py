"""SchrodingerCNN (Mills, Spanner & Tamblyn 2017): architecture against the paper's layer list
(PRA 96, 042113, Sec. II.C; thesis L1358-1366), the domain API's input checks, the SchrodingerDataModule (labels against the solver
and the analytic formulas, determinism, rot90 serving) and the `measure` plumbing."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from datamodules.physics import schrodinger as S
from datamodules.schrodinger import SchrodingerDataModule
from zoo.evaluation.schrodinger_cnn import PAPER, measure
from zoo.schrodinger_cnn import SchrodingerCNN


TINY = dict(reducing_filters=8, nonreducing_filters=4, fc_width=16)


def n_params(m) -> int:
    return sum(p.numel() for p in m.parameters())


def paper_param_count(n: int, R: int = 64, N: int = 16, fc: int = 1024) -> int:
    """By hand from the paper's layer list: R-(N-N-R)x(k-1), k = log2 n - 1 reducing 3x3 layers with
    R filters, 4x4 non-reducing ones with N, FC on the 2x2xR map, one output."""
    k = int(np.log2(n)) - 1
    conv = lambda cin, cout, ks: cin * cout * ks * ks + cout  # noqa: E731
    total = conv(1, R, 3) + (k - 1) * (conv(R, N, 4) + conv(N, N, 4) + conv(N, R, 3))
    return total + (4 * R * fc + fc) + (fc + 1)


# --------------------------------------------------------------------------- architecture
def test_paper_network_has_19_convolutions_in_order():
    m = SchrodingerCNN(grid=256)
    convs = [l for l in m.features if isinstance(l, torch.nn.Conv2d)]
    assert len(convs) == 19
    pattern = [3] + [4, 4, 3] * 6
    assert [c.kernel_size for c in convs] == [(k, k) for k in pattern]
    assert [c.stride for c in convs] == [(2, 2) if k == 3 else (1, 1) for k in pattern]
    assert [c.out_channels for c in convs] == [64 if k == 3 else 16 for k in pattern]
    assert [type(l).__name__ for l in m.features] == ["SameConv2d", "ReLU"] * 19
    # the output layer is a Linear that stays fp32 under bf16 autocast (zoo.layers.FP32Linear)
    assert [type(l).__name__ for l in m.head] == ["Flatten", "Linear", "ReLU", "FP32Linear"]
    assert isinstance(m.head[3], torch.nn.Linear)
    assert m.head[1].out_features == 1024 and m.head[3].out_features == 1


@pytest.mark.parametrize("n, expected", [(64, 384001), (128, 413793), (256, 443585)])
def test_parameter_count_and_final_map(n, expected):
    m = SchrodingerCNN(grid=n)
    assert paper_param_count(n) == expected  # 443 585 at 256^2 (ours: counted from Sec. II.C)
    assert n_params(m) == expected
    with torch.no_grad():
        assert tuple(m.features(torch.zeros(1, 1, n, n)).shape) == (1, 64, 2, 2)
        assert tuple(m(torch.zeros(3, n, n)).shape) == (3,)


def test_constructor_validation():
    with pytest.raises(ValueError, match="grid"):
        SchrodingerCNN()
    with pytest.raises(ValueError, match="power of two"):
        SchrodingerCNN(grid=100)
    with pytest.raises(ValueError, match="label"):
        SchrodingerCNN(grid=32, label="e2")
    with pytest.raises(ValueError, match="optimizer"):
        SchrodingerCNN(grid=32, optimizer="no_such_optimizer")
    assert SchrodingerCNN(grid=32, optimizer="adadelta_tf").configure_optimizers().defaults["rho"] == 0.95


def test_grid_property_gives_coordinates():
    m = SchrodingerCNN(grid=32, **TINY)
    np.testing.assert_allclose(m.grid, np.linspace(-20, 20, 32))
    assert m.grid_size == 32


# --------------------------------------------------------------------------- domain API
def test_predict_energy_shapes_units_and_batching():
    torch.manual_seed(0)
    m = SchrodingerCNN(grid=32, energy_scale=0.1, **TINY).eval()
    V = np.stack([S.sho(s, 32)[0] for s in range(5)])
    e = m.predict_energy(V)
    assert e.shape == (5,) and e.dtype == torch.float32
    with torch.no_grad():
        raw = m(torch.as_tensor(V, dtype=torch.float32))
    torch.testing.assert_close(e, raw * 0.1)  # hartree = network output x energy_scale
    torch.testing.assert_close(m.predict_energy(V, batch_size=2), e)
    torch.testing.assert_close(m.predict_energy(torch.as_tensor(V)), e)
    assert m.predict_energy(V[0]).shape == (1,)  # one (n, n) potential is a batch of one


@pytest.mark.parametrize("V, match", [
    (np.zeros((2, 64, 64)), "32x32"),
    (np.full((2, 32, 32), np.nan), "NaN"),
    (np.zeros((2, 32, 16)), "square"),
    (np.zeros((2, 2, 32, 32)), "shape"),
    (np.zeros((2, 24, 24)), "power of two"),
])
def test_predict_energy_rejects_bad_input(V, match):
    m = SchrodingerCNN(grid=32, **TINY)
    with pytest.raises(ValueError, match=match):
        m.predict_energy(V)


# --------------------------------------------------------------------------- data
def tiny_dm(tmp_path, **kw):
    args = dict(family="dig", grid=16, solve_grid=32, n_train=6, n_val=2, n_test=4, shard_size=4,
                progress=False, gen_workers=1, data_dir=str(tmp_path))
    return SchrodingerDataModule(**{**args, **kw})


def test_datamodule_labels_match_solver_and_analytic(tmp_path):
    dm = tiny_dm(tmp_path, family="mixed", label="e1", analytic_labels="sho")
    dm.prepare_data()
    dm.setup()
    assert {k: len(v) for k, v in dm.splits.items()} == {"train": 6, "val": 2, "test": 4}
    arrays = dm.cache.load()
    fams = arrays["family"]
    assert list(fams[:8]) == [0, 1, 2, 3, 0, 1, 2, 3]  # equal mix, family i mod 4
    from datamodules.cache import recipe_hash
    from datamodules.physics.ising import seed_sequence

    key = recipe_hash(dm.recipe())
    for i in range(4):
        fam = ("sho", "iw", "dig", "random")[i]
        seed = int(seed_sequence(key, i).generate_state(1, np.uint64)[0])
        V16, p = S.generate(fam, seed, 16)
        np.testing.assert_array_equal(arrays["V"][i], V16.astype(np.float32))  # stored on the training grid
        if fam == "sho":  # analytic labels
            assert arrays["e0"][i] == pytest.approx(S.sho_e0(p["kx"], p["ky"]))
            assert arrays["e1"][i] == pytest.approx(S.sho_e1(p["kx"], p["ky"]))
            assert arrays["kinetic"][i] == pytest.approx(arrays["e0"][i] / 2)
        else:  # solved on the 32-point grid
            sol = S.solve(S.generate(fam, seed, 32)[0])
            assert (arrays["e0"][i], arrays["e1"][i], arrays["kinetic"][i]) == pytest.approx(
                (sol.e0, sol.e1, sol.kinetic), rel=1e-12)
    # the served label is e1, in hartree
    torch.testing.assert_close(dm.splits["train"].tensors[1], torch.as_tensor(arrays["e1"][:6], dtype=torch.float32))


def test_datamodule_deterministic_across_workers_and_label_shares_cache(tmp_path):
    a = tiny_dm(tmp_path / "a", gen_workers=1)
    b = tiny_dm(tmp_path / "b", gen_workers=2, label="kinetic", batch_size=3)
    assert a.cache.hash == b.cache.hash  # label and loader args are not part of the recipe
    assert tiny_dm(tmp_path, seed=1).cache.hash != a.cache.hash
    assert tiny_dm(tmp_path, solve_grid=None, grid=32).cache.hash == tiny_dm(tmp_path, solve_grid=32, grid=32).cache.hash
    for dm in (a, b):
        dm.prepare_data()
    xa, xb = a.cache.load(), b.cache.load()
    for k in xa:
        np.testing.assert_array_equal(xa[k], xb[k])


def test_datamodule_rot90_augmentation(tmp_path):
    dm = tiny_dm(tmp_path, family="sho", augment_rot90=True)
    plain = tiny_dm(tmp_path, family="sho")
    assert dm.cache.hash == plain.cache.hash  # the same potentials, served rotated
    dm.setup()
    plain.setup()
    tr, V = dm.splits["train"], plain.splits["train"].tensors[0]
    assert len(tr) == 4 * 6 and len(dm.splits["test"]) == 4
    x, y = tr[6 + 2]  # rotation 1 of potential 2
    torch.testing.assert_close(x, torch.rot90(V[2], 1, dims=(-2, -1)))
    assert not torch.equal(x, V[2])
    assert y == plain.splits["train"].tensors[1][2]


@pytest.mark.parametrize("kw, match", [(dict(family="harmonic"), "family"), (dict(label="e2"), "label"),
                                       (dict(grid=48), "power of two"), (dict(solve_grid=100), "solve_grid"),
                                       (dict(analytic_labels="dig"), "analytic_labels"),
                                       (dict(n_train=-1), "n_train")])
def test_datamodule_rejects_bad_arguments(tmp_path, kw, match):
    with pytest.raises(ValueError, match=match):
        tiny_dm(tmp_path, **kw)


# --------------------------------------------------------------------------- measure and the paper table
def test_measure_plumbing_on_untrained_model(tmp_path):
    torch.manual_seed(0)
    m = SchrodingerCNN(grid=16, label="e0", **TINY).eval()
    data_args = dict(family="sho", grid=16, n_train=50, n_val=10, n_test=12, shard_size=6, gen_workers=1,
                     data_dir=str(tmp_path))
    out = measure(m, data_args, seed=5)
    by = {d["name"]: d for d in out}
    assert {"median_abs_error", "mean_abs_error", "rotation_median_abs_diff"} <= set(by)
    assert all(d["unit"] == "mHa" for d in out)
    # fresh potentials: only the 12 test samples were generated, with the new seed, not the train set
    dm = SchrodingerDataModule(**{**data_args, "seed": 5, "n_train": 0, "n_val": 0})
    assert dm.cache.is_complete()
    V, y = dm.cache.load()["V"], dm.cache.load()["e0"]
    assert len(V) == 12
    pred = m.predict_energy(V).double().numpy()
    err = np.abs(pred - y) * 1e3
    assert by["median_abs_error"]["value"] == pytest.approx(np.median(err), rel=1e-6)
    assert by["mean_abs_error"]["value"] == pytest.approx(err.mean(), rel=1e-6)
    assert "12 sho potentials" in by["median_abs_error"]["split"]
    assert all(r["unit"] == "mHa" for r in out)
    # `zoo evaluate` reaches the same function through the dispatch, and the model file no longer carries it
    from zoo import evaluation

    assert evaluation._module("schrodinger_cnn").measure is measure
    assert not hasattr(SchrodingerCNN, "measure") and not hasattr(SchrodingerCNN, "PAPER")


def test_paper_table_matches_the_paper():
    want = {"sho": 1.51, "iw": 5.04, "dig": 2.70, "random": 1.49, "dig-excited": 10.93, "random-kinetic": 2.98}
    for name, value in want.items():
        (entry,) = [e for e in PAPER[name] if e["metric"] == "median_abs_error"]
        assert entry["value"] == value and entry["unit"] == "mHa" and entry["ref"].startswith("PRA 96, 042113")
    from zoo import evaluation

    assert evaluation.paper("schrodinger_cnn/sho") == PAPER["sho"]


def test_supervised_task_and_optimizer_args():
    from zoo.base import SupervisedTask
    from zoo.registry import get_model_class

    assert get_model_class("schrodinger_cnn") is SchrodingerCNN and issubclass(SchrodingerCNN, SupervisedTask)
    m = SchrodingerCNN(grid=16, optimizer="sgd", lr=0.1, optimizer_args={"momentum": 0.9}, **TINY)
    opt = m.configure_optimizers()
    assert isinstance(opt, torch.optim.SGD) and opt.param_groups[0]["momentum"] == 0.9
    assert m.hparams.optimizer_args == {"momentum": 0.9}
