"""Report for the Ising CNN (Mills & Tamblyn 2018)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from datamodules.physics import ising

from ..figures import ising_cnn as paper_figs
from ..figures.common import save
from ..figures.supervised import confusion_figure, parity_figure
from ..records import paper_vs_ours_markdown

NAMES = ["ising_cnn/4x4-classify", "ising_cnn/4x4-classify-random", "ising_cnn/8x8-classify", "ising_cnn/8x8-energy",
         "ising_cnn/8x8-magnetization"]


def _thermo_4x4(models, out: Path) -> Path:
    T = np.linspace(1.0, 4.0, 61)
    curves = {f"{name.split('/')[1]} (NN energy)": m.thermodynamics(T) for name, m in models.items()}
    return save(paper_figs.thermo_4x4(T, curves, ising.exact_thermodynamics(T, 4)), out / "ising_cnn_thermo_4x4.png")


def _thermo_8x8(energy_model, mag_model, out: Path, quick: bool) -> tuple[Path, dict]:
    from datamodules.physics.nn_mc import metropolis_with_operator

    T = np.linspace(1.5, 3.5, 9 if quick else 13)
    tm = ising.transfer_matrix_thermodynamics(np.linspace(1.5, 3.5, 41), 8)
    kw = dict(n_chains=8 if quick else 30, n_equil=40 if quick else 100, n_samples=40 if quick else 150, seed=7)
    t0 = time.time()
    nn = metropolis_with_operator(lambda s: energy_model.predict_energy(s).numpy(), 8, T,
                                  magnetization_fn=lambda s: mag_model.predict_magnetization(s).numpy(), **kw)
    wall = time.time() - t0
    ref = ising.metropolis(8, T, n_chains=kw["n_chains"], n_equil=kw["n_equil"], n_samples=kw["n_samples"], every=1,
                           seed=7, algorithm="random_site")
    n_sim = len(T) * kw["n_chains"]
    fig = paper_figs.thermo_mc(T, nn, ref, tm, f"8x8 Ising: Metropolis with the 8x8-classify energy and 8x8-magnetization "
                         f"networks in the loop ({n_sim} simulations)")
    exact_at = ising.transfer_matrix_thermodynamics(T, 8)
    dev = {k: float(np.max(np.abs(nn[k] - exact_at[k]))) for k in "ecm"}
    dev_ref = {k: float(np.max(np.abs(ref[k] - exact_at[k]))) for k in "ecm"}
    return save(fig, out / "ising_cnn_thermo_8x8.png"), {"nn": dev, "exact_mc": dev_ref, "n_sim": n_sim, "wall_s": wall,
                                                         **kw}


def _sampling_figure(out: Path) -> Path:
    from datamodules.ising import IsingDataModule

    pools = []
    for L, n_t, n_r in [(4, 27000, 11250), (8, 163800, 163800)]:
        by_sampling = {}
        for sampling, n in [("random", n_r), ("targeted", n_t)]:
            dm = IsingDataModule(L=L, sampling=sampling, n_samples=n, progress=False,
                                 **({"eval_on": "all", "val_fraction": 0, "test_fraction": 0} if L == 4 else {}))
            dm.prepare_data()
            by_sampling[sampling] = ising.energy(dm.cache.load()["spins"])
        pools.append((L, by_sampling))
    return save(paper_figs.level_histograms(pools), out / "ising_cnn_sampling.png")


def write_report(out: Path, quick: bool = False) -> Path:
    import zoo
    from datamodules.ising import IsingDataModule

    out.mkdir(parents=True, exist_ok=True)
    names = [n for n in NAMES if n in zoo.list_pretrained("ising_cnn")]
    models = {n: zoo.load_pretrained(n) for n in names}
    cards = {n: m.card for n, m in models.items()}
    figs = [_sampling_figure(out)]
    if {"ising_cnn/4x4-classify", "ising_cnn/4x4-classify-random"} <= set(models):
        figs.append(_thermo_4x4({n: models[n] for n in names if n.startswith("ising_cnn/4x4")}, out))
        for n in ("ising_cnn/4x4-classify", "ising_cnn/4x4-classify-random"):
            allx = ising.enumerate_configs(4)
            y = ising.energy_to_class(ising.energy(allx), 4)
            pred = models[n]._batched(allx).argmax(-1).numpy()
            figs.append(save(confusion_figure(pred, y, 15, ising.energy_levels(4), n), out / f"{n.replace('/', '_')}_confusion.png"))
    thermo8 = None
    if {"ising_cnn/8x8-classify", "ising_cnn/8x8-magnetization"} <= set(models):
        p, thermo8 = _thermo_8x8(models["ising_cnn/8x8-classify"], models["ising_cnn/8x8-magnetization"], out, quick)
        figs.append(p)
    for n in ("ising_cnn/8x8-classify", "ising_cnn/8x8-energy", "ising_cnn/8x8-magnetization"):
        if n not in models:
            continue
        m = models[n]
        args = {**cards[n]["dataset"]["init_args"], "label": {"classify": "energy_class"}.get(m.task, m.task),
                "progress": False}
        dm = IsingDataModule(**args)
        dm.setup()
        x, y = dm.splits["test"].tensors
        if m.task == "classify":
            pred = m._batched(x).argmax(-1).numpy()
            fig = confusion_figure(pred, y.numpy(), len(m.levels), ising.energy_levels(8), n)
        else:
            pred = (m._batched(x) * m.target_scale).numpy()
            fig = parity_figure(pred, y.numpy(), m.target_unit, n)
        figs.append(save(fig, out / f"{n.replace('/', '_')}_test.png"))

    lines = ["# Ising CNN — Mills & Tamblyn, PRE 97, 032119 (2018)", "",
             "arXiv:1706.09779; thesis §3.1 (`shared/papers/mills-2021-thesis.txt` L990–1264).",
             "Every number under *ours* was measured by `zoo publish` on the checkpoint's held-out data (card "
             "`metrics`); `zoo evaluate ising_cnn/...` re-measures on freshly generated data.", "",
             "## Paper vs ours", ""] + paper_vs_ours_markdown(cards, skip=("n_errors",)) + [""]
    missing = sorted(set(NAMES) - set(names))
    if missing:
        lines += [f"Not published yet: {', '.join(missing)}.", ""]
    if thermo8:
        lines += ["## 8×8 Monte Carlo with the networks as operators", "",
                  f"{thermo8['n_sim']} independent random-site Metropolis simulations ({thermo8['n_equil']} equilibration "
                  f"sweeps, {thermo8['n_samples']} recorded sweeps each; paper: 400 simulations, protocol unstated), "
                  f"{thermo8['wall_s']:.0f} s. Largest absolute deviation from the exact transfer-matrix curves "
                  f"over T (same MC budget with exact operators in brackets): "
                  + ", ".join(f"{k}: {thermo8['nn'][k]:.3g} ({thermo8['exact_mc'][k]:.3g})" for k in "ecm") + ".", ""]
    lines += ["## Figures", ""] + [f"![{p.stem}]({p.name})" for p in figs] + [""]
    lines += ["## Commands", "", "```",
              *[f"zoo fit --config configs/ising_cnn/{n.split('/')[1]}.yaml" for n in NAMES],
              *[f"zoo publish runs/ising_cnn/{n.split('/')[1]}/checkpoints/last.ckpt --name {n} "
                f"--config configs/ising_cnn/{n.split('/')[1]}.yaml" for n in NAMES],
              "zoo evaluate --model ising_cnn", "zoo reproduce ising_cnn", "```", "",
              "Choices that are ours, not the paper's, are stated in each config's header and in the cards' `notes`."]
    path = out / "ising_cnn.md"
    path.write_text("\n".join(lines) + "\n")
    return path
