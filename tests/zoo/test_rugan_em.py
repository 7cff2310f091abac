"""RUGAN conditioned on (E/L^2, m) (thesis App. A section 4, Fig. 6): sampling, label checks, the label-aware
augmentation, a few training steps, the em validation metrics, physics selection with label-aware
observables, and measure_em (through zoo.evaluation) + the heat map on a tiny grid."""
from __future__ import annotations

import json

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

import zoo.evaluation
import zoo.evaluation.rugan as E
from datamodules.physics import ising
from zoo.evaluation.rugan import selection_score
from zoo.rugan import RUGANEM


def _model(**kw):
    args = dict(latent_channels=4, g_width=8, c_width=8, n_critic=2)
    args.update(kw)
    torch.manual_seed(0)
    return RUGANEM(**args)


def _em(x: np.ndarray) -> np.ndarray:
    s = x.astype(np.int64)
    energy = -(s * np.roll(s, -1, -1) + s * np.roll(s, -1, -2)).sum((-2, -1))  # independent of ising.energy
    return np.stack([energy / s[0].size, s.mean((-2, -1))], -1).astype(np.float32)


@pytest.mark.parametrize("L", [4, 8, 20])
def test_sample_shapes_and_values(L):
    m = _model()
    s = m.sample(5, L=L, energy=-1.0, magnetization=0.0, seed=0)
    assert s.shape == (5, L, L) and s.dtype == torch.int8 and set(s.unique().tolist()) <= {-1, 1}
    raw = m.sample(5, L=L, energy=-1.0, magnetization=0.0, seed=0, raw=True)
    assert torch.equal(torch.where(raw >= 0, 1, -1).to(torch.int8), s) and raw.abs().max() < 1
    per = m.sample(3, L=L, energy=[-0.5, 0.0, 1.0], magnetization=[0.1, -0.2, 0.0], seed=1)
    assert per.shape == (3, L, L) and per.dtype == torch.int8


def test_label_checks():
    m = _model()
    for kw in (dict(energy=2.5, magnetization=0.0), dict(energy=-1.0, magnetization=-1.2),
               dict(energy=[-1.0, -2.01], magnetization=0.0), dict(energy=-1.0), dict(magnetization=0.0),
               dict(temperature=2.0), dict(energy=-1.0, magnetization=0.0, temperature=2.0)):
        with pytest.raises(ValueError):
            m.sample(2, L=8, **kw)
    with pytest.raises(ValueError, match="multiple of 4"):
        m.sample(2, L=10, energy=-1.0, magnetization=0.0)
    assert m.sample(2, L=8, energy=2.5, magnetization=-1.2, extrapolate=True).shape == (2, 8, 8)
    # the two label planes reach the generator: other labels, other samples from the same latent
    z = torch.randn(4, 4, 2, 2)
    a = m.eval()(z, torch.tensor([[-1.5, 0.0]] * 4))
    b = m(z, torch.tensor([[1.5, 0.0]] * 4))
    c = m(z, torch.tensor([[-1.5, 0.5]] * 4))
    assert not torch.allclose(a, b) and not torch.allclose(a, c)


def test_augmentation_moves_m_label_with_the_spins():
    m = _model()
    x = ising.random_configs(64, 8, seed=3)
    x[:16] = np.where(np.arange(64).reshape(8, 8) < 40, 1, -1)  # some configurations with m != 0
    y = torch.as_tensor(_em(x))
    for seed in range(4):
        torch.manual_seed(seed)
        xa, ya = m._augment(torch.as_tensor(x, dtype=torch.float32), y)
        assert torch.equal(ya, torch.as_tensor(_em(xa.numpy().astype(np.int8))))
        assert torch.equal(ya[:, 0], y[:, 0])
    assert (ya[:, 1] == -y[:, 1]).any() and (ya[:, 1] == y[:, 1]).any()
    torch.manual_seed(0)
    xt = m._augment(torch.as_tensor(x, dtype=torch.float32))  # without labels: the temperature model's path
    torch.manual_seed(0)
    assert torch.equal(xt, m._augment(torch.as_tensor(x, dtype=torch.float32), y)[0])


def _loader(n=32, L=8, bs=8):
    x = ising.random_configs(n, L, seed=1)
    return DataLoader(TensorDataset(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(_em(x))), batch_size=bs)


def test_a_few_training_steps_and_em_validation_metrics():
    m = _model()
    g0 = [p.detach().clone() for p in m.generator.parameters()]
    tr = pl.Trainer(max_epochs=1, limit_train_batches=4, limit_val_batches=2, logger=False, enable_checkpointing=False,
                    enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    tr.fit(m, _loader(), _loader(16))
    cm = tr.callback_metrics
    assert int(m.generator_steps) == 2
    assert all(torch.isfinite(cm[k]) for k in ("train/critic_loss", "train/generator_loss", "train/gp", "train/ct"))
    assert any(not torch.equal(a, b) for a, b in zip(g0, m.generator.parameters()))
    for k in ("e", "m"):
        v = float(cm[f"val/median_abs_error_{k}"])
        assert np.isfinite(v) and 0 <= v <= (4 if k == "e" else 2) and np.isfinite(float(cm[f"val/mean_abs_error_{k}"]))


def test_selection_score_with_label_aware_observables():
    m = _model()
    ref = {"L": 8, "labels": [{"energy": -1.0, "magnetization": 0.0}, {"energy": 1.0, "magnetization": 0.1}],
           "observables": {"abs_de": (np.zeros(2), np.full(2, 4 / 64)), "abs_dm": (np.zeros(2), np.full(2, 2 / 64))}}
    seen = []

    def obs(spins, energy, magnetization):
        seen.append((energy, magnetization))
        lab = _em(spins)
        return {"abs_de": np.abs(lab[:, 0] - energy), "abs_dm": np.abs(lab[:, 1] - magnetization)}

    score, details = selection_score(m, ref, obs, 20)
    assert seen == [(-1.0, 0.0), (1.0, 0.1)] and np.isfinite(score) and score > 0
    assert len(details["labels"]) == 2 and details["labels"][1]["abs_dm_ref"] == 0.0


def test_measure_em_and_heatmap(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(E, "EM_EVAL", {1: (1 / 2, 1 / 4, 3), 4: (1.0, 1 / 2, 2)})
    m = _model()
    wins = [[-1.5, -0.5, -0.25, 0.25], [0.5, 2.0, -0.25, 0.25]]
    out = zoo.evaluation.measure(m, {"L": 8, "train_windows": wins}, seed=0)  # RUGANEM -> measure_em
    assert list(tmp_path.iterdir()) == []  # measuring writes nothing unless asked
    out = zoo.evaluation.measure(m, {"L": 8, "train_windows": wins}, seed=0, out_dir=str(tmp_path))
    names = {r["name"]: r["value"] for r in out}
    for L in (8, 32):
        for k in ("e", "m"):
            assert 0 <= names[f"median_abs_error_{k}_L{L}"] <= (4 if k == "e" else 2)
            assert np.isfinite(names[f"mean_abs_error_{k}_L{L}"])
    rows = json.loads((tmp_path / E.EM_ROWS_FILE).read_text())["rows"]
    assert {r["L"] for r in rows} == {8, 32}
    assert any(r["in_window"] for r in rows) and not all(r["in_window"] for r in rows)
    assert all(r["n"] == 3 for r in rows if r["L"] == 8)
    from zoo.figures.common import save
    from zoo.figures.rugan import em_heatmap
    from zoo.reports.rugan_em import em_rows

    png = save(em_heatmap(em_rows(path=tmp_path / E.EM_ROWS_FILE)), tmp_path / "heat.png")
    assert png.exists() and png.stat().st_size > 10_000
    assert E.PAPER["ising-em-L16"][0]["value"] is None  # the paper gives figures only
    assert zoo.evaluation.paper("rugan/ising-em-L16") == E.PAPER["ising-em-L16"]
