"""Collect benchmarks/results/*.json into BENCHMARKS.md: the medians and ratios as measured."""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent


def _metropolis(r) -> list[str]:
    s = r["summary"]
    rows = ["| case | ours (M spin updates/s) | float32 torch checkerboard (M/s) | ratio | goal |", "|---|---|---|---|---|"]
    for case, v in s.items():
        if isinstance(v, dict):
            rows.append(f"| {case} | {v['ours_median_Mupd_per_s']:.1f} | {v['baseline_median_Mupd_per_s']:.1f} | "
                        f"{v['ratio_median']:.2f}x | >= 40x (1.4 G updates/s per core) |")
    rows += ["", f"Exact 4x4 thermodynamics (enumeration, 100 temperatures): "
                 f"{s['exact_thermodynamics_4x4_100T_median_s']:.3f} s median (goal <= 1 s). "
                 f"Threads: torch {s['torch_threads']}, numba {s['numba_threads']}; {r['repeats']} repeats."]
    return rows


def _training(r) -> list[str]:
    return [f"Hand-written loop {r['plain_s_median']:.2f} s/epoch, `Trainer.fit` {r['lightning_s_median']:.2f} s/epoch: "
            f"ratio **{r['ratio_lightning_over_plain']:.3f}** (goal {r.get('goal', '<= 1.05')}; medians of {r['repeats']}, "
            f"torch threads {r['machine']['torch_threads']})."]


def _data(r) -> list[str]:
    rows = ["| workers | median wall time (s) |", "|---|---|"]
    rows += [f"| {k.split('=')[1]} | {v['median_s']:.2f} |" for k, v in r["results"].items()]
    return rows + ["", f"Speed-up 2 workers over 1: {r['speedup_2_over_1']:.2f}x."]


def _schrodinger(r) -> list[str]:
    rows = ["| grid | CNN inference (potentials/s) | finite-difference solver (potentials/s) | ratio |", "|---|---|---|---|"]
    rows += [f"| {k} | {v['cnn']['median_potentials_per_s']:.1f} | {v['solver']['median_potentials_per_s']:.2f} | "
             f"{v['ratio_cnn_over_solver']:.1f}x |" for k, v in r["cnn_vs_solver"].items()]
    rows += ["", "| grid | solver, 1 process (potentials/s) | 2 processes | ratio |", "|---|---|---|---|"]
    rows += [f"| {k} | {v['processes=1']['median_potentials_per_s']:.2f} | "
             f"{v['processes=2']['median_potentials_per_s']:.2f} | {v['ratio_2_over_1']:.2f}x |"
             for k, v in r["solver_processes"].items()]
    g = r["generation"]
    fams = ", ".join(f"{f} {v['extrapolated_h_for_target']:.1f} h" for f, v in g["families"].items())
    m = r["machine"]
    return rows + ["", f"Generating + solving {g['target_potentials']} potentials at {g['grid']}^2 on "
                       f"{g['processes']} processes: {fams} ({g['note']})", "",
                   f"1 thread each; medians of {r['repeats']}; load average {m['loadavg_1_5_15_start'][0]:.1f} at "
                   f"the start, {m['loadavg_1_5_15_end'][0]:.1f} at the end (on {m['cpus']} cores)."]


def _schrodinger_baselines(r) -> list[str]:
    rows = ["| data | method | n | median AE (mHa) | fit wall time (s) | predict (s) |", "|---|---|---|---|---|---|"]
    for variant, v in r["variants"].items():
        for meth in ("krr", "rf"):
            for f in v.get(meth, []):
                if "total_s" in f:
                    rows.append(f"| {variant} | {meth} | {f['n']} | {f['median_abs_error_mHa']:.2f} | "
                                f"{f['total_s']:.1f} | {f['predict_s']:.1f} |")
                else:
                    rows.append(f"| {variant} | {meth} | {f['n']} | skipped: {f['skipped']} | | |")
        c = v.get("cnn", {})
        wall, err = c.get("wall_time_s"), c.get("median_abs_error_mHa")
        rows.append(f"| {variant} | CNN (card) | {c.get('n_train') or ''} | {'' if err is None else f'{err:.2f}'} | "
                    f"{'not yet published' if wall is None else f'{wall:.0f}'} | |")
    return rows + ["", f"Features: {r['features']}. KRR: {r['krr_protocol']}. RF: {r['rf_protocol']}. "
                       f"KRR fit time includes the hyperparameter search. Paper: {r['paper']}."]


def _rugan(r) -> list[str]:
    rows = ["| L | T | Metropolis decorrelated/s | RUGAN samples/s (fp32) | ratio RUGAN / Metropolis |", "|---|---|---|---|---|"]
    for x in r.get("rows", []):
        rows.append(f"| {x['L']} | {x['T']} | {x['metropolis_decorrelated_per_s']:.1f} | {x['rugan_samples_per_s']:.2f} | "
                    f"{x['ratio_rugan_over_metropolis']:.3g} |")
    s = r.get("sampling_L64")
    if s:
        med, ratio = s["samples_per_s_median"], s["ratio_over_fp32_baseline"]
        rows += ["", f"Sampling at L = {s['L']}, T = {s['T']}, batch {s['batch']}, {s['threads']} thread, {s['repeats']} "
                 f"interleaved repeats, load {', '.join(f'{v:.2f}' for v in s['load_average_during'])}:", "",
                 "| path | samples/s (median) | ratio to the pre-change fp32 path |", "|---|---|---|"]
        rows += [f"| {k} | {med[k]:.1f} | {ratio[k]:.2f}x |" for k in med]
        rows += ["", "| T | n | <e> fp32 | <e> bf16 | abs diff <e> | abs diff <abs m> | within 1e-3 |", "|---|---|---|---|---|---|---|"]
        rows += [f"| {x['T']} | {x['n']} | {x['e_fp32']:.5f} | {x['e_bf16']:.5f} | {x['abs_diff_e']:.1e} | "
                 f"{x['abs_diff_abs_m']:.1e} | {x['within_1e-3']} |" for x in s["bf16_vs_fp32_statistics"]]
    return rows


def _precision(r) -> list[str]:
    rows = ["| family | threads | fp32 (today) ms | fp32 channels-last | bf16-mixed | bf16-mixed channels-last | load |",
            "|---|---|---|---|---|---|---|"]
    for fam, f in r["families"].items():
        for th, t in f["threads"].items():
            ms, sp = t["median_step_ms"], t["speedup_vs_fp32"]
            cells = [f"{ms['fp32']:.1f}"] + [f"{ms[v]:.1f} ({sp[v]:.2f}x)" for v in ("fp32_cl", "bf16", "bf16_cl")]
            load = ", ".join(f"{x:.1f}" for x in t["loadavg_1min_per_round"])
            rows.append(f"| {fam} | {th} | " + " | ".join(cells) + f" | {load} |")
    m = r["machine"]
    rows += ["", f"Step = one `Trainer.fit` batch (forward, loss, backward, optimizer), median of {r['steps_per_fit']} "
                 f"steps after {r['warmup_steps']}, median over {r['rounds']} interleaved rounds. CPU capability "
                 f"{m['cpu_capability']}, torch {m['torch']}. Whether bf16 keeps each card's metric: precision_cards."]
    return rows


def _precision_cards(r) -> list[str]:
    rows = ["| card | precision | metric | published (fp32) | retrained | ratio |", "|---|---|---|---|---|---|"]
    for key, x in r.items():
        for k, v in x["published_fp32"].items():
            if k in x["retrained"]:
                rows.append(f"| {x['card']} | {x['precision']}{' + channels-last' if x['channels_last'] else ''} | {k} | "
                            f"{v:.6g} | {x['retrained'][k]:.6g} | {x['ratio_retrained_over_published'][k]:.3f} |")
    rows += ["", "Both measured by `zoo.evaluation` on the same fresh data (card seed + 1000); the retrained model is "
                 "the card's committed config under the other precision, same seed."]
    return rows


def _threads(r) -> list[str]:
    rows = ["| family | precision | OMP_WAIT_POLICY | threads | median step (ms) | vs 1 thread, unset |", "|---|---|---|---|---|---|"]
    rows += [f"| {x['family']} | {x['precision']} | {x['OMP_WAIT_POLICY']} | {x['threads']} | {x['median_step_ms']:.1f} | "
             f"{x['speedup_vs_1_thread_unset']:.2f}x |" for x in r["rows"]]
    rows += ["", f"Each setting in its own process, {r['rounds']} interleaved rounds; load average per round: "
                 + ", ".join(f"{x:.1f}" for x in r["loadavg_1min_per_round"]) + "."]
    return rows


FORMATS = {"perf_metropolis": _metropolis, "rugan_perf": _rugan, "perf_training": _training, "perf_data": _data, "schrodinger": _schrodinger,
           "schrodinger_baselines": _schrodinger_baselines, "precision": _precision,
           "precision_cards": _precision_cards, "threads": _threads}


# measured results that live beside the speed numbers but are not speed (tables, calibration, evaluation rows)
NOT_SPEED = {"ntk_gan_calibration", "rugan_em_eval", "rugan_eval", "ntk_gan_trivial_probe", "ising_cnn_baselines",
             "ising_cnn_long_range_mc", "ising_cnn_kernels"}
NOT_SPEED_PREFIXES = ("nqs_ablation_", "rugan_eval_")


def _cpu() -> str:
    """The CPU these numbers came from: model, cores, and the matrix/vector units that decide bf16 vs fp32 speed."""
    import os

    model, flags = "unknown CPU", set()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    units = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8") if f in flags]
    return (f"Machine of the latest run: {model}, {os.cpu_count()} CPUs visible; units: {', '.join(units) or 'n/a'} "
            "(amx_bf16: bf16 matrix products on the AMX tiles, the reason `bf16-mixed` pays here).")


def main():
    lines = ["# Benchmarks", "", "Speed is measured as ratios against a baseline run side by side in the same process "
             "(these machines are noisy and shared); medians of repeated runs. Reproduce with `make bench`; raw "
             "numbers and machine details in `benchmarks/results/*.json`.", "", _cpu(), ""]
    for p in sorted((HERE / "results").glob("*.json")):
        if p.stem in NOT_SPEED or p.stem.startswith(NOT_SPEED_PREFIXES) or \
                p.stem.startswith("ntk_gan_sweep_") and p.stem != "ntk_gan_sweep_perf":
            continue
        r = json.loads(p.read_text())
        lines += [f"## {p.stem}", "", r.get("benchmark", ""), ""]
        lines += FORMATS.get(p.stem, lambda r: ["```json", json.dumps(r, indent=1)[:2000], "```"])(r) + [""]
    (HERE.parent / "BENCHMARKS.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
