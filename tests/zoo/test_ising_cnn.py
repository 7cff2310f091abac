"""IsingCNN / IsingCNNRegressor (Mills & Tamblyn, PRE 97, 032119 (2018)): architecture against the paper, the TF-SAME
padding against a hand-written pad + conv, the domain API's input checks, legacy `task` cards, and the `measure`
plumbing (zoo.evaluation.ising_cnn)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from datamodules.physics import ising
from zoo.evaluation.ising_cnn import measure
from zoo.ising_cnn import IsingCNN, IsingCNNBase, IsingCNNRegressor
from zoo.layers import SameConv2d


TINY = dict(reducing_filters=8, nonreducing_filters=4, fc_width=32)


def make(L: int, task: str = "classify", **kw):
    """The class for a task, as the configs name it: the classifier, or the regressor with its label."""
    return IsingCNN(L=L, **kw) if task == "classify" else IsingCNNRegressor(L=L, label=task, **kw)


def n_params(m) -> int:
    return sum(p.numel() for p in m.parameters())


def paper_param_count(n_out: int, R: int = 32, N: int = 16, fc: int = 1024) -> int:
    """Count by hand from the paper's layer list (PRE 97, 032119, Sec. II.A; thesis L1031-1040): R-N-N-R-N-N-R convolutions
    (3x3 reducing with R filters, 4x4 non-reducing with N filters), FC on the 2x2xR map, output."""
    conv = lambda cin, cout, k: cin * cout * k * k + cout  # noqa: E731
    convs = (conv(1, R, 3) + conv(R, N, 4) + conv(N, N, 4) + conv(N, R, 3)
             + conv(R, N, 4) + conv(N, N, 4) + conv(N, R, 3))
    return convs + (4 * R * fc + fc) + (fc * n_out + n_out)


# --------------------------------------------------------------------------- architecture
@pytest.mark.parametrize("kwargs, expected", [
    (dict(L=4, task="classify"), 181711),   # 15 energy levels
    (dict(L=8, task="classify"), 230911),   # 63 energy levels
    (dict(L=8, task="energy"), 167361),     # one output
])
def test_parameter_counts(kwargs, expected):
    m = make(**kwargs)
    n_out = len(ising.energy_levels(kwargs["L"])) if kwargs["task"] == "classify" else 1
    assert paper_param_count(n_out) == expected
    assert n_params(m) == expected


@pytest.mark.parametrize("L, task, shape", [(4, "classify", (3, 15)), (8, "classify", (3, 63)),
                                            (8, "energy", (3,)), (8, "magnetization", (3,))])
def test_output_shapes(L, task, shape):
    m = make(L, task, **TINY).eval()
    x = torch.as_tensor(ising.random_configs(3, L, seed=1), dtype=torch.float32)
    with torch.no_grad():
        assert tuple(m(x).shape) == shape


def test_final_feature_map_is_2x2_and_layer_list_matches_paper():
    m = IsingCNN(L=8)
    assert tuple(m.features(torch.zeros(1, 1, 16, 16)).shape) == (1, 32, 2, 2)
    convs = [l for l in m.features if isinstance(l, torch.nn.Conv2d)]
    assert len(convs) == 7
    assert [c.kernel_size[0] for c in convs] == [3, 4, 4, 3, 4, 4, 3]
    assert [c.kernel_size[1] for c in convs] == [3, 4, 4, 3, 4, 4, 3]
    assert [c.stride[0] for c in convs] == [2, 1, 1, 2, 1, 1, 2]
    assert [c.stride[1] for c in convs] == [2, 1, 1, 2, 1, 1, 2]
    assert [c.out_channels for c in convs] == [32, 16, 16, 32, 16, 16, 32]
    # ReLU after every convolution
    kinds = [type(l).__name__ for l in m.features]
    assert kinds == ["SameConv2d", "ReLU"] * 7


def test_tf_same_padding_4x4_pads_one_before_two_after():
    torch.manual_seed(0)
    conv = SameConv2d(2, 3, 4, stride=1, padding="tf_same")
    x = torch.randn(2, 2, 16, 16)
    # TensorFlow SAME, stride 1, k=4: total padding 3 split as 1 before and 2 after
    ref = F.conv2d(F.pad(x, (1, 2, 1, 2)), conv.weight, conv.bias)
    wrong = F.conv2d(F.pad(x, (2, 1, 2, 1)), conv.weight, conv.bias)
    out = conv(x)
    assert out.shape == (2, 3, 16, 16)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-6)
    assert not torch.allclose(out, wrong)  # the split is asymmetric and that matters


def test_tf_same_padding_3x3_stride2():
    torch.manual_seed(0)
    conv = SameConv2d(1, 2, 3, stride=2, padding="tf_same")
    x = torch.randn(1, 1, 16, 16)
    # out ceil(16/2) = 8; total pad (8-1)*2 + 3 - 16 = 1: 0 before, 1 after
    ref = F.conv2d(F.pad(x, (0, 1, 0, 1)), conv.weight, conv.bias, stride=2)
    torch.testing.assert_close(conv(x), ref, rtol=0, atol=1e-6)


def test_circular_padding_is_translation_equivariant():
    torch.manual_seed(0)
    circ = SameConv2d(1, 2, 4, stride=1, padding="circular")
    zero = SameConv2d(1, 2, 4, stride=1, padding="tf_same")
    zero.load_state_dict(circ.state_dict())
    x = torch.randn(1, 1, 16, 16)
    xr = torch.roll(x, shifts=(2, 2), dims=(-2, -1))
    torch.testing.assert_close(circ(xr), torch.roll(circ(x), shifts=(2, 2), dims=(-2, -1)), rtol=0, atol=1e-5)
    # zero padding is not equivariant at the border: the check above has teeth
    assert not torch.allclose(zero(xr), torch.roll(zero(x), shifts=(2, 2), dims=(-2, -1)), atol=1e-3)


def test_bad_constructor_args():
    with pytest.raises(ValueError, match="label"):
        IsingCNNRegressor(L=8, label="regress")
    with pytest.raises(TypeError):  # the switch is gone: the class is the task
        IsingCNN(L=8, task="energy")
    with pytest.raises(ValueError, match="L must be"):
        IsingCNN(L=5)
    with pytest.raises(ValueError, match="input_size"):
        IsingCNN(L=4, input_size=12)
    with pytest.raises(ValueError, match="padding"):
        IsingCNN(L=4, padding="reflect", **TINY)


# --------------------------------------------------------------------------- domain API checks
@pytest.fixture(scope="module")
def energy_model():
    torch.manual_seed(0)
    return IsingCNNRegressor(L=8, label="energy", **TINY).eval()


@pytest.fixture(scope="module")
def classify_model():
    torch.manual_seed(0)
    return IsingCNN(L=4, **TINY).eval()


@pytest.fixture(scope="module")
def magnetization_model():
    torch.manual_seed(0)
    return IsingCNNRegressor(L=8, label="magnetization", **TINY).eval()


def test_predict_rejects_values_not_pm1(energy_model):
    x = ising.random_configs(2, 8, seed=0).astype(np.float32)
    x[0, 0, 0] = 0.5
    with pytest.raises(ValueError, match=r"-1 and \+1"):
        energy_model.predict_energy(x)
    with pytest.raises(ValueError, match=r"-1 and \+1"):
        energy_model.predict_energy(torch.zeros(2, 8, 8))


def test_predict_rejects_non_square(energy_model):
    with pytest.raises(ValueError, match="square"):
        energy_model.predict_energy(np.ones((2, 8, 6)))
    with pytest.raises(ValueError, match=r"\(B, L, L\)"):
        energy_model.predict_energy(np.ones((2, 1, 8, 8)))


def test_predict_rejects_wrong_L(energy_model, magnetization_model):
    with pytest.raises(ValueError, match="8x8"):
        energy_model.predict_energy(ising.random_configs(2, 4, seed=0))
    with pytest.raises(ValueError, match="8x8"):
        magnetization_model.predict_magnetization(ising.random_configs(2, 6, seed=0))


def test_predict_wrong_task_raises(magnetization_model, energy_model):
    x = ising.random_configs(2, 8, seed=0)
    with pytest.raises(ValueError, match="magnetization"):
        magnetization_model.predict_energy(x)
    with pytest.raises(ValueError, match="magnetization"):
        energy_model.predict_magnetization(x)


def test_predict_accepts_numpy_and_torch(energy_model, classify_model, magnetization_model):
    x8 = ising.random_configs(5, 8, seed=3)
    for m, fn in ((energy_model, "predict_energy"), (magnetization_model, "predict_magnetization")):
        a = getattr(m, fn)(x8)
        b = getattr(m, fn)(torch.as_tensor(x8, dtype=torch.float32))
        c = getattr(m, fn)(x8[0])  # a single (L, L) lattice
        assert isinstance(a, torch.Tensor) and a.shape == (5,)
        torch.testing.assert_close(a, b)
        assert c.shape == (1,)
        torch.testing.assert_close(c, a[:1])
    # energy model output is in J: the raw output times 2 L^2
    with torch.no_grad():
        raw = energy_model(torch.as_tensor(x8, dtype=torch.float32))
    torch.testing.assert_close(energy_model.predict_energy(x8), raw * 128)
    # a classifier returns allowed energy levels
    x4 = ising.random_configs(7, 4, seed=3)
    e = classify_model.predict_energy(torch.as_tensor(x4))
    assert isinstance(e, torch.Tensor) and e.shape == (7,)
    assert set(e.tolist()) <= set(ising.energy_levels(4).tolist())
    # batching does not change the answer
    torch.testing.assert_close(classify_model.predict_energy(x4, batch_size=2), e)


# --------------------------------------------------------------------------- measure plumbing
def _check_metric_dicts(metrics):
    assert metrics, "no metrics returned"
    for m in metrics:
        assert {"name", "value", "split", "how"} <= set(m)
        assert isinstance(m["name"], str) and isinstance(m["split"], str) and isinstance(m["how"], str)
        assert isinstance(m["value"], float) and np.isfinite(m["value"])
    names = [m["name"] for m in metrics]
    assert len(names) == len(set(names))
    return {m["name"]: m for m in metrics}


def test_measure_classify_4x4_all_states(classify_model):
    data = dict(L=4, n_samples=300, shard_size=10, eval_on="all", val_fraction=0.0, test_fraction=0.0,
                progress=False, gen_workers=1)
    got = _check_metric_dicts(measure(classify_model, data))
    assert {"accuracy_all_states", "n_errors", "errors_within_one_level", "accuracy_tails",
            "energy_median_abs_error", "thermo_max_rel_dev"} <= set(got)
    assert got["accuracy_all_states"]["split"] == "all 2^16 states"
    # independent recomputation of the headline number on all 65 536 states
    allx = ising.enumerate_configs(4)
    true_E = ising.energy(allx)
    pred_E = classify_model.predict_energy(allx).numpy()
    acc = float(np.mean(pred_E == true_E))
    assert got["accuracy_all_states"]["value"] == pytest.approx(acc, abs=1e-6)
    assert got["n_errors"]["value"] == pytest.approx(np.sum(pred_E != true_E))
    assert got["energy_median_abs_error"]["value"] == pytest.approx(np.median(np.abs(pred_E - true_E)))


def test_measure_energy_8x8_split(energy_model):
    data = dict(L=8, n_samples=630, shard_size=10, progress=False, gen_workers=1, seed=0)
    got = _check_metric_dicts(measure(energy_model, data))
    assert set(got) == {"median_abs_error", "mean_abs_error"}
    assert "hash-split test" in got["median_abs_error"]["split"]
    assert got["median_abs_error"]["unit"] == "J"
    assert got["mean_abs_error"]["value"] > 0
    # a different data seed draws different data: the split string says which seed was used
    got2 = _check_metric_dicts(measure(energy_model, data, seed=7))
    assert "data seed 7" in got2["median_abs_error"]["split"]


# --------------------------------------------------------------------------- one shape: classes, legacy cards
def test_classes_registry_and_optimizer_args():
    from zoo.base import SupervisedTask
    from zoo.registry import get_model_class

    assert get_model_class("ising_cnn") is IsingCNN and IsingCNNRegressor.registry_name == "ising_cnn"
    assert issubclass(IsingCNN, IsingCNNBase) and issubclass(IsingCNNRegressor, IsingCNNBase)
    assert issubclass(IsingCNNBase, SupervisedTask) and not issubclass(IsingCNNRegressor, IsingCNN)
    m = IsingCNNRegressor(L=8, label="magnetization", optimizer="sgd", lr=0.1, optimizer_args={"momentum": 0.5},
                          **TINY)
    opt = m.configure_optimizers()
    assert isinstance(opt, torch.optim.SGD) and opt.param_groups[0]["momentum"] == 0.5
    assert m.hparams.label == "magnetization" and "task" not in m.hparams
    # the paper's optimizer stays the default (TF-1 Adadelta, global lr 1e-3)
    assert IsingCNN(L=4, **TINY).configure_optimizers().defaults["rho"] == 0.95


@pytest.mark.parametrize("task, cls, label", [("classify", IsingCNN, None), ("energy", IsingCNNRegressor, "energy"),
                                              ("magnetization", IsingCNNRegressor, "magnetization")])
def test_legacy_task_args_resolve_to_the_class(task, cls, label):
    """Cards and checkpoints from before the split carry `task`; hub.card_class (no class_path) and
    IsingCNN.from_legacy_args resolve it to the class, the label carried over, and the state dict still fits."""
    from zoo.hub import card_class

    legacy = {"L": 8, "task": task, **TINY, "optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0,
              "lr_schedule": "cosine"}
    got_cls, args = card_class({"name": "ising_cnn/x", "model": "ising_cnn", "init_args": legacy})
    assert got_cls is cls and "task" not in args and args.get("label") == label
    assert IsingCNN.from_legacy_args(legacy) == (got_cls, args)
    new = got_cls(**args)
    assert new.task == task
    assert set(new.state_dict()) == set(make(8, task, **TINY).state_dict())
    assert IsingCNN.from_legacy_args({"L": 4}) == (IsingCNN, {"L": 4})  # a card without task: the classifier
    with pytest.raises(ValueError, match="task"):
        IsingCNN.from_legacy_args({"L": 4, "task": "potts"})


def test_evaluation_dispatch_and_paper():
    from zoo import evaluation
    from zoo.evaluation.ising_cnn import PAPER

    assert evaluation.paper("ising_cnn/8x8-energy") == PAPER["8x8-energy"]
    # every paper number cites the paper (journal reference), the thesis line only in parentheses
    for entries in PAPER.values():
        for e in entries:
            assert e["ref"].startswith("PRE 97, 032119"), e
