"""MBL classifier and clusterer (zoo/mbl.py): API, bad input, learning on tiny data, clustering a synthetic set."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from callbacks.mbl_maps import PhaseDiagramFigures
from zoo.mbl import MBLClassifier, MBLClusterer, check_spectra, phase_map

ND, NL, NPP = 6, 3, 8  # synthetic grid and draws per point


def _probs(rng, kind, n):
    """Synthetic rho_A spectra (descending): PM ~ (1, 0, ...), SG ~ (1/2, 1/2, 0, ...), thermal = broad."""
    if kind == "PM":
        p = np.zeros((n, 16))
        p[:, 0] = 1
        p += rng.uniform(0, 0.02, (n, 16))
    elif kind == "SG":
        p = np.zeros((n, 16))
        p[:, :2] = 0.5
        p += rng.uniform(0, 0.02, (n, 16))
    else:
        p = rng.dirichlet(np.full(16, 3.0), n)
    p /= p.sum(1, keepdims=True)
    return -np.sort(-p, axis=1)


def _truth():
    deltas = np.linspace(-3, 3, ND)
    t = np.empty((ND, NL), dtype=object)
    for i, d in enumerate(deltas):
        for j in range(NL):
            t[i, j] = "thermal" if (j == NL - 1 and abs(d) < 1) else ("PM" if d < 0 else "SG")
    return t


def _resample(seed):
    rng = np.random.default_rng(seed)
    t = _truth()
    X = np.concatenate([_probs(rng, t[g // NL, g % NL], NPP) for g in range(ND * NL)])
    return torch.as_tensor(X, dtype=torch.float32), torch.arange(ND * NL).repeat_interleave(NPP)


def _clusterer(**kw):
    return MBLClassifier(kind="clusterer", L=8, n_delta=ND, n_lambda=NL, n_per_point=NPP, knn=3, **kw)


def test_clusterer_recovers_synthetic_phases_and_aligns_labels():
    m = _clusterer(min_samples=5, min_cluster_fraction=0.15)  # the 16 thermal draws are too few for an HDBSCAN cluster
    assert isinstance(m, MBLClusterer) and not list(m.parameters())
    for i in range(3):
        m.training_step(_resample(i), i)
    assert int(m.n_resamples) == 3
    t = _truth()
    want = np.vectorize({"PM": 0, "SG": 1, "thermal": 2}.get)(t)
    p, C = m.phase_diagram("spectral")
    assert (p.argmax(-1) == want).all()
    assert np.allclose(p.sum(-1), 1) and C.shape == (ND, NL)
    # HDBSCAN: the two dense blobs are the clusters, PM (lower mean Delta) first; the broad thermal draws are noise
    assert m.two_cluster_rate == 1.0 and int(m.n_clusters_hist[2]) == 3
    ph, _ = m.phase_diagram("hdbscan")
    assert (ph.argmax(-1)[want < 2] == want[want < 2]).all()
    assert ph[..., 2][want == 2].min() > ph[..., 2][want < 2].max()  # noise sits on the thermal points
    # out-of-sample assignment of fresh draws by the JS k-NN vote against the stored reference resample
    X, pt = _resample(99)
    lab = m.assign(X, "spectral").numpy()
    assert (lab == want.reshape(-1)[pt.numpy()]).mean() > 0.95


def test_clusterer_dbcv_choice_and_state_round_trip(tmp_path):
    from safetensors.torch import load_file, save_file

    m = _clusterer(min_samples="dbcv", dbcv_candidates=[3, 5, 300])
    m.training_step(_resample(0), 0)
    assert int(m.min_samples_used) in (3, 5)  # 300 > resample size is skipped
    save_file({k: v.contiguous() for k, v in m.state_dict().items()}, str(tmp_path / "c.safetensors"))
    m2 = MBLClassifier(**dict(m.hparams))  # what load_pretrained does with the card's init_args
    assert isinstance(m2, MBLClusterer)
    m2.load_state_dict(load_file(str(tmp_path / "c.safetensors")))
    np.testing.assert_array_equal(m2.phase_diagram("spectral")[0], m.phase_diagram("spectral")[0])
    with pytest.raises(ValueError, match="method"):
        m2.phase_diagram("kmeans")
    with pytest.raises(ValueError, match="not fitted|no spectral"):
        _clusterer().assign(_resample(0)[0])


def test_classifier_predict_phase_api_and_bad_input():
    m = MBLClassifier(L=8).eval()
    X, pt = _resample(0)
    p = m.predict_phase(X)
    assert p.shape == (len(X), 3) and torch.allclose(p.sum(1), torch.ones(len(X)))
    with pytest.raises(ValueError, match="shape"):
        m.predict_phase(X[:, :8])
    with pytest.raises(ValueError, match="descending"):
        m.predict_phase(X.flip(1))
    with pytest.raises(ValueError, match="NaN"):
        m.predict_phase(torch.full((2, 16), float("nan")))
    with pytest.raises(ValueError, match="sum to 1"):
        m.predict_phase(X * 2)
    with pytest.raises(ValueError, match="L"):
        MBLClassifier()
    with pytest.raises(ValueError, match="odd cut"):
        MBLClassifier(L=9)
    with pytest.raises(ValueError, match="input_mode"):
        MBLClassifier(L=8, input_mode="log")
    with pytest.raises(ValueError, match="min_samples"):
        _clusterer(min_samples="best")
    with pytest.raises(ValueError, match="sigma"):
        _clusterer(sigma=-1.0)
    pmap, C = m.phase_diagram(X, pt, ND, NL, aggregate="vote")
    assert pmap.shape == (ND, NL, 3) and C.shape == (ND, NL)


def test_phase_map_averages_per_point():
    probs = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]], dtype=float)
    p = phase_map(probs, np.array([0, 0, 1, 1]), 1, 2)
    np.testing.assert_allclose(p[0, 0], [0.5, 0.5, 0])
    np.testing.assert_allclose(p[0, 1], [0, 0, 1])
    with pytest.raises(ValueError, match="point"):
        phase_map(probs, np.array([0, 0, 1, 5]), 1, 2)
    assert check_spectra(np.eye(16)[:1], 16).dtype == np.float32


def test_classifier_learns_three_phases_on_tiny_real_data(tmp_path):
    """L = 8, 10 realizations per training point: held-out realizations classified well above chance (1/3)."""
    import pytorch_lightning as pl

    from datamodules.mbl import MBLDataModule

    torch.manual_seed(0)
    dm = MBLDataModule(L=8, grid_realizations=0, train_realizations=10, train_states_per_realization=40, batch_size=64,
                       progress=False, gen_workers=1, data_dir=str(tmp_path))
    m = MBLClassifier(L=8, lr=3e-3)
    trainer = pl.Trainer(max_epochs=10, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", default_root_dir=str(tmp_path))
    trainer.fit(m, dm)
    x, y = dm.splits["test"].tensors
    acc = (m.predict_phase(x).argmax(1) == y).float().mean().item()
    # single eigenstates near the PM/SG points (Delta = -+0.8) overlap at L = 8; chance is 1/3
    assert acc > 0.55, acc


def test_classifier_phase_diagram_figures_during_training(tmp_path):
    """The W&B figure callback draws the supervised map over the DataModule's grid after validation."""
    import pytorch_lightning as pl

    from datamodules.mbl import MBLDataModule

    dm = MBLDataModule(L=6, n_delta=4, n_lambda=3, grid_realizations=1, states_per_realization=5, train_realizations=4,
                       train_states_per_realization=10, val_fraction=0.25, test_fraction=0.25, batch_size=32,
                       progress=False, gen_workers=1, data_dir=str(tmp_path))
    trainer = pl.Trainer(max_epochs=2, logger=False, callbacks=[PhaseDiagramFigures(every_n_epochs=2)],
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         num_sanity_val_steps=0, accelerator="cpu", default_root_dir=str(tmp_path))
    trainer.fit(MBLClassifier(L=6), dm)
    figs = sorted(p.name for p in (tmp_path / "figures").glob("*.png"))
    assert figs == ["confusion_map_epoch001.png", "phase_diagram_epoch001.png"]  # every 2nd epoch only


def test_clusterer_fit_by_the_trainer_checkpoints_every_resample(tmp_path):
    """No optimizer, yet each resample advances the global step, so ModelCheckpoint writes last.ckpt holding the
    accumulated maps (what `zoo publish` reads)."""
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import ModelCheckpoint

    from datamodules.mbl import MBLDataModule

    dm = MBLDataModule(L=6, n_delta=4, n_lambda=3, grid_realizations=2, states_per_realization=5, train_realizations=0,
                       serve="resamples", n_resamples=2, progress=False, gen_workers=1, data_dir=str(tmp_path))
    m = MBLClassifier(kind="clusterer", L=6, n_delta=4, n_lambda=3, n_per_point=5, min_samples=3)
    ck = ModelCheckpoint(dirpath=tmp_path / "ck", filename="last", every_n_train_steps=1, enable_version_counter=False)
    trainer = pl.Trainer(max_epochs=1, logger=False, callbacks=[ck, PhaseDiagramFigures()], enable_progress_bar=False,
                         enable_model_summary=False, num_sanity_val_steps=0, accelerator="cpu",
                         default_root_dir=str(tmp_path))
    trainer.fit(m, dm)
    assert trainer.global_step == 2
    assert (tmp_path / "figures" / "phase_diagram_epoch000.png").stat().st_size > 1000
    state = torch.load(tmp_path / "ck" / "last.ckpt", weights_only=True)
    assert int(state["state_dict"]["n_resamples"]) == 2
    assert state["state_dict"]["spectral_counts"].sum() == 2 * 4 * 3 * 5
