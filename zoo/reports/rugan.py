"""Report for RUGAN (Casert, Mills, Vieijra, Ryckebusch, Tamblyn, arXiv:2002.07055): `zoo reproduce rugan` ->
reports/rugan.md + PNGs.

Everything is measured afresh from the published checkpoint(s) against new Monte Carlo samples
(hybrid Metropolis + Wolff at the same L and T); the card's metrics are listed beside them.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..figures.common import save
from ..figures.rugan import (correlations_figure, gallery_figure, histograms_figure, observables_vs_T_figure,
                             selection_figure)
from ..records import fmt, paper_vs_ours_rows
from .common import RESULTS

NAME = "rugan/ising-T-L16"
RUN_DIR = Path("runs/rugan/ising-T-L16")


def gallery_beside_mc(model, temps, sizes, seed: int, mc_tag: str, heldout=()):
    """One generated sample (seed + index of T) beside one Monte Carlo sample (seed f"{mc_tag}/{L}/{T}") per (T, L)."""
    from datamodules.physics import ising_cluster as W

    samples = {(L, T): model.sample(1, L=L, temperature=T, seed=seed + i, extrapolate=True).numpy()
               for i, T in enumerate(temps) for L in sizes}
    mc = {(L, T): W.thermal_samples(L, T, 1, n_chains=1, n_equil=100, seed=f"{mc_tag}/{L}/{T}")[0]
          for T in temps for L in sizes}
    return gallery_figure(samples, temps, sizes, reference=mc, heldout=heldout)


def _figures(model, rows, heldout, out: Path) -> list[Path]:
    from datamodules.physics import ising

    gallery = gallery_beside_mc(model, [1.25, 1.75, 2.25, 2.45, 3.0, 3.25], [16, 32, 64], 100, "gallery", heldout)
    paths = [save(gallery, out / "rugan_gallery.png"),
             save(histograms_figure(rows), out / "rugan_histograms.png"),
             save(observables_vs_T_figure(rows, ising.T_C), out / "rugan_observables.png"),
             save(correlations_figure(rows), out / "rugan_correlations.png")]
    hist = RUN_DIR / "checkpoints" / "physics-best-history.json"
    if hist.exists():
        paths.append(save(selection_figure(json.loads(hist.read_text())), out / "rugan_selection.png"))
    return paths


def _domain_lines(model, T: float = 1.5, n: int = 64) -> list[str]:
    """Upscaling in the ordered phase: global vs 16 x 16-block magnetization of generated samples by size."""
    from datamodules.physics import ising

    rows = ["| L | <\\|m\\|> | fraction with \\|m\\| > 0.9 | <\\|m\\|> of 16 x 16 blocks | e per spin |", "|---|---|---|---|---|"]
    for L in (16, 32, 64):
        s = model.sample(n, L=L, temperature=T, seed=3).numpy()
        am = np.abs(s.reshape(n, -1).mean(1))
        blocks = np.abs(s.reshape(n, L // 16, 16, L // 16, 16).mean(axis=(2, 4))).mean()
        rows.append(f"| {L} | {am.mean():.3f} | {(am > 0.9).mean():.2f} | {blocks:.3f} | "
                    f"{(ising.energy(s) / (L * L)).mean():.3f} |")
    mc = ising.onsager_magnetization(T)
    return [f"### Upscaling in the ordered phase (T = {T}, {n} samples per size; Onsager |m| = {float(mc):.3f})", "",
            *rows, "", "The sign of m is a global choice in the ordered phase; a fully convolutional generator "
            "driven by local latent noise cannot coordinate it beyond its receptive field, so upscaled samples break "
            "into domains (block |m| well above global |m|, energy above MC). The (E, m)-conditioned model is told m "
            "and keeps its accuracy at L = 64 (section below).", ""]


def _speed_lines() -> list[str]:
    path = RESULTS / "rugan_perf.json"
    if not path.exists():
        return ["Not measured in this checkout: run `python benchmarks/perf_rugan.py`.", ""]
    r = json.loads(path.read_text())
    lines = [f"`benchmarks/perf_rugan.py` ({r['model']}, {r['threads']} thread; medians). Metropolis decorrelated "
             "configurations/s = sweeps/s / (2 tau_int(|m|)); each GAN sample is independent.", "",
             "| L | T | Metropolis sweeps/s | tau_int (sweeps) | how | Metropolis decorrelated/s | RUGAN samples/s | "
             "RUGAN / Metropolis |", "|---|---|---|---|---|---|---|---|"]
    for x in r["rows"]:
        lines.append(f"| {x['L']} | {x['T']} | {x['metropolis_sweeps_per_s']:.4g} | {x['tau_int_sweeps']:.4g} | "
                     f"{x['tau_how']} | {x['metropolis_decorrelated_per_s']:.4g} | {x['rugan_samples_per_s']:.4g} | "
                     f"**{x['ratio_rugan_over_metropolis']:.3g}x** |")
    if "tc_tau_vs_L" in r:
        z = r["tc_dynamic_exponent_fit"]
        taus = ", ".join(f"L = {t['L']}: {t['tau_int_sweeps']:.3g}" + ("" if t["reliable"] else " (unreliable)")
                         for t in r["tc_tau_vs_L"])
        lines += ["", f"tau_int at T_c (sweeps): {taus}; fitted z = {z['z']:.2f} over L = {z['sizes']} "
                      f"(literature {z['literature_z']}; {z['how']})."]
    if "load_average_start" in r:
        lines += ["", f"Load average {r['load_average_start']:.1f} at the start, {r['load_average_end']:.1f} at the end "
                      "(2 cores): the ratios compare rates measured in the same run; the absolute rates are lower "
                      "than on an idle machine."]
    lines += ["", f"Training throughput at L = 16, batch 32: {r['training_generator_steps_per_s_L16_batch32']:.3g} "
                  f"generator steps/s (n_critic {r['training_n_critic']}).", ""]
    return lines


def card_rows(model, quick: bool = False) -> tuple[list[dict], str]:
    """A published temperature RUGAN's evaluation rows: those `zoo publish` saved for this very checkpoint (same
    sha256) in the checkout, else fresh ones (new MC and GAN draws, seed 2024); and a phrase saying which."""
    from zoo.evaluation.rugan import evaluation_rows, rows_file

    card = model.card
    saved_path = RESULTS / rows_file(card["name"])  # written by `zoo publish` in the checkout
    saved = json.loads(saved_path.read_text()) if saved_path.exists() else {}
    if saved.get("sha256") == card["sha256"] and not quick:
        return saved["rows"], f"the rows measured at publish (`benchmarks/results/{saved_path.name}`)"
    rows = evaluation_rows(model, card["dataset"]["init_args"], seed=2024, quick=quick, progress=True)
    return rows, "fresh samples (new MC and GAN draws, seed 2024)" + (" quick" if quick else "")


def card_tables(card: dict, rows: list[dict], source: str) -> list[str]:
    """Markdown: the card's summary metrics beside `rows`' (targets table), then one row per (L, T)."""
    from zoo.evaluation.rugan import CRIT_WINDOW, summarize

    lines = [f"`{card['name']}`, trained {card['training'].get('global_step')} optimizer steps "
             f"({fmt(card['training'].get('wall_time_s'))} s wall) on {card['training'].get('hardware')}.",
             f"Off-critical = T outside {list(CRIT_WINDOW)}. 'card' = the card's value; 'here' = from {source}.", "",
             "| metric | target / paper | card | here | where |", "|---|---|---|---|---|"]
    per_point = tuple(m["name"] for m in card["metrics"] if "@" in m["name"])  # in the table below
    for r in paper_vs_ours_rows(card, summarize(rows), skip=per_point):
        unit = f" {r['unit']}" if r["unit"] else ""
        lines.append(f"| {r['metric']} | {r['paper']} | {r['ours']} | {r['now']}{unit} | {r['split']} |")
    lines += ["", "Per temperature and size:", "", "| L | T | split | <e> GAN | <e> MC | de (+-err) | <\\|m\\|> GAN | <\\|m\\|> MC | dm (+-err) | "
              "W1(e)/W1(random) | C/N GAN / MC | chi/N GAN / MC |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["L"], r["T"])):
        lines.append(f"| {r['L']} | {r['T']} | {r['split']} | {r['e_gan']:.4f} | {r['e_mc']:.4f} | "
                     f"{r['de']:+.4f} ({r['e_err']:.4f}) | {r['m_gan']:.4f} | {r['m_mc']:.4f} | "
                     f"{r['dm']:+.4f} ({r['m_err']:.4f}) | {r['w1_e'] / r['w1_e_random']:.3f} | "
                     f"{r['c_gan']:.3f} / {r['c_mc']:.3f} | {r['chi_gan']:.3f} / {r['chi_mc']:.3f} |")
    return lines


def write_report(out_dir, quick: bool = False) -> Path:
    import zoo
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    lines = ["# RUGAN: Regressive Upscaling GAN (Casert, Mills, Vieijra, Ryckebusch, Tamblyn, arXiv:2002.07055)", "",
             "Phys. Rev. Research 3, 033267 (2021); Mills thesis Sec. 4.2 and App. A (L2430-2452, L3016-3278).",
             "A label-conditioned, fully convolutional WGAN-GP with a consistency term, trained on L = 16 Ising",
             "configurations at 15 temperatures and queried at held-out temperatures and at L = 32, 64, 128.", ""]
    if NAME not in zoo.list_pretrained("rugan"):
        lines += ["**No published checkpoint yet.** Train and publish with the commands below.", ""]
        card, rows = None, []
    else:
        model = zoo.load_pretrained(NAME)
        card = model.card
        data_args = card["dataset"]["init_args"]
        rows, source = card_rows(model, quick)
        lines += ["## Targets (ours; the paper reports figures, not numbers) vs measured", ""]
        lines += card_tables(card, rows, source)
        heldout = [float(t) for t in data_args.get("heldout_temperatures", [])]
        figs = _figures(model, rows, heldout, out)
        lines += ["", "## Figures", ""] + [f"![{p.stem}]({p.name})" for p in figs]
        lines += [""] + _domain_lines(model)
    from zoo.reports.rugan_em import em_section
    from zoo.reports.rugan_upscaling import upscaling_section

    lines += [""] + upscaling_section(out, quick=quick, base_rows=rows)
    lines += [""] + em_section(out, quick=quick)
    lines += ["", "## Speed", ""] + _speed_lines()
    lines += ["## Paper's qualitative claims", "",
              "- Interpolation to unseen labels and upscaling to larger systems work (arXiv:2002.07055 main text, "
              "Figs. 2C-F and 3; thesis L3063, L3078, L3089).",
              "- Upscaling fails where a new length scale appears, e.g. the diverging correlation length at T_c: the",
              "  receptive field is finite (main text; thesis L3069). Our critical-window rows above show what happens.",
              "- Model selection by physical observables at training labels only; the Wasserstein estimate plateaus "
              "(Supp. A.3; thesis L3158-3165): `callbacks/physics_selection.py`, score history in the selection figure.",
              "- The (E/L^2, m)-conditioned model of Fig. 6 (Supp. A.4; thesis L3169-3178): see its section above "
              "(`rugan/ising-em-L16`).", "",
              "## Commands", "", "```",
              "zoo fit --config configs/rugan/ising-T-L16.yaml",
              "zoo publish runs/rugan/ising-T-L16/checkpoints/physics-best.ckpt --name rugan/ising-T-L16 \\",
              "    --config configs/rugan/ising-T-L16.yaml --wall-time SECONDS",
              "zoo evaluate rugan/ising-T-L16",
              "zoo reproduce rugan            # this report (--quick: 4x fewer samples)",
              "python benchmarks/perf_rugan.py",
              "```", "",
              f"Report generated in {time.time() - t0:.0f} s{' (quick)' if quick else ''}."]
    path = out / "rugan.md"
    path.write_text("\n".join(lines) + "\n")
    return path
