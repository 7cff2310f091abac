"""Counting part of the EDNN report (Mills & Tamblyn 2021 (counting preprint), thesis section 3.5, Table 1, counting preprint Sec. 2, thesis L2117-2160).

Measured here from the published `ednn/count-digits-*` checkpoints on their held-out test composites (digit
instances from the test pools only): the card metrics beside the paper's, density maps overlaid on test images,
counts inside boxes (each quadrant of a 256 x 256 test image: region sum of the density map vs the digits whose
centre lies in the box), and one 1024 x 1024 scene with the paper's L_max scaled by area.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..figures import ednn as figs
from ..figures.common import save
from ..records import paper_vs_ours_markdown

COUNT = ["ednn/count-digits-1", "ednn/count-digits-2", "ednn/count-digits-10", "ednn/count-digits-2-occ",
         "ednn/count-digits-2-occ-vs"]


def _paper_cell(card: dict) -> str:
    """The card's paper numbers (zoo.evaluation.ednn.PAPER, set at publication), e.g. '84.82 % (counting preprint Sec. 3.1, thesis L2162 (MNIST-2-occ, 4s))'."""
    return "; ".join(f"{100 * p['value']:.2f} % ({p['ref']})" for p in card.get("paper", [])) or "-"


def _test_data(model, n: int):
    from datamodules.digits import DigitCountingDataModule

    args = {**model.card["dataset"]["init_args"], "progress": False}
    dm = DigitCountingDataModule(**args)
    dm.prepare_data()
    dm.setup()
    x, y = dm.splits["test"].tensors
    return dm, x[:n], y[:n], dm.centres["test"][:n]


def quadrant_counts(model, x: torch.Tensor, centres: np.ndarray) -> dict:
    """Rounded region counts of the density map in the four quadrants vs the digits centred there."""
    H = x.shape[-1]
    h = H // 2
    dmap = torch.cat([model.density_map(x[i:i + 8]) for i in range(0, len(x), 8)])  # (B, l, H, W)
    l = dmap.shape[1]
    hits, total, abs_err = np.zeros(l), 0, []
    for qr in (0, 1):
        for qc in (0, 1):
            pred = dmap[..., qr * h:(qr + 1) * h, qc * h:(qc + 1) * h].sum(dim=(-2, -1)).numpy()
            true = np.zeros_like(pred)
            for b in range(len(x)):
                for ci, r, c in centres[b]:
                    if ci >= 0 and qr * h <= r < (qr + 1) * h and qc * h <= c < (qc + 1) * h:
                        true[b, ci] += 1
            hits += (np.round(pred) == true).sum(0)
            abs_err.append(np.abs(pred - true))
            total += len(x)
    return {"accuracy_per_class": (hits / total).tolist(), "mean_abs_error": float(np.concatenate(abs_err).mean()),
            "n_regions": total}


def _overlay_figure(models: dict, data: dict, out: Path) -> Path:
    """Density maps and counts of the first two test composites of each model, drawn by
    zoo.figures.ednn.counting_density_figure."""
    rows = {}
    for name, m in models.items():
        _, x, y, _ = data[name]
        r = {"digits": m.card["dataset"]["init_args"]["dataset"], "images": [], "density": [], "true": [], "pred": []}
        for i in range(2):
            img = x[i:i + 1]
            r["images"].append(img[0, 0].numpy())
            r["density"].append(m.density_map(img)[0].numpy())
            r["pred"].append(m.count(img)[0].numpy())
            r["true"].append(y[i].numpy())
        rows[name] = r
    return save(figs.counting_density_figure(rows), out / "ednn_counting_density.png")


def big_scene(model, side: int = 1024, seed: int = 11) -> dict:
    """One side x side composite from the test pools with the paper's L_max scaled by area (256 -> side)."""
    from datamodules.digits import DATASETS, composite, digit_pools, l_max_for
    from datamodules.physics.ising import seed_sequence

    ds = model.card["dataset"]["init_args"]["dataset"]
    rng = np.random.default_rng(seed_sequence("ednn-report-scene", ds, side, seed))
    img, counts, _ = composite(ds, side, digit_pools()["test"], rng, l_max=l_max_for(ds, side))
    x = torch.as_tensor(img)[None]
    pred = model.count(x)[0].numpy()
    return {"dataset": ds, "digits": DATASETS[ds]["digits"], "image": img, "true": counts.tolist(),
            "pred": pred.tolist(), "density": model.density_map(x, upsample=False)[0].numpy()}


def _scene_figure(scene: dict, out: Path) -> Path:
    return save(figs.counting_scene_figure(scene["image"], scene["density"], scene["dataset"]),
                out / "ednn_counting_scene.png")


def counting_section(out: Path, quick: bool = False) -> list[str]:
    from zoo import hub

    models = {n: hub.load_pretrained(n) for n in COUNT if n in hub.list_pretrained("ednn")}
    lines = ["## Weakly supervised counting (paper section 3.5)", ""]
    missing = [n for n in COUNT if n not in models]
    if not models:
        return lines + ["No counting checkpoint is published in this checkout.", ""]
    torch.set_num_threads(1)
    lines += ["scikit-learn's bundled digits upscaled to 28 x 28 stand in for MNIST (no download here); train and "
              "test digit pools are split per digit before compositing. Metric: per-class accuracy of the rounded "
              "count on 256 x 256 held-out composites (the paper's Table 1 metric).", "",
              "| checkpoint | train canvas (last stage) | epochs at the checkpoint | paper (Table 1) | ours: worst class | ours: per class |",
              "|---|---|---|---|---|---|"]
    for n, m in models.items():
        a = m.card["dataset"]["init_args"]
        met = {x["name"]: x["value"] for x in m.card["metrics"]}
        per = ", ".join(f"{k.removeprefix('count_accuracy_digit')}: {100 * v:.1f} %" for k, v in met.items()
                        if k.startswith("count_accuracy_digit"))
        lines.append(f"| `{n}` | {a['canvas']} x {a['canvas']} | {m.card['training']['epochs']} | "
                     f"{_paper_cell(m.card)} | {100 * met['count_accuracy_worst_class']:.2f} % | "
                     f"{per} |")
    if missing:
        lines += ["", "Not published: " + ", ".join(f"`{n}`" for n in missing) + "."]
    lines += ["", "All card metrics:", ""] + paper_vs_ours_markdown({n: m.card for n, m in models.items()}) + [""]
    n = 40 if quick else 200
    data = {name: _test_data(m, n) for name, m in models.items()}
    lines += ["### Counts inside boxes", "",
              f"Each quadrant of {n} test images: the density map's sum inside the box, rounded, vs the number of "
              "digits whose centre lies in it (digits cut by a box edge make this stricter than whole-image "
              "counting).", "", "| checkpoint | regions | accuracy per class | mean abs error |", "|---|---|---|---|"]
    for name, m in models.items():
        _, x, _, centres = data[name]
        q = quadrant_counts(m, x, centres)
        acc = ", ".join(f"{100 * v:.1f} %" for v in q["accuracy_per_class"])
        lines.append(f"| `{name}` | {q['n_regions']} | {acc} | {q['mean_abs_error']:.3f} |")
    fig = _overlay_figure(models, data, out)
    lines += ["", f"![density maps]({fig.name})", ""]
    name = "ednn/count-digits-2" if "ednn/count-digits-2" in models else next(iter(models))
    scene = big_scene(models[name], side=512 if quick else 1024)
    fig = _scene_figure(scene, out)
    counts = ", ".join(f"digit {d}: {t} true, {p:.2f} predicted" for d, t, p in
                       zip(scene["digits"], scene["true"], scene["pred"]))
    lines += ["### A large scene", "", f"`{name}` on one {scene['image'].shape[0]} x {scene['image'].shape[0]} "
              f"composite (paper: a 1024 x 1024 scene; L_max scaled by area): {counts}.", "",
              f"![scene]({fig.name})", ""]
    return lines
