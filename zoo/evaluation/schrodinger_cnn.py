"""What a published Schrodinger CNN card measures, and the paper's numbers beside it (Mills, Spanner & Tamblyn,
PRA 96, 042113 (2017), arXiv:1702.01361)."""
from __future__ import annotations

import torch

from ..records import metric

__all__ = ["measure", "PAPER"]

_PRA = "PRA 96, 042113"
# The paper's median absolute errors (mHa) on 50 000 held-out potentials, per published variant
# (section / figure of the paper, thesis line in parentheses).
PAPER = {
    "sho": [{"metric": "median_abs_error", "value": 1.51, "unit": "mHa", "ref": f"{_PRA}, Sec. III, Fig. 4a (thesis L1384)"}],
    "iw": [{"metric": "median_abs_error", "value": 5.04, "unit": "mHa", "ref": f"{_PRA}, Sec. III, Fig. 4b (thesis L1386)"}],
    "dig": [{"metric": "median_abs_error", "value": 2.70, "unit": "mHa", "ref": f"{_PRA}, Sec. III, Fig. 4c (thesis L1388)"}],
    "random-rot90": [
        {"metric": "rotation_median_abs_diff", "value": 1.6, "unit": "mHa",
         "text": "median |pred(V) - pred(rot90 V)| after rotation augmentation: < 1.6 mHa (1.7 before)",
         "ref": f"{_PRA}, Sec. IV (thesis L1409)"},
        {"metric": "median_abs_error", "value": 1.49, "unit": "mHa", "text": "the random model's error (no augmented "
         "number is given)", "ref": f"{_PRA}, Sec. III, Fig. 4d (thesis L1388)"},
    ],
    "random": [
        {"metric": "median_abs_error", "value": 1.49, "unit": "mHa",
         "text": "after 400k examples and 2000 epochs; 2.13 mHa after 200k x 1000 epochs",
         "ref": f"{_PRA}, abstract and Sec. III, Fig. 4d (thesis L1298, L1388)"},
        {"metric": "median_abs_error_on_dig", "value": 2.94, "unit": "mHa", "text": "random-trained model on DIG",
         "ref": f"{_PRA}, Sec. III (thesis L1390)"},
        {"metric": "rotation_median_abs_diff", "value": 1.7, "unit": "mHa",
         "text": "median |pred(V) - pred(rot90 V)| before rotation augmentation; < 1.6 mHa after",
         "ref": f"{_PRA}, Sec. IV (thesis L1409)"},
    ],
    "dig-excited": [{"metric": "median_abs_error", "value": 10.93, "unit": "mHa", "text": "first excited state e1",
                     "ref": f"{_PRA}, Sec. III, Fig. 5b (thesis L1394)"}],
    "random-kinetic": [{"metric": "median_abs_error", "value": 2.98, "unit": "mHa", "text": "kinetic energy <T>",
                        "ref": f"{_PRA}, Sec. III, Fig. 5a (thesis L1396)"}],
    "mixed": [{"metric": "median_abs_error", "value": 5.90, "unit": "mHa", "text": "one model, equal mix of 4 classes",
               "ref": f"{_PRA}, Sec. III (thesis L1392)"}],
}


@torch.no_grad()
def measure(model, data_args: dict, seed: int | None = None, progress: bool = False,
            n_test: int | None = None, include_transfer: bool = True) -> list[dict]:
    """The card's metrics on freshly generated potentials: the test split of the DataModule built
    from `data_args` with `seed` replaced (a new recipe hash, so new potentials) and no train/val
    samples generated.  Errors in mHa."""
    from datamodules.schrodinger import FAMILY_NAMES, SchrodingerDataModule

    args = {**data_args, "label": model.hparams.label, "grid": model.hparams.grid, "progress": progress,
            "n_train": 0, "n_val": 0, "augment_rot90": False}
    if seed is not None:
        args["seed"] = seed
    if n_test is not None:
        args["n_test"] = n_test
    dm = SchrodingerDataModule(**args)
    dm.prepare_data()
    dm.setup()
    V, y = dm.splits["test"].tensors
    split = (f"fresh test set ({len(V)} {dm.family} potentials, {dm.grid}^2 grid, labels solved on "
             f"{dm.solve_grid}^2, analytic: {dm.analytic_labels}, data seed {dm.seed})")
    label = model.hparams.label
    pred = model.predict_energy(V).cpu().double()
    err = (pred - y.double()).abs() * 1e3
    # torch.quantile interpolates like MedianAbsoluteError (torch.median takes the lower middle value)
    out = [metric("median_abs_error", torch.quantile(err, 0.5), split, f"median |{label} - prediction|", "mHa"),
           metric("mean_abs_error", err.mean(), split, f"mean |{label} - prediction|", "mHa")]
    rot = model.predict_energy(torch.rot90(V, 1, dims=(-2, -1))).cpu().double()
    out.append(metric("rotation_median_abs_diff", torch.quantile((rot - pred).abs() * 1e3, 0.5), split,
                      "median |pred(V) - pred(rot90 V)| (the labels are rotation invariant)", "mHa"))
    if dm.family == "mixed":
        fam = dm.family_of("test")
        for f in FAMILY_NAMES:
            sel = torch.as_tensor(fam == f)
            out.append(metric(f"median_abs_error_{f}", torch.quantile(err[sel], 0.5), split,
                              f"median |{label} - prediction| over the {int(sel.sum())} {f} potentials", "mHa"))
    if dm.family == "random" and label == "e0" and include_transfer:
        # the paper's transfer test (Sec. III, thesis L1390): the random-trained model on double inverted Gaussians
        dig = measure(model, {**args, "family": "dig"}, seed=seed, progress=progress, include_transfer=False)
        out.append({**dig[0], "name": "median_abs_error_on_dig"})
    return out
