"""Issue 17's part of the NTK GAN report (`zoo.reports.ntk_gan`): why the phase-boundary slopes of the Fourier critics
differ from the thesis's or where they reproduce it, and what sets the ReLU boundary's R^2.  Durr, Tu, Mroueh & Wang,
"A Phase Transition in Model GAN Dynamics" (in preparation, no arXiv id), Ch. 2 of S. Durr, PhD thesis, UCLA (2022):
Sec. 2.4.1 (Figs. 2.14-2.17) and App. 2.7.2 (Figs. 2.21-2.22); "thesis L..." is a line of
shared/papers/durr-2022-thesis.txt.  Everything here is recomputed from the stored sweeps in benchmarks/results/
(benchmarks/reproduce_ntk_gan_sweep.py); nothing is run.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..records import fmt
from .common import RESULTS

# the re-runs at the faster critic, alpha_D = 0.1 (the only critic rate the thesis states: Sec. 2.3, footnote 14,
# thesis L1214), next to the calibrated alpha_D = 1e-2 sweeps
FAST = "_alpha-d-0.1"

PAPER_SLOPES = {"relu": ("0.92 (log-log)", "Fig. 2.14 caption, thesis L1342"),
                "tanh": ("not given (log-linear)", "Fig. 2.16 caption, thesis L1356"),
                "fourier-pow": ("4.90 (log-log)", "App. 2.7.2, Fig. 2.21 caption, thesis L1572"),
                "fourier-exp": ("1.86 (log-linear)", "App. 2.7.2, Fig. 2.22 caption, thesis L1577")}


def _f(v, nd=3):
    """`nd` significant digits; '-' for missing or non-finite numbers."""
    if v is None or (isinstance(v, (float, np.floating)) and not np.isfinite(v)):
        return "-"
    return fmt(float(f"{v:.{nd}g}")) if isinstance(v, (float, np.floating)) else fmt(v)


def _rate_tags(crit: str) -> list[str]:
    """'' (the calibrated-rate sweep) and the tags of the re-runs at other critic rates, slowest critic first."""
    def rate(tag: str) -> float | None:
        try:
            return float(tag.removeprefix("_alpha-d-"))
        except ValueError:  # another seed or grid at that rate (e.g. _alpha-d-0.1_seed-1): not a rate's sweep
            return None

    tags = [p.stem.removeprefix(f"ntk_gan_sweep_{crit}") for p in RESULTS.glob(f"ntk_gan_sweep_{crit}_alpha-d-*.json")]
    return [""] + sorted((t for t in tags if rate(t) is not None), key=rate)


def slope_finding(out: Path | None = None) -> list[str]:
    """Issue 17: why our Fourier-critic slopes are not the thesis's 4.90 and 1.86, from the stored sweeps (the
    critic-rate figure goes to `out` when given)."""
    from ..evaluation.ntk_gan import slope_variants
    from ..ntk_gan_sweep import log_spaced

    rows = ["| critic | order parameter | n_disc slices with r* | r* per slice | slope ln n vs x (+- s.e.) | R^2 | "
            "fitted the other way | log10 n | n_disc 1 -> 20 spans | paper |", "|---|---|---|---|---|---|---|---|---|---|"]
    got, relu_tables = {}, {}
    for crit, tag in [("relu", "")] + [(c, t) for c in ("fourier-pow", "fourier-exp") for t in _rate_tags(c)]:
        path = RESULTS / f"ntk_gan_sweep_{crit}{tag}.json"
        if not path.exists():
            continue
        res = json.loads(path.read_text())
        label = crit if not tag else f"{crit}, alpha_D {res['settings']['lr_d']:g}"
        for op, key in (("final (the thesis's)", "mc_final"), ("avg (ours)", "mc_avg")):
            mc = np.array([[np.nan if v is None else v for v in row] for row in res[key]], float)
            if np.isnan(mc).mean() > 0.5:
                continue
            v = got[crit + tag, key] = slope_variants(res["ratios"], res["n_discs"], mc, log_spaced(crit))
            nd = [n for n, r in zip(res["n_discs"], v["r_star"]) if np.isfinite(r)]
            span = (f"r x {v['span']:.2f}" if log_spaced(crit) else f"dr = {v['span']:.3f}")
            rows.append(f"| {label} | {op} | {nd} | {', '.join(_f(r, 2) for r in v['r_star'] if np.isfinite(r))} | "
                        f"{v['slope']:.3g} +- {v['slope_se']:.2g} | {v['r2']:.3f} | {v['slope_inverse']:.3g} | "
                        f"{v['slope_log10']:.3g} | {span} | {PAPER_SLOPES[crit][0]} |")
    extra = RESULTS / "ntk_gan_sweep_relu_n-disc-3.json"
    if got.get(("relu", "mc_final")) is not None and extra.exists():
        # the extra slice has the same settings and seed, so its cells are the ones the main grid would hold
        res, ex3 = json.loads((RESULTS / "ntk_gan_sweep_relu.json").read_text()), json.loads(extra.read_text())
        nd = sorted(set(res["n_discs"]) | set(ex3["n_discs"]))
        mc = np.full((len(nd), len(res["ratios"])), np.nan)
        for src in (res, ex3):
            for c in src["cells"]:
                j = [k for k, r in enumerate(res["ratios"]) if abs(r - c["r"]) < 1e-9 * r]
                if j and c.get("mc") is not None:
                    mc[nd.index(c["n_disc"]), j[0]] = c["mc"]
        v = slope_variants(res["ratios"], nd, mc, True)
        rows += [f"| relu + the n_disc 3 slice | final (the thesis's) | "
                        f"{[n for n, r in zip(nd, v['r_star']) if np.isfinite(r)]} | "
                        f"{', '.join(_f(r, 2) for r in v['r_star'] if np.isfinite(r))} | {v['slope']:.3g} +- "
                        f"{v['slope_se']:.2g} | {v['r2']:.3f} | {v['slope_inverse']:.3g} | {v['slope_log10']:.3g} | "
                        f"r x {v['span']:.2f} | 0.92 (log-log) |"]
        got["relu+3", "mc_final"] = v
        relu_tables = {"relu": (res["ratios"], res["n_discs"], mc[[nd.index(n) for n in res["n_discs"]]]),
                       "relu + the n_disc 3 slice": (res["ratios"], nd, mc)}
    if not got:
        return []
    pw, ex = got.get(("fourier-pow", "mc_final")), got.get(("fourier-exp", "mc_final"))
    lines = ["### Why our Fourier-critic slopes differ from the thesis's (issue 17)", "",
             "What the thesis fits (Sec. 2.4.1, thesis L1323-1347; App. 2.7.2, L1532-1577, 'the same experiments "
             "performed in section 2.4'): the mode-collapse metric MC (eq. 2.45) *after* the last of 3000 (power-law "
             "gamma, Fig. 2.21) or 2000 (exponential gamma, Fig. 2.22) steps, i.e. one snapshot (our 'final'); x = "
             "g2/g1 at 25 values in [0.01, 1] under g1 + g2 (N - 1) = N with N = 200 (Sec. 2.4.1, L1286, L1304); y = "
             "n_disc = 1..20; per n_disc slice a sigmoid in x, its half-way point, and a straight line through the "
             "half-way points on the log-log (power law) or log-linear (exponential) plot (Figs. 2.15, 2.17); the "
             "caption's 'slope' is that line's; gamma(k) (eqs. 2.51-2.52) and the 2500 wave vectors (L1532) are the "
             "thesis's and ours alike. Not stated anywhere: alpha_D, alpha_G, the log base and which way the line is fitted (the figures, "
             "where the axes are drawn, are not in our copy of the text). Ours: the same MC, normalization, N, "
             "gamma(k) and k grid; our rates (calibrated, alpha_D = 1e-2, alpha_G = 1e-5), n_disc {1, 2, 4, 8, 16}; "
             "the first Fourier cards used our averaged MC, the republished ones (issue 17) the thesis's final MC and "
             "carry the slope's standard error. Every convention, recomputed from the stored sweeps "
             "(`zoo.evaluation.ntk_gan.slope_variants`; ReLU beside them: there our convention gives the thesis's "
             "0.92 within its standard error):", "", *rows, ""]
    if pw is not None:
        lines += [f"Fourier power law at our calibrated alpha_D = 1e-2: fitted the thesis's way (final MC) the slope is "
                  f"{pw['slope']:.2f} +- {pw['slope_se']:.2f} ({pw['n_points']} slices; {pw['slope_inverse']:.2f} "
                  f"fitted the other way), {(4.90 - pw['slope']) / pw['slope_se']:.1f} standard errors below the "
                  "thesis's 4.90; the first card's 2.46 came from our averaged MC, not the thesis's snapshot. The "
                  "mechanism of Sec. 2.5 (eq. 2.47: the critic must learn k ~ N g2 / (l g1), in a time 1/gamma(k) = "
                  "k^3) predicts 3, between our two order parameters. Consistent with 4.90 at the 2-sigma level, not "
                  "a reproduction.", ""]
        lines += _pow_rates(got, out)
    rl = got.get(("relu", "mc_final"))
    if rl is not None:
        res = json.loads((RESULTS / "ntk_gan_sweep_relu.json").read_text())
        nd = res["n_discs"]
        lines += [f"ReLU boundary R^2 = {rl['r2']:.3f} (issue 17's target 0.9; the thesis quotes none): "
                  f"{rl['n_points']} n_disc slices with a transition out of {nd}. n_disc = 1 never converges at our "
                  "rates, even at r = 0.001 (final MC >= 1.09 across the row), the final-MC rows are single "
                  "snapshots and not monotone in r (n_disc 8: 0.93 at r = 0.0067, then 0.00 at 0.011), and the r "
                  "grid is coarse above 0.017 (next point 0.045), so one slice's half-way point moves R^2 by "
                  "several hundredths. The thesis's own cure is its grid, every n_disc from 1 to 20."]
        v3 = got.get(("relu+3", "mc_final"))
        if v3 is not None:
            lines[-1] += (f" We added the n_disc = 3 slice (same settings, 5 r around the transition, "
                          f"`benchmarks/results/ntk_gan_sweep_relu_n-disc-3.json`): slope {v3['slope']:.2f} +- "
                          f"{v3['slope_se']:.2f}, R^2 {v3['r2']:.3f} over {v3['n_points']} slices (table above): "
                          "its half-way point lands next to n_disc 4's, so a denser n_disc grid alone does not lift "
                          "R^2; the scatter is that of single final-MC snapshots of one seed (averaging seeds would "
                          "be ours, the thesis shows one run per cell). The sweep-relu card is unchanged.")
        lines[-1] += (" Cost: the n_disc 3 cells took 82-122 s each and an n_disc 5 cell 268 s on the loaded box (4000 "
                      "steps, width 2048), ~35-55 s per unit of n_disc, so the thesis's n_disc 1..20 on our 9 r is "
                      "9 x 210 x (35-55) s = 18-29 core-hours; 4 seeds of our 5 slices on 5 r near the transition, "
                      "to average the snapshot noise, 4 x 5 x 23 x (35-55) s = 4.5-7 core-hours.")
        lines.append("")
        if relu_tables:
            lines += _halfway_readings(relu_tables)
    fast = got.get(("fourier-exp" + FAST, "mc_final"))
    if ex is not None:
        lines += [f"Fourier exponential at our calibrated alpha_D = 1e-2 (the first sweep-fourier-exp card): no "
                  f"convention comes near 1.86. The base of the log "
                  f"divides our {ex['slope']:.0f} by 2.30 (to {ex['slope_log10']:.0f}), fitting the other way or the "
                  f"averaged MC change it by 10-15 %. The difference is where the boundary lies: ours moves by dr = "
                  f"{ex['span']:.3f} while n_disc goes 1 -> 20 (r* = "
                  f"{', '.join(_f(r, 2) for r in ex['r_star'] if np.isfinite(r))}), inside the first spacing of the "
                  "thesis's own linear grid (0.041: at n_disc = 20, r = 0.051 and 0.093, its 2nd and 3rd points, "
                  "still collapse, MC 1.72 and 1.86, calibration rows below); the thesis's 1.86 needs dr = ln 20 / "
                  "1.86 = 1.6 (0.70 in log10), most of [0.01, 1]. The Sec. 2.5 mechanism (eq. 2.47: ln n* = 2.05 k* "
                  "+ const, k* ~ N r / l) would make the slope rate-independent, 2.05 N / l = 410 / l at N = 200 "
                  f"(ours: l = {410 / ex['slope']:.1f}; the thesis's 1.86: l = 220, far beyond the data), and a "
                  "10 x faster critic would only shift the boundary by ln 10 / slope = 0.03.", ""]
    if fast is not None:
        fres = json.loads((RESULTS / "ntk_gan_sweep_fourier-exp_alpha-d-0.1.json").read_text())
        fnd = fres["n_discs"]
        lines += [f"It does not: with alpha_D = 0.1 instead of 0.01 (the same alpha_G, 2000 steps; one re-run, "
                  f"`benchmarks/results/ntk_gan_sweep_fourier-exp_alpha-d-0.1.json`, {len(fres['ratios'])} r in "
                  f"[{min(fres['ratios']):g}, {max(fres['ratios']):g}] x n_disc {fnd}, {fres['wall_s_total'] / 60:.0f} "
                  "min on one thread) n_disc = 6 converges up to r = 0.1 (calibration rows below) and the boundary "
                  f"moves into the thesis's range: r* = {', '.join(_f(r, 2) for r in fast['r_star'] if np.isfinite(r))}"
                  f" for n_disc {[n for n, r in zip(fnd, fast['r_star']) if np.isfinite(r)]}, slope "
                  f"{fast['slope']:.2f} +- {fast['slope_se']:.2f} in ln n_disc per unit g2/g1 ({fast['slope_log10']:.2f}"
                  f" in log10; R^2 {fast['r2']:.2f}; the thesis: 1.86). So the exponential boundary's slope is set by "
                  "the critic's rate, which the thesis does not give: a larger alpha_D also shortens the critic's "
                  "memory (its L2 decay alpha_D gamma(k) lambda per step), so it tracks the current cloud instead "
                  "of integrating stale mismatch, which the Sec. 2.5 argument leaves out. Conclusion: 80 vs 1.86 was "
                  "a difference of unstated rates, not of the fit; at a 10x faster critic our slope in the thesis's "
                  f"units (natural log, the fit the thesis describes, final MC) is {fast['slope']:.2f}, "
                  f"{abs(fast['slope'] - 1.86) / fast['slope_se']:.1f} standard errors from 1.86 (4 slices of the "
                  "thesis's 20): reproduced at these rates, which are ours. The card ntk_gan/sweep-fourier-exp now "
                  "holds this table (republished from the JSON with --publish-only; its test re-runs the two cells "
                  "around the n_disc 4 transition).", ""]
    return lines




def _halfway_readings(tables: dict) -> list[str]:
    """Issue 17's 'ReLU boundary R^2 >= 0.9 (now 0.89)': is the fit's definition a lever?  The thesis's "halfway
    points of these sigmoids" (Figs. 2.15, 2.17 captions; thesis L1347, L1360) read three ways
    (`zoo.ntk_gan_sweep.fit_boundary(halfway=...)`), on the stored final-MC tables; nothing is rerun."""
    from ..evaluation.ntk_gan import slope_variants
    from ..ntk_gan_sweep import HALFWAY

    means = {"center": "centre of the 4-parameter sigmoid (half-way between its fitted plateaus; the cards)",
             "level": "where that sigmoid crosses log(8)/2 (half-way between convergence and total collapse)",
             "fixed": "centre of a sigmoid pinned to 0 and log 8 (2 parameters)"}
    rows = ["| table | half-way point | r* per slice | slope +- s.e. | R^2 |", "|---|---|---|---|---|"]
    r2, slope = {}, {}
    for name, (ratios, nd, mc) in tables.items():
        for h in HALFWAY:
            v = slope_variants(ratios, nd, mc, True, halfway=h)
            r2[name, h], slope[name, h] = v["r2"], v["slope"]
            rs = ", ".join(f"{n}: {_f(r, 2)}" for n, r in zip(nd, v["r_star"]) if np.isfinite(r))
            rows.append(f"| {name} | {h}: {means[h]} | {rs} | {v['slope']:.2f} +- {v['slope_se']:.2f} | "
                        f"{v['r2']:.3f} |")
    lo, hi = min(r2.values()), max(r2.values())
    passing = [h for h in HALFWAY if all(r2[n, h] >= 0.9 for n in tables)]
    best = max(HALFWAY, key=lambda h: r2[next(iter(tables)), h])
    fs = ", ".join(dict.fromkeys(f"{slope[n, 'fixed']:.2f}" for n in tables))  # once if the tables agree
    verdict = (f"No honest lever: R^2 ranges {lo:.3f}-{hi:.3f} over the readings and tables, and no reading reaches "
               "0.9 on both tables. " if not passing else
               f"The reading(s) {passing} reach 0.9 on every table (R^2 {lo:.3f}-{hi:.3f} overall). ")
    verdict += (f"The reading that raises the main table's R^2 most ('{best}') "
                + ("moves the n_disc 2 point, whose final-MC row never goes below 0.9 (a sigmoid forced down to 0 "
                   f"puts its centre wherever the row first rises), and turns the slope into {fs} against the card's "
                   "~1 and the thesis's 0.92. " if best == "fixed" else "is shown above. ")
                + "Picking the reading that passes would be choosing the fit for the target, so every card keeps "
                "the centre reading; the R^2 is that of single-seed final-MC snapshots on a 5-slice grid (the "
                "costs of a denser grid or more seeds are above).")
    return ["Is the fit's definition a cheap lever on R^2? The thesis says only 'a sigmoid for each n_disc slice' "
            "and 'a linear fit of the halfway points of these sigmoids' (Fig. 2.15 caption, thesis L1347), which "
            "reads three ways; recomputed on the stored ReLU tables (no new runs):", "", *rows, "", verdict, ""]


def _pow_rates(got: dict, out: Path | None) -> list[str]:
    """Issue 17: the Fourier power-law boundary at the other critic rates (the re-runs ntk_gan_sweep_fourier-pow_alpha-
    d-*.json): r* against the critic's learning per generator step n_disc * alpha_D, where the sweeps meet."""
    from ..figures import ntk_gan as figs
    from ..figures.common import save
    from ..ntk_gan_sweep import fit_boundary

    runs = {}
    for tag in _rate_tags("fourier-pow"):
        v = got.get(("fourier-pow" + tag, "mc_final"))
        if v is not None:
            res = json.loads((RESULTS / f"ntk_gan_sweep_fourier-pow{tag}.json").read_text())
            runs[res["settings"]["lr_d"]] = (res, v)
    fast = runs.get(0.1)
    if fast is None:
        return ["The power-law slope at a faster critic (alpha_D = 0.1, where the exponential one reproduces, below) "
                "is not measured yet (benchmarks/reproduce_ntk_gan_sweep.py --critic fourier-pow --lr-d 0.1 "
                "--order-param final --tag alpha-d-0.1; about 15 min on one thread).", ""]
    res, v = fast
    rs = [r for r in v["r_star"] if np.isfinite(r)]
    lines = [f"At alpha_D = 0.1, the rate at which the exponential boundary reproduces (below) and the one rate the "
             f"thesis states for a critic (Sec. 2.3, footnote 14, thesis L1214), the power law does not reproduce "
             f"either; it disappears. Re-run `benchmarks/results/ntk_gan_sweep_fourier-pow{FAST}.json`: "
             f"{len(res['ratios'])} r of the thesis's log grid in [{min(res['ratios']):.3g}, "
             f"{max(res['ratios']):.3g}] x n_disc {res['n_discs']}, 3000 steps, final MC, the same fit, "
             f"{res['wall_s_total'] / 60:.0f} min on one thread. Every slice has its half-way point in "
             f"[{min(rs):.3f}, {max(rs):.3f}] (r* = {', '.join(_f(r, 2) for r in v['r_star'])}), with no trend in "
             f"n_disc: ln r* on ln n_disc has slope {v['x_per_ln_n']:.3f} +- {v['x_per_ln_n_se']:.3f} (R^2 "
             f"{v['r2']:.2f}), so the boundary is a vertical line and the caption's slope (ln n_disc on ln r) is "
             f"{v['slope']:.1f} +- {v['slope_se']:.1f}: undefined, not 4.90 (that 4.90 lies inside this error bar "
             "means nothing at R^2 0.01)."]
    seed = RESULTS / f"ntk_gan_sweep_fourier-pow{FAST}_seed-1.json"
    if seed.exists():
        from ..evaluation.ntk_gan import slope_variants

        sres = json.loads(seed.read_text())
        smc = np.array([[np.nan if x is None else x for x in row] for row in sres["mc_final"]], float)
        sv = slope_variants(sres["ratios"], sres["n_discs"], smc, True)
        r0 = dict(zip(res["n_discs"], v["r_star"]))
        pairs = ", ".join(f"n_disc {n}: {_f(r, 2)} (seed 0: {_f(r0.get(n), 2)})"
                          for n, r in zip(sres["n_discs"], sv["r_star"]))
        lines[-1] += (f" Another seed (seed {sres['settings']['seed']}: other initial cloud and data stream, the Fourier critic starts at 0 either way; "
                      f"n_disc {sres['n_discs']} on {len(sres['ratios'])} r in [{min(sres['ratios']):.3g}, "
                      f"{max(sres['ratios']):.3g}], `benchmarks/results/{seed.name}`) gives r* = {pairs}.")
    series = {}
    for lr_d, (res_k, v_k) in sorted(runs.items()):
        series[lr_d] = dict(zip((float(f"{n * lr_d:.6g}") for n in res_k["n_discs"]), v_k["r_star"]))
    extra_note = ""
    ext = RESULTS / "ntk_gan_sweep_fourier-pow_n-disc-32.json"
    if ext.exists() and 0.01 in runs:
        # more n_disc slices at the calibrated rate (same settings, so the same runs the main grid would hold)
        eres, (cres, cv) = json.loads(ext.read_text()), runs[0.01]
        same = ({k: v_ for k, v_ in eres["settings"].items() if k != "avg_frac"}
                == {k: v_ for k, v_ in cres["settings"].items() if k != "avg_frac"})
        emc = np.array([[np.nan if x is None else x for x in row] for row in eres["mc_final"]], float)
        eb = fit_boundary(eres["ratios"], eres["n_discs"], emc, log_r=True)
        if same:
            pts = []
            for n, r in zip(eres["n_discs"], eb["r_star"]):
                series[0.01][float(f"{n * 0.01:.6g}")] = r
                # where the calibrated rate's power law (its 5 slices, ln n = slope ln r + c) puts n_disc n
                pred = np.exp((np.log(n) - _intercept(cv, cres)) / cv["slope"])
                pts.append(f"n_disc {n}: r* = {_f(r, 2)}, where the alpha_D 1e-2 line through n_disc 1-16 "
                           f"(slope {cv['slope']:.2f}) puts {_f(pred, 2)}")
            extra_note = (" At the calibrated rate alone the boundary bends the same way: one more slice, " + "; ".join(pts)
                          + f" (`benchmarks/results/{ext.name}`, {len(eres['ratios'])} r).")
    effs = sorted({e for col in series.values() for e in col})
    rows = ["| n_disc x alpha_D | " + " | ".join(f"r* at alpha_D {lr:g} (n_disc)" for lr in series) + " |",
            "|---|" + "---|" * len(series)]
    for e in effs:
        rows.append(f"| {e:g} | " + " | ".join(f"{_f(col[e], 2)} ({e / lr:.0f})" if e in col else ""
                                               for lr, col in series.items()) + " |")
    slow = [r for col in series.values() for e, r in col.items() if e <= 0.02 and np.isfinite(r)]
    fastr = [r for col in series.values() for e, r in col.items() if e >= 0.1 and np.isfinite(r)]
    text = ("Why (our reading of three sweeps): the boundary depends on n_disc and alpha_D nearly through their "
            "product, the critic's learning per generator step, and it saturates. On that axis (table, figure) the "
            "sweeps agree where they meet to ~20 %, one to two steps of the thesis's r grid (x 1.21 each), and r* "
            f"rises from {_f(min(slow), 2)}-{_f(max(slow), 2)} at n_disc alpha_D <= 0.02 to a plateau, "
            f"{_f(min(fastr), 2)}-{_f(max(fastr), 2)} for every n_disc alpha_D from 0.1 to {max(effs):g}: past that, "
            "more critic learning per step does not let a larger off-diagonal NTK converge (our reading: the critic "
            "is then near its equilibrium every step and the generator's own rate sets the transition). A straight "
            "line in log-log through the boundary therefore has a slope that depends on which stretch of this curve "
            "n_disc = 1..20 samples, i.e. on alpha_D, which the thesis does not give: ")
    text = text.replace(" A straight line in log-log", extra_note + " A straight line in log-log", 1)
    def one(lr, v_k):
        inv = f"d ln r*/d ln n_disc {v_k['x_per_ln_n']:.3f} +- {v_k['x_per_ln_n_se']:.3f}"
        if v_k["r2"] < 0.3:  # no line: the caption's slope is undefined, only the other-way slope means something
            return f"none at alpha_D {lr:g} (R^2 {v_k['r2']:.2f}; {inv})"
        return f"{v_k['slope']:.2f} +- {v_k['slope_se']:.2f} at alpha_D {lr:g} (R^2 {v_k['r2']:.2f}; {inv})"

    order = sorted(runs.items())
    text += "; ".join(one(lr, v_k) for lr, (_, v_k) in order) + " (the thesis's 4.90 is d ln r*/d ln n_disc = 0.204). "
    fitted = [(lr, v_k) for lr, (_, v_k) in order if v_k["r2"] >= 0.3]
    near = [f"{lr:g}" for lr, v_k in fitted if abs(v_k["slope"] - 4.90) <= 2 * v_k["slope_se"]]
    brackets = [(a_, b_) for (a_, va), (b_, vb) in zip(fitted, fitted[1:]) if va["slope"] < 4.90 < vb["slope"]]
    if brackets:
        lo_, hi_ = brackets[0]
        text += (f"So our slope passes through 4.90 between alpha_D = {lo_:g} and {hi_:g}"
                 + (f" (within 2 standard errors of it at alpha_D {', '.join(near)})" if near else "")
                 + ", and the thesis's number is reproduced in that sense only: ")
    else:
        text += "So 4.90 is not reproduced at any rate we ran: "
    text += ("over a factor 10 in a rate the thesis does not state, the same gamma(k) gives a log-log slope from "
             f"{fitted[0][1]['slope']:.1f} to a vertical line, so 4.90 is a property of the thesis's rates as much as of "
             "gamma(k), and the 'extremely clear' power law of Fig. 2.21 holds for us only while the critic is slow "
             "enough for n_disc = 1..20 to stay on the rising part of r*(n_disc alpha_D). ")
    if any(0.01 < lr < 0.1 for lr in runs):
        text += ("The intermediate rate was run to test this reading, not to fit the thesis: the card "
                 "ntk_gan/sweep-fourier-pow keeps the calibrated rate's table (alpha_D 1e-2, now on the thesis's "
                 "final MC) and no rate is quoted as the thesis's.")
    cmds = [f"python benchmarks/reproduce_ntk_gan_sweep.py --critic fourier-pow --lr-d {lr:g} --ratios "
            f"{','.join(f'{r:.12g}' for r in res_k['ratios'])} --n-discs {','.join(map(str, res_k['n_discs']))} "
            f"--order-param final --workers 1 --tag alpha-d-{lr:g}" for lr, (res_k, _) in order if lr != 0.01]
    lines += ["", text, "", *rows, "", "The re-runs (one process, one thread; the r values are points of the "
              "thesis's grid np.logspace(-2, 0, 25)):", "", "```", *cmds, "```"]
    if out is not None:
        fig_series = {f"alpha_D {lr:g}": (list(col), list(col.values())) for lr, col in series.items()}
        p = save(figs.critic_rate_figure(fig_series, 4.90, "Fourier pow: r* vs n_disc x alpha_D (final MC)"),
                 Path(out) / "ntk_gan_pow_critic_rate.png")
        lines += ["", f"![]({p.name})"]
    return lines + [""]


def _intercept(v: dict, res: dict) -> float:
    """The intercept c of ln n_disc = slope ln r* + c through a sweep's half-way points (slope_variants' fit)."""
    ok = np.isfinite(v["r_star"])
    x, y = np.log(np.asarray(v["r_star"])[ok]), np.log(np.asarray(res["n_discs"], float)[ok])
    return float(y.mean() - v["slope"] * x.mean())
