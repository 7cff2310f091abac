"""Counting composites from scikit-learn digits (Mills & Tamblyn 2021 (counting preprint), Table 1) and the counting EDNN pipeline."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from datamodules.digits import DATASETS, DigitCountingDataModule, composite, digit_pools, l_max_for

torch.set_num_threads(1)


def test_pools_are_split_per_digit_before_compositing():
    p = digit_pools()
    for d in range(10):
        tr, te = p["train"][d], p["test"][d]
        assert tr.shape[1:] == te.shape[1:] == (28, 28) and tr.dtype == np.uint8
        assert 0.08 < len(te) / (len(tr) + len(te)) < 0.12  # the paper's 480 / 4800
        assert not {x.tobytes() for x in tr} & {x.tobytes() for x in te}
        assert tr[:, :4].max() == 0 and tr[:, :, 24:].max() == 0  # MNIST layout: 20 x 20 box, 4-pixel margin


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_composite_counts_and_ranges(dataset):
    rng = np.random.default_rng(1)
    p = digit_pools()["train"]
    l_max = l_max_for(dataset, 96)
    assert l_max_for(dataset, 256) == DATASETS[dataset]["l_max"]
    for _ in range(3):
        img, counts, centres = composite(dataset, 96, p, rng)
        assert img.shape == (96, 96) and img.dtype == np.uint8
        assert counts.shape == (len(DATASETS[dataset]["digits"]),)
        assert counts.min() >= 0 and counts.max() <= l_max
        placed = centres[centres[:, 0] >= 0]
        np.testing.assert_array_equal(np.bincount(placed[:, 0], minlength=len(counts)), counts)
        if counts.sum() == 0:
            assert img.max() == 0


def test_no_overlap_means_the_image_is_an_unclipped_sum():
    """Without occlusion the digit boxes are disjoint, so total ink equals the sum of the placed digits' ink."""
    p = {d: v[:1] for d, v in digit_pools()["train"].items()}  # one instance per digit: known ink
    rng = np.random.default_rng(3)
    img, counts, _ = composite("digits-2", 96, p, rng, l_max=3)
    ink = {d: p[d][0].astype(np.int64).sum() for d in (4, 8)}
    assert img.astype(np.int64).sum() == counts[0] * ink[4] + counts[1] * ink[8]


def test_datamodule_is_deterministic_and_test_uses_the_big_canvas(tmp_path):
    kw = dict(dataset="digits-2", canvas=32, test_canvas=48, n_train=6, n_val=3, n_test=4, shard_size=4,
              progress=False, gen_workers=1)
    a = DigitCountingDataModule(data_dir=str(tmp_path / "a"), **kw)
    a.prepare_data()
    a.setup()
    b = DigitCountingDataModule(data_dir=str(tmp_path / "b"), **kw)
    b.prepare_data()
    b.setup()
    for s in ("train", "val", "test"):
        for u, v in zip(a.splits[s].tensors, b.splits[s].tensors):
            assert torch.equal(u, v)
    assert a.splits["train"].tensors[0].shape == (6, 1, 32, 32)
    assert a.splits["test"].tensors[0].shape == (4, 1, 48, 48)
    assert float(a.splits["train"].tensors[0].max()) <= 1.0
    with pytest.raises(ValueError, match="dataset must be one of"):
        DigitCountingDataModule(dataset="mnist")


def test_counting_pipeline_on_a_tiny_canvas(tmp_path):
    from zoo.ednn import CountingEDNN

    dm = DigitCountingDataModule(dataset="digits-1", canvas=32, test_canvas=48, n_train=8, n_val=2, n_test=2,
                                 shard_size=8, progress=False, gen_workers=1, data_dir=str(tmp_path))
    dm.prepare_data()
    dm.setup()
    m = CountingEDNN(focus=8, context=8, n_outputs=1, filters=8, fc_width=16, lr=1e-3)
    m.log = m.log_dict = lambda *a, **k: None
    x, y = dm.splits["train"].tensors
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = m.training_step((x, y), 0)  # y as served: (B, 1) counts for one class
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    # the loss is on matching (B, l) shapes (a (B,) vs (B, 1) pair would broadcast to (B, B) silently)
    assert m(x).shape == y.shape
    m._eval_step((x, y), m.val_metrics, "val")
    xt = dm.splits["test"].tensors[0]
    assert m.count(xt).shape == (2, 1)
    dmap = m.density_map(xt)
    assert dmap.shape == (2, 1, 48, 48)
    torch.testing.assert_close(dmap.sum(dim=(-2, -1)), m.count(xt), rtol=1e-4, atol=1e-4)


def test_val_canvas_sets_the_validation_size_and_leaves_older_recipes_alone(tmp_path):
    from datamodules.cache import recipe_hash

    kw = dict(dataset="digits-2", canvas=32, test_canvas=48, n_train=4, n_val=3, n_test=2, shard_size=4,
              progress=False, gen_workers=1, data_dir=str(tmp_path))
    dm = DigitCountingDataModule(val_canvas=48, **kw)
    dm.prepare_data()
    dm.setup()
    assert dm.splits["train"].tensors[0].shape == (4, 1, 32, 32)
    assert dm.splits["val"].tensors[0].shape == (3, 1, 48, 48)
    # without the option the recipe is the one published cards hash (ednn/count-digits-10's card: 97335c41b7ee94a4)
    old = DigitCountingDataModule(dataset="digits-10", canvas=128, test_canvas=256, n_train=16000, n_val=400,
                                  n_test=400, batch_size=32)
    assert "val_canvas" not in old.recipe() and recipe_hash(old.recipe()) == "97335c41b7ee94a4"
    assert recipe_hash(dm.recipe()) != recipe_hash(DigitCountingDataModule(**kw).recipe())
    with pytest.raises(ValueError, match="val_canvas"):
        DigitCountingDataModule(val_canvas=20, **kw)


def test_augment_is_the_identity_at_zero_angle_and_unit_scale(monkeypatch):
    from datamodules import digits

    img = digit_pools()["train"][7][0]
    monkeypatch.setattr(digits, "AUGMENT_ROTATION", 0.0)
    monkeypatch.setattr(digits, "AUGMENT_SCALE", (1.0, 1.0))
    np.testing.assert_allclose(digits._augment(img, np.random.default_rng(0)), img, atol=1e-3)
    monkeypatch.setattr(digits, "AUGMENT_SCALE", (1.25, 1.25))  # 28 -> 35 pixels, ink ~ area
    big = digits._augment(img, np.random.default_rng(0))
    assert big.shape == (35, 35) and abs(big.sum() / img.astype(float).sum() - 1.25 ** 2) < 0.05


def test_augment_touches_training_digits_only(tmp_path, monkeypatch):
    """Every placed training digit goes through _augment once; validation and test digits never do."""
    from datamodules import digits

    calls = []
    monkeypatch.setattr(digits, "_augment", lambda d, rng: calls.append(1) or d)
    kw = dict(dataset="digits-2", canvas=48, test_canvas=48, n_train=6, n_val=3, n_test=4, shard_size=8,
              progress=False, gen_workers=1, data_dir=str(tmp_path))
    dm = DigitCountingDataModule(augment=True, **kw)
    dm.prepare_data()
    dm.setup()
    assert len(calls) == int(dm.splits["train"].tensors[1].sum()) > 0
    assert dm.recipe()["augment"] is True and "augment" not in DigitCountingDataModule(**kw).recipe()
