"""MBL classifier and clusterer (zoo/mbl.py): API, bad input, learning on tiny data, clustering a synthetic set, legacy
`kind` cards and checkpoints, the evaluation module and the figures."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from callbacks.mbl_maps import PhaseDiagramFigures
from zoo.hub import card_class, class_path
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
    return MBLClusterer(L=8, n_delta=ND, n_lambda=NL, n_per_point=NPP, knn=3, **kw)


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
    card = {"model": "mbl", "class_path": class_path(type(m)), "init_args": dict(m.hparams)}
    cls, init_args = card_class(card)  # what load_pretrained does with the card
    assert cls is MBLClusterer
    m2 = cls(**init_args)
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
    m = MBLClusterer(L=6, n_delta=4, n_lambda=3, n_per_point=5, min_samples=3)
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


def test_legacy_kind_args_resolve_to_the_class():
    """Cards and checkpoints from before the split carry `kind`; the clusterer's also carried an optimizer it never
    used.  Both resolve to the class, without those args, and build."""
    legacy_clu = {"L": 8, "n_delta": ND, "n_lambda": NL, "kind": "clusterer", "min_samples": 3, "optimizer": "adam",
                  "lr": 1e-3, "weight_decay": 0.0, "lr_schedule": "constant"}
    cls, args = card_class({"name": "mbl/x", "model": "mbl", "init_args": legacy_clu})
    assert cls is MBLClusterer and args == {"L": 8, "n_delta": ND, "n_lambda": NL, "min_samples": 3}
    m = cls(**args)
    assert "optimizer" not in m.hparams and "kind" not in m.hparams and m.configure_optimizers() is None
    cls, args = MBLClassifier.from_legacy_args({"L": 8, "kind": "classifier", "lr": 3e-3})
    assert cls is MBLClassifier and args == {"L": 8, "lr": 3e-3}
    assert isinstance(cls(**args).configure_optimizers(), torch.optim.Adam)
    assert MBLClassifier.from_legacy_args({"L": 8}) == (MBLClassifier, {"L": 8})  # a card without kind
    with pytest.raises(ValueError, match="kind"):
        MBLClassifier.from_legacy_args({"L": 8, "kind": "kmeans"})
    # the switch is gone from the classes themselves
    with pytest.raises(TypeError):
        MBLClassifier(L=8, kind="clusterer")
    with pytest.raises(TypeError):
        MBLClusterer(L=8, lr=1e-3)


def test_classes_and_optimizer_args():
    from zoo.base import SupervisedTask, ZooTask
    from zoo.registry import get_model_class

    assert get_model_class("mbl") is MBLClassifier and MBLClusterer.registry_name == "mbl"
    assert issubclass(MBLClassifier, SupervisedTask) and not issubclass(MBLClusterer, SupervisedTask)
    assert issubclass(MBLClusterer, ZooTask)
    opt = MBLClassifier(L=8, optimizer="sgd", lr=0.1, optimizer_args={"momentum": 0.5}).configure_optimizers()
    assert isinstance(opt, torch.optim.SGD) and opt.param_groups[0]["momentum"] == 0.5


def test_measure_marks_the_clusterers_fit_time_statistics_stored(tmp_path):
    """zoo.evaluation.mbl.measure: a clusterer's accumulated statistics are `stored`; the k-NN assignment of fresh
    eigenstates is measured now."""
    from zoo import evaluation
    from zoo.evaluation.mbl import PAPER

    m = MBLClusterer(L=6, n_delta=4, n_lambda=3, n_per_point=5, min_samples=3)
    rng = np.random.default_rng(0)
    X = np.concatenate([_probs(rng, ("PM", "SG", "thermal")[g % 3], 5) for g in range(12)])
    m.training_step((torch.as_tensor(X, dtype=torch.float32), torch.arange(12).repeat_interleave(5)), 0)
    data = {"L": 6, "grid_realizations": 0, "train_realizations": 2, "gen_workers": 1, "data_dir": str(tmp_path)}
    recs = evaluation.measure(m, data, seed=3)
    by = {r["name"]: r for r in recs}
    assert by["n_resamples"]["value"] == 1 and by["n_resamples"]["stored"] is True
    assert all(r.get("stored") for r in recs if r["name"] != "assign_accuracy_train_points")
    fresh = by["assign_accuracy_train_points"]
    assert "stored" not in fresh and "data seed 3" in fresh["split"] and 0 <= fresh["value"] <= 1
    assert evaluation.paper("mbl/clusterer-L8") == PAPER["clusterer-L8"]
    assert {p["metric"] for p in evaluation.paper("mbl/classifier-L12")} >= {"test_accuracy"}


def test_figures_are_pure(tmp_path):
    from zoo.figures.common import save
    from zoo.figures.mbl import confusion_maps_figure, hist_figure, phase_maps_figure, slices_figure

    p = np.random.default_rng(0).dirichlet(np.ones(3), (ND, NL))
    d, lam = np.linspace(-3, 3, ND), np.linspace(0, 2, NL)
    figs = (phase_maps_figure({"a": p, "b": p}, d, lam, "t"), confusion_maps_figure({"a": p}, d, lam, "t"),
            slices_figure({"a": p}, d, lam), hist_figure(np.array([0, 1, 5, 2])))
    for i, fig in enumerate(figs):
        assert save(fig, tmp_path / f"{i}.png").stat().st_size > 1000


def test_sbrg_report_section(tmp_path):
    """The SBRG appendix section of the report (Figs. 1.13 and 1.1 and the error scan): both figures, and numbers
    that are the ones sbrg_vs_ed measures."""
    from datamodules.physics.sbrg import sbrg_vs_ed
    from zoo.reports.mbl import sbrg_section

    sec = sbrg_section(tmp_path, quick=True, L=5, Gammas=(5.0, 1.0), seed=1)
    assert [p.name for p in sec["figs"]] == ["mbl_sbrg_vs_ed.png", "mbl_sbrg_term_range.png"]
    assert all(p.stat().st_size > 1000 for p in sec["figs"])
    assert sec["numbers"]["fig_1_13_rel_rms"] == pytest.approx(sbrg_vs_ed(5, 5.0, 1)["rel_rms"])
    e1 = [sbrg_vs_ed(5, 1.0, s)["rel_rms"] for s in range(4)]
    assert sec["numbers"]["Gamma_1"]["mean"] == pytest.approx(np.mean(e1))
    assert any("| 1 |" in line for line in sec["lines"])
