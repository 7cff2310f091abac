"""Published EDNN Ising checkpoints: load (checksum verified), card contents, a quick metric on fresh data."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import zoo
from datamodules.physics import ising

NAMES = ["ednn/ising-f1c1", "ednn/ising-f1c2", "ednn/ising-f1c3"]


def fresh(L: int, n: int = 24, seed: int = 11) -> np.ndarray:
    """Metropolis configurations at T = 1.5 ... 4 (not the targeted-sampling training pool)."""
    r = ising.metropolis(L, [1.5, 2.27, 3.0, 4.0], n_chains=n // 4, n_equil=200, n_samples=1, seed=seed,
                         start="random", return_configs=True)
    return r["configs"].reshape(-1, L, L)


@pytest.mark.parametrize("name", [n for n in NAMES if n in zoo.list_pretrained("ednn")])
def test_card_and_load(name):
    m = zoo.load_pretrained(name)
    card = m.card
    assert card["model"] == "ednn" and card["init_args"]["context"] == int(name[-1])
    metrics = {x["name"]: x for x in card["metrics"]}
    assert metrics["median_abs_error"]["unit"] == "J" and "hash-split test" in metrics["median_abs_error"]["split"]
    assert {p["metric"] for p in card["paper"]} >= {"median_abs_error"}
    assert not m.training


def test_f1c1_on_fresh_lattices_of_other_sizes():
    m = zoo.load_pretrained("ednn/ising-f1c1")
    for L in (8, 32):
        s = fresh(L)
        err = (m.predict_energy(s).double() - torch.as_tensor(ising.energy(s), dtype=torch.float64)).abs()
        # card: 0.005 J median on 8x8 (8e-5 per spin); transfer keeps the per-spin error small
        assert float(err.median()) / (L * L) < 0.01, (L, float(err.median()))


def test_context_ordering_on_fresh_data():
    """The published checkpoints keep the paper's order c = 1 < c = 2 < c = 3 (Chem. Sci. 2019 Sec. 3.1, thesis L1812) on fresh data.  Note: ours
    were trained with unequal budgets (cards), unlike the paper; this guards the published files, not the claim."""
    names = [n for n in NAMES if n in zoo.list_pretrained("ednn")]
    assert "ednn/ising-f1c1" in names and len(names) >= 2
    s = fresh(8, n=40, seed=5)
    E = torch.as_tensor(ising.energy(s), dtype=torch.float64)
    errs = [float((zoo.load_pretrained(n).predict_energy(s).double() - E).abs().median()) for n in names]
    assert all(a < b for a, b in zip(errs, errs[1:])), dict(zip(names, errs))


COUNT = ["ednn/count-digits-1", "ednn/count-digits-2", "ednn/count-digits-10", "ednn/count-digits-2-occ",
         "ednn/count-digits-2-occ-vs"]


@pytest.mark.parametrize("name", COUNT)
def test_counting_checkpoint_counts_fresh_composites(name):
    """Fresh 128 x 128 composites from the held-out digit pools (a seed the card never saw): the rounded counts are
    mostly right, the density map sums to the count, and a box's region count matches the digits centred in it."""
    from datamodules.digits import DATASETS, composite, digit_pools, l_max_for
    from zoo.reports.ednn_counting import quadrant_counts

    if name not in zoo.list_pretrained("ednn"):
        pytest.fail(f"{name} is not published (checkpoints/ednn/)")
    m = zoo.load_pretrained(name)
    ds = m.card["dataset"]["init_args"]["dataset"]
    assert m.card["init_args"]["n_outputs"] == len(DATASETS[ds]["digits"])
    rng = np.random.default_rng(123)
    l_max = l_max_for(ds, 128)
    imgs, counts, centres = zip(*(composite(ds, 128, digit_pools()["test"], rng, l_max=l_max) for _ in range(16)))
    x = torch.as_tensor(np.stack(imgs))
    y = torch.as_tensor(np.stack(counts)).float()
    pred = m.count(x)
    assert pred.shape == y.shape
    # counts are uniform on 0..l_max: the best constant guess, l_max / 2, is the baseline to beat (the cards give
    # the accuracies; digits-10 is far from the paper's and only has to beat guessing clearly)
    mae, guess = float((pred - y).abs().mean()), float((y - l_max / 2).abs().mean())
    assert mae < 0.8 * guess, (mae, guess)
    torch.testing.assert_close(m.density_map(x).sum(dim=(-2, -1)), pred, rtol=1e-4, atol=1e-3)
    q = quadrant_counts(m, x.float().unsqueeze(1) / 255.0, np.stack(centres))
    assert q["n_regions"] == 64 and q["mean_abs_error"] < 0.8 * guess


# The cards' claims at the paper's canvas, held on fresh data: {name: (worst-class accuracy floor, mean |count error|
# ceiling)} over 100 fresh 256 x 256 composites.  Measured on seeds 2026-2028 (ten digits, 40 000-step bf16 recipe):
# worst class 0.88-0.89, error 0.108-0.117; the model it replaced (6000 fp32 steps): 0.47-0.56, 0.37-0.40.  Two
# digits with occlusion (30 000-step bf16 recipe): 0.93-0.95, 0.138-0.167 (paper 84.82 / 88.50 %); replaced model
# (3000 fp32 steps): 0.62-0.69, 0.38-0.44.
PAPER_CANVAS = {"ednn/count-digits-10": (0.80, 0.15), "ednn/count-digits-2-occ": (0.85, 0.22)}


@pytest.mark.parametrize("name", sorted(PAPER_CANVAS))
def test_counting_at_the_papers_canvas_on_fresh_composites(name):
    """100 fresh 256 x 256 composites at the paper's L_max from the held-out digit pools, drawn from a seed no split
    of the card's data uses: every class's rounded count is right often enough, and the counts are close."""
    from datamodules.digits import composite, digit_pools

    floor, ceiling = PAPER_CANVAS[name]
    m = zoo.load_pretrained(name)
    ds = m.card["dataset"]["init_args"]["dataset"]
    rng = np.random.default_rng(2026)
    imgs, counts = zip(*(composite(ds, 256, digit_pools()["test"], rng)[:2] for _ in range(100)))
    pred = torch.cat([m.count(torch.as_tensor(np.stack(imgs[i:i + 25]))) for i in range(0, 100, 25)])
    y = torch.as_tensor(np.stack(counts)).float()
    acc = (pred.round() == y).float().mean(0)
    assert float(acc.min()) >= floor, acc.tolist()
    assert float((pred - y).abs().mean()) <= ceiling
