"""Published MBL checkpoints: load by name, checksum, and a quick metric on freshly generated eigenstates."""
from __future__ import annotations

import json

import numpy as np
import pytest

import zoo
from datamodules.mbl import MBLDataModule
from zoo.hub import ChecksumError, checkpoints_root


def _fresh_training_points(n_realizations=3, seed=777):
    """Fresh L = 8 eigenstates at the three training points (a data seed no checkpoint was trained on)."""
    dm = MBLDataModule(L=8, grid_realizations=0, train_realizations=n_realizations, seed=seed, progress=False,
                       gen_workers=1)
    dm.setup()
    return dm.train_point_data()


def test_mbl_checkpoints_are_published():
    names = zoo.list_pretrained("mbl")
    assert {"mbl/classifier-L8", "mbl/clusterer-L8", "mbl/classifier-L12", "mbl/clusterer-L12"} <= set(names)


def test_L12_models_on_fresh_L12_eigenstates():
    """One fresh L = 12 realization per training point (all ~3278 kept states each, ~4 s of ED per realization)."""
    dm = MBLDataModule(L=12, grid_realizations=0, train_realizations=1, seed=4242, progress=False, gen_workers=1,
                       val_fraction=0.0, test_fraction=0.0)
    dm.setup()
    t = dm.train_point_data()
    clf = zoo.load_pretrained("mbl/classifier-L12")
    assert clf.hparams.L == 12
    p = clf.predict_phase(t["spectra"]).numpy()
    for j in range(3):  # the right phase wins on average at each training point
        assert p[t["label"] == j].mean(0).argmax() == j
    clu = zoo.load_pretrained("mbl/clusterer-L12")
    assert type(clu).__name__ == "MBLClusterer" and clu.hparams.L == 12
    assert int(clu.n_resamples) == int(clu.n_clusters_hist.sum()) >= 50
    lab = clu.assign(t["spectra"], "spectral").numpy()
    assert (lab == t["label"]).mean() > 0.5, (lab == t["label"]).mean()  # chance 1/3


def test_classifier_L8_loads_and_classifies_fresh_eigenstates():
    m = zoo.load_pretrained("mbl/classifier-L8")
    assert type(m).__name__ == "MBLClassifier" and not m.training
    card = m.card
    assert card["model"] == "mbl" and card["metrics"] and card["paper"]
    t = _fresh_training_points()
    p = m.predict_phase(t["spectra"]).numpy()
    acc = (p.argmax(1) == t["label"]).mean()
    assert acc > 0.65, acc  # card: ~0.78 on held-out realizations; chance 1/3
    # per-point mean softmax: the right phase wins at each of the three points
    for j in range(3):
        assert p[t["label"] == j].mean(0).argmax() == j


def test_clusterer_L8_loads_with_its_maps_and_assigns_fresh_eigenstates():
    m = zoo.load_pretrained("mbl/clusterer-L8")
    assert type(m).__name__ == "MBLClusterer"
    rate = {x["name"]: x["value"] for x in m.card["metrics"]}["hdbscan_two_cluster_rate"]
    assert m.two_cluster_rate == pytest.approx(rate)
    assert int(m.n_resamples) == int(m.n_clusters_hist.sum())
    p, C = m.phase_diagram("spectral")
    assert p.shape == (m.hparams.n_delta, m.hparams.n_lambda, 3) and np.allclose(p.sum(-1), 1)
    t = _fresh_training_points()
    lab = m.assign(t["spectra"], "spectral").numpy()
    assert (lab == t["label"]).mean() > 0.5  # chance 1/3; card ~0.69 (L = 8 puts (-0.8, 0.2) near the PM/SG border)
    # out-of-sample labels of fresh eigenstates reproduce the averaged map near each point (3 nearest Delta)
    for j, (d, lam) in enumerate([(-0.8, 0.2), (0.8, 0.2), (0.0, 1.0)]):
        i, k = int(np.argmin(abs(m.deltas - d))), int(np.argmin(abs(m.lambdas - lam)))
        frac = np.bincount(lab[t["label"] == j], minlength=3) / (t["label"] == j).sum()
        np.testing.assert_allclose(frac, p[max(i - 1, 0):i + 2, k].mean(0), atol=0.2)
    for j in (1, 2):  # SG and thermal points: the majority label is the point's phase
        assert np.bincount(lab[t["label"] == j], minlength=3).argmax() == j


def test_tampered_weights_are_refused(tmp_path, monkeypatch):
    src = checkpoints_root() / "mbl"
    (tmp_path / "mbl").mkdir()
    card = json.loads((src / "classifier-L8.json").read_text())
    (tmp_path / "mbl" / "classifier-L8.json").write_text(json.dumps(card))
    raw = bytearray((src / "classifier-L8.safetensors").read_bytes())
    raw[-1] ^= 1
    (tmp_path / "mbl" / "classifier-L8.safetensors").write_bytes(bytes(raw))
    monkeypatch.setenv("ZOO_CHECKPOINTS", str(tmp_path))
    with pytest.raises(ChecksumError):
        zoo.load_pretrained("mbl/classifier-L8")


def test_cards_name_their_class_without_the_kind_switch():
    """Migrated cards: class_path names the class; no `kind`; the clusterer carries no optimizer it never used."""
    from zoo.hub import get_card
    from zoo.mbl import MBLClassifier, MBLClusterer

    for name in zoo.list_pretrained("mbl"):
        card = get_card(name)
        want = MBLClusterer if "clusterer" in name else MBLClassifier
        assert card["class_path"] == f"zoo.mbl.{want.__name__}" and "kind" not in card["init_args"]
        if want is MBLClusterer:
            assert not {"optimizer", "lr", "weight_decay", "lr_schedule"} & set(card["init_args"])
