"""Report for MBL phases from entanglement spectra (Durr & Chakravarty 2019; thesis ch. 1) -> reports/mbl.md + PNGs.

Uses the published `mbl/classifier-L8`, `mbl/clusterer-L8` (and the L = 12 ones where published): phase diagrams
(RGB: red PM, blue SG, green thermal / noise), C maps, slices at lambda = 0, 1, 2 and Delta = 0, the HDBSCAN
cluster-count histogram, supervised vs unsupervised agreement, the Z2 parity demo, SBRG vs ED (appendix 1.6.1) and
the speed numbers of benchmarks/results/mbl.json.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from callbacks.mbl_maps import confusion_maps_figure, phase_maps_figure
from ..figures.common import plt, save
from datamodules.physics import spin_chain as sc

from ..records import paper_vs_ours_markdown
from .common import RESULTS

NAMES = ["mbl/classifier-L8", "mbl/clusterer-L8", "mbl/classifier-L12", "mbl/clusterer-L12"]


def slices_figure(maps: dict, deltas, lambdas):
    lam_cuts = [0.0, 1.0, 2.0]
    fig, axes = plt.subplots(2, 4, figsize=(17, 6.5))
    colors = ["C3", "C0", "C2"]
    styles = ["-", "--", ":"]
    for k, lc in enumerate(lam_cuts):
        j = int(np.argmin(np.abs(lambdas - lc)))
        for s, (name, p) in enumerate(maps.items()):
            for c, ph in enumerate(("PM", "SG", "thermal/noise")):
                axes[0, k].plot(deltas, p[:, j, c], styles[s % 3], color=colors[c], label=f"{name}: {ph}")
            axes[1, k].plot(deltas, sc.confusion(p[:, j]), styles[s % 3], color="k", label=name)
        axes[0, k].set_title(f"lambda = {lambdas[j]:.2f}")
        axes[1, k].set_title(f"C at lambda = {lambdas[j]:.2f}")
        for a in axes[:, k]:
            a.set_xlabel("Delta")
    i0 = int(np.argmin(np.abs(deltas)))
    for s, (name, p) in enumerate(maps.items()):
        for c, ph in enumerate(("PM", "SG", "thermal/noise")):
            axes[0, 3].plot(lambdas, p[i0, :, c], styles[s % 3], color=colors[c], label=f"{name}: {ph}")
        axes[1, 3].plot(lambdas, sc.confusion(p[i0]), styles[s % 3], color="k", label=name)
    axes[0, 3].set_title(f"Delta = {deltas[i0]:.2f}")
    axes[1, 3].set_title(f"C at Delta = {deltas[i0]:.2f}")
    for a in axes[:, 3]:
        a.set_xlabel("lambda")
    axes[0, 0].set_ylabel("phase probability")
    axes[1, 0].set_ylabel("C")
    axes[0, 3].legend(fontsize=6)
    axes[1, 3].legend(fontsize=7)
    fig.tight_layout()
    return fig


def hist_figure(hist: np.ndarray):
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ks = np.arange(len(hist))
    ax.bar(ks, hist)
    ax.set_xlabel("clusters found by HDBSCAN")
    ax.set_ylabel("resamples")
    ax.set_xticks(ks)
    ax.set_title(f"{int(hist.sum())} resamples: 2 clusters in {hist[2] / max(hist.sum(), 1):.0%}", fontsize=9)
    return fig


def parity_demo(L: int, deltas, n_realizations: int, seed: int = 0) -> dict:
    """lambda = 0 slice, with and without parity resolution: mean S_A, fraction of PM-like states (largest rho_A
    eigenvalue > 0.9) and of symmetry-broken states (|<P>| < 0.9), and the spectra (for the classifier)."""
    out = {"deltas": np.asarray(deltas), "L": L}
    for resolve in (True, False):
        S, pm_like, broken, spectra = [], [], [], []
        for i, d in enumerate(deltas):
            rng = np.random.default_rng(sc.seed_sequence("parity-demo", seed, i))
            c = sc.sample_couplings(L, d, 0.0, rng, n=n_realizations)
            _, psi, _ = sc.eigenstates(L, c["J"], c["h"], c["lam_h"], c["lam_J"], resolve_parity=resolve)
            p = sc.rdm_spectrum(psi, L)
            S.append(sc.entanglement_entropy(p).mean())
            pm_like.append((p[..., 0] > 0.9).mean())
            broken.append((np.abs(sc.parity_expectation(psi)) < 0.9).mean())
            spectra.append(p.reshape(-1, p.shape[-1]))
        key = "resolved" if resolve else "full"
        out[key] = {"S": np.array(S), "pm_like": np.array(pm_like), "broken": np.array(broken), "spectra": spectra}
    return out


def parity_figure(demos: list[dict], classifier=None):
    n = len(demos) + (classifier is not None)
    fig, axes = plt.subplots(1, n, figsize=(5 * n, 3.6), squeeze=False)
    for ax, d in zip(axes[0], demos):
        for key, st in (("resolved", "-"), ("full", "--")):
            ax.plot(d["deltas"], d[key]["S"], st + "o", ms=3, color="C0", label=f"mean S_A ({key})")
            ax.plot(d["deltas"], d[key]["broken"], st, color="C3", label=f"|<P>| < 0.9 ({key})")
            ax.plot(d["deltas"], d[key]["pm_like"], st, color="C2", label=f"rho_A max > 0.9 ({key})")
        ax.set_xlabel("Delta (lambda = 0)")
        ax.set_title(f"L = {d['L']}: parity-resolved (solid) vs full eigh (dashed)", fontsize=9)
        ax.legend(fontsize=6)
    if classifier is not None:
        ax = axes[0, -1]
        d = [x for x in demos if x["L"] == classifier.hparams.L][0]
        for key, st in (("resolved", "-"), ("full", "--")):
            pr = np.array([classifier.predict_phase(s).mean(0).numpy() for s in d[key]["spectra"]])
            for c, (ph, col) in enumerate(zip(("PM", "SG", "thermal"), ("C3", "C0", "C2"))):
                ax.plot(d["deltas"], pr[:, c], st, color=col, label=f"{ph} ({key})")
        ax.set_xlabel("Delta (lambda = 0)")
        ax.set_title(f"classifier-L{classifier.hparams.L} on the lambda = 0 slice", fontsize=9)
        ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def agreement(p_sup: np.ndarray, p_uns: np.ndarray) -> dict:
    return {"argmax_agreement": float((p_sup.argmax(-1) == p_uns.argmax(-1)).mean()),
            "mean_abs_diff": float(np.abs(p_sup - p_uns).mean())}


def _size_section(out: Path, L: int, clf, clu, cards: dict) -> tuple[list, dict, dict]:
    """Phase maps, C maps, slices and the cluster-count histogram of the size-L models that are published."""
    from datamodules.mbl import MBLDataModule

    figs, maps, numbers = [], {}, {}
    deltas = lambdas = None
    if clf is not None:
        dm = MBLDataModule(**{**cards[f"mbl/classifier-L{L}"]["dataset"]["init_args"], "progress": False})
        dm.prepare_data()
        dm.setup()
        g = dm.grid_data()
        maps["supervised (mean softmax)"] = clf.phase_diagram(g["spectra"], g["point"], dm.n_delta, dm.n_lambda)[0]
        deltas, lambdas = dm.deltas, dm.lambdas
    if clu is not None:
        deltas, lambdas = clu.deltas, clu.lambdas
        if int(clu.n_accepted):
            maps["HDBSCAN (green = noise)"] = clu.phase_diagram("hdbscan")[0]
        maps["spectral, 3 clusters"] = clu.phase_diagram("spectral")[0]
        figs.append(save(hist_figure(clu.n_clusters_hist.numpy()), out / f"mbl_hdbscan_cluster_counts_L{L}.png"))
    if maps:
        figs.insert(0, save(phase_maps_figure(maps, deltas, lambdas, f"L = {L} phase diagrams: red PM, blue SG, "
                                              "green thermal (HDBSCAN: noise)"), out / f"mbl_phase_diagrams_L{L}.png"))
        cm = {k: v for k, v in maps.items() if not k.startswith("HDBSCAN")}
        figs.insert(1, save(confusion_maps_figure(cm, deltas, lambdas, f"L = {L} confusion C (Figs. 1.6-1.7)"),
                            out / f"mbl_confusion_maps_L{L}.png"))
        figs.insert(2, save(slices_figure(cm, deltas, lambdas), out / f"mbl_slices_L{L}.png"))
        numbers[f"_grid_L{L}"] = (len(deltas), len(lambdas))
    if clf is not None and clu is not None:
        numbers[f"supervised_vs_spectral_L{L}"] = agreement(maps["supervised (mean softmax)"],
                                                            maps["spectral, 3 clusters"])
    return figs, maps, numbers


def speed_lines() -> list[str]:
    """benchmarks/results/mbl.json (written by benchmarks/perf_mbl.py) as report lines."""
    path = RESULTS / "mbl.json"
    if not path.exists():
        return []
    r = json.loads(path.read_text())
    lines = ["## Speed (`benchmarks/perf_mbl.py`, medians, one thread)", ""]
    for L in (10, 12):
        e = r.get(f"ed_L{L}")
        if e:
            lines.append(f"- ED at L = {L}: parity-resolved {e['parity_resolved_s']:.2f} s vs full {e['full_s']:.2f} s "
                         f"per realization: **{e['speedup']:.1f}x** (issue target at L = 12: >= 10x).")
    for k, v in r.items():
        if k.startswith("js_") and isinstance(v, dict) and "speedup" in v:
            lines.append(f"- JS distance matrix, {k.split('_')[1]} spectra: ours {v['ours_torch_f32_s']:.3f} s vs scipy "
                         f"pdist {v['scipy_pdist_s']:.3f} s ({v['speedup']:.2f}x).")
        elif k == "js_6000_ours_s":
            lines.append(f"- JS distance matrix for one resample (6000 spectra): {v:.2f} s.")
    d = r.get("dataset_L8")
    if d:
        ex = d["extrapolated_full_grid_1200x100_s"]
        lines.append(f"- The L = 8 full-grid dataset (1200 points x 100 realizations), extrapolated from 10 x 100: "
                     f"{ex['workers=1'] / 60:.1f} min with 1 worker process, {ex['workers=2'] / 60:.1f} min with 2 "
                     f"({d['speedup_2_over_1']:.2f}x).")
    return lines + [""]


def write_report(out: Path, quick: bool = False) -> Path:
    import zoo

    t0 = time.time()
    out.mkdir(parents=True, exist_ok=True)
    names = [n for n in NAMES if n in zoo.list_pretrained("mbl")]
    models = {n: zoo.load_pretrained(n) for n in names}
    cards = {n: m.card for n, m in models.items()}
    figs, numbers = [], {}
    clf = models.get("mbl/classifier-L8")
    sized = {}  # L -> (deltas, lambdas, number of grid points) of that size's maps
    for L in (8, 12):
        f, g_, d = _size_section(out, L, models.get(f"mbl/classifier-L{L}"), models.get(f"mbl/clusterer-L{L}"), cards)
        figs += f
        numbers.update(d)
        if f:
            sized[L] = d.get(f"_grid_L{L}")
    numbers = {k: v for k, v in numbers.items() if not k.startswith("_grid")}
    # the Z2 parity demo at lambda = 0
    # L = 8 beyond the grid (Delta up to 6): e^{-Delta L} reaches double precision only there
    demo_deltas = np.linspace(-3, 6, 10 if quick else 19)
    demos = [parity_demo(8, demo_deltas, 4 if quick else 10)]
    if not quick:
        demos.append(parity_demo(10, np.linspace(-3, 3, 7), 2))
    figs.append(save(parity_figure(demos, clf), out / "mbl_parity_demo.png"))
    cuts = []
    for d in demos:
        for lo, hi_ in ((2.5, 3.0), (5.0, 6.0)):
            hi = (d["deltas"] >= lo - 1e-9) & (d["deltas"] <= hi_ + 1e-9)
            if not hi.any():
                continue
            key = f"L{d['L']}_delta_{lo:g}_to_{hi_:g}"
            cuts.append(key)
            numbers[f"parity_demo_{key}"] = {
                "broken_fraction_full_eigh": float(d["full"]["broken"][hi].mean()),
                "broken_fraction_resolved": float(d["resolved"]["broken"][hi].mean()),
                "mean_S_full": float(d["full"]["S"][hi].mean()),
                "mean_S_resolved": float(d["resolved"]["S"][hi].mean())}
    from datamodules.physics.sbrg import sbrg_report_section

    sb = sbrg_report_section(out, quick=quick)  # Figs. 1.13 and 1.1, and the L = 8 SBRG-vs-ED error table
    figs += sb["figs"]
    numbers["sbrg"] = sb["numbers"]
    (out / "mbl_numbers.json").write_text(json.dumps(numbers, indent=1) + "\n")

    lines = ["# MBL eigenstate phases — Durr & Chakravarty, PRB 100, 075102 (2019)", "",
             "Thesis ch. 1 (`shared/papers/durr-2022-thesis.txt`); spec `spec-durr-mbl-ntk-gan.md` part A, C2, C4, D1-D8.",
             "The thesis reports no numerical phase boundaries or accuracies (spec A6): except for HDBSCAN's "
             "two-cluster rate, every paper entry below is the qualitative statement it makes, with its line. "
             "Ours are measured by `zoo publish` (card `metrics`); `zoo evaluate mbl/...` re-measures on fresh data.", "",
             "## Paper vs ours", ""] + paper_vs_ours_markdown(cards) + [""]
    missing = sorted(set(NAMES) - set(names))
    if missing:
        lines += [f"Not published: {', '.join(missing)}.", ""]
    for L, (nd, nl) in sized.items():
        a = numbers.get(f"supervised_vs_spectral_L{L}")
        if a:
            lines += [f"## Supervised vs unsupervised, L = {L}", "",
                      f"Argmax maps of the supervised classifier and of spectral clustering agree on "
                      f"{a['argmax_agreement']:.1%} of the {nd * nl} grid points (target, ours: >= 85 %; paper: "
                      f"'remarkable agreement', L490); mean |p_sup - p_spectral| = {a['mean_abs_diff']:.3f}.", ""]
    lines += ["## Z2 parity (spec D1)", "",
              "At lambda = 0 the spin-glass eigenstates are cat doublets split by ~prod(h/J) ~ e^{-Delta L}. "
              "Below double precision a full-matrix `eigh` returns symmetry-broken, product-like states "
              "(rho_A ~ (1, 0, ...), like the paramagnet) instead of cats (rho_A ~ (1/2, 1/2, 0, ...)).", ""]
    for key in cuts:
        x = numbers[f"parity_demo_{key}"]
        Lk, _, rng_ = key.partition("_delta_")
        lines.append(f"- {Lk.replace('L', 'L = ')}, Delta in [{rng_.replace('_to_', ', ')}], lambda = 0: symmetry-broken "
                     f"eigenstates (|<P>| < 0.9) {x['broken_fraction_full_eigh']:.1%} with a full eigh vs "
                     f"{x['broken_fraction_resolved']:.1%} parity-resolved; mean S_A "
                     f"{x['mean_S_full']:.3f} vs {x['mean_S_resolved']:.3f} nats.")
    lines += ["", "The artifact needs e^{-Delta L} below ~1e-14, so it grows with L: this is the likely origin of the "
              "thesis's 'asymmetry near Delta = 3 at lambda = 0' (L481, Fig. 1.12) at L = 12.", ""]
    lines += sb["lines"] + speed_lines()
    lines += ["## Figures", ""] + [f"![{p.stem}]({p.name})" for p in figs] + [""]
    lines += ["## Commands", "", "```",
              "zoo data generate --config configs/mbl/classifier-L8.yaml   # the L = 8 dataset (torchrun-aware)",
              "zoo fit --config configs/mbl/classifier-L8.yaml",
              "zoo publish runs/mbl/classifier-L8/checkpoints/last.ckpt --name mbl/classifier-L8 "
              "--config configs/mbl/classifier-L8.yaml",
              "zoo fit --config configs/mbl/clusterer-L8.yaml                # one resample per step, no optimizer",
              "zoo publish runs/mbl/clusterer-L8/checkpoints/last.ckpt --name mbl/clusterer-L8 "
              "--config configs/mbl/clusterer-L8.yaml",
              "zoo fit --config configs/mbl/classifier-L12.yaml              # L = 12: 3 training points + coarse grid",
              "zoo fit --config configs/mbl/clusterer-L12.yaml",
              "zoo evaluate --model mbl", "zoo reproduce mbl", "```", "",
              "Choices that are ours, not the paper's, are stated in each config's header and in the cards' `notes`.",
              f"Report built in {time.time() - t0:.0f} s."]
    path = out / "mbl.md"
    path.write_text("\n".join(lines) + "\n")
    return path
