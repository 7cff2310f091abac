"""The mode-collapse phase diagram of the particle GAN (Durr, Tu, Mroueh & Wang, in preparation; Ch. 2 of S. Durr, PhD
thesis, UCLA 2022: Sec. 2.4.1, Figs. 2.14-2.17; App. 2.7.2, Figs. 2.21-2.22).

    python benchmarks/reproduce_ntk_gan_sweep.py --critic relu --n-ratios 13 --n-discs 1,2,4,8,16 --steps 1000 \\
        --mode processes --workers 2

Execution (zoo.ntk_gan_sweep.sweep): `--mode processes` (default) runs every cell (r, n_disc) as its own run
(an ensemble of R = --chunk, default 1) over a pool of --workers processes with one thread each, longest cells
first; `--mode batched` runs one batched ensemble over r per n_disc slice (for a GPU: --device cuda).  A cell is
the same run in both modes (same seed, same data batches, same initial critic and cloud).  On CPU processes
mode is the faster one (benchmarks/perf_ntk_gan_sweep.py, benchmarks/results/ntk_gan_sweep_perf.json).

Output: benchmarks/results/ntk_gan_sweep_<critic>[_<tag>].json, rewritten (atomically) after every finished
cell, so a killed run keeps what finished; rerunning with the same settings skips the finished cells (resume;
a different grid of r / n_disc reuses the cells it shares).  Different run settings (steps, rates, width, ...)
stop with an error unless --restart, which moves the old file to <name>.json.prev (and the cell folder to
<name>.cells.prev) and starts afresh.  Every finished cell also goes to its own file <name>.cells/n<n_disc>_r<r>.json
(its deterministic fields and the settings, sorted keys: the same bytes whoever ran it); its wall time and pid go
to <name>.cells/timing-rank<rank>.jsonl.  Resume reads the JSON and the cell files.

Many machines: run the script under torchrun, like `zoo data generate`; each rank reads RANK / WORLD_SIZE, runs
every WORLD_SIZE-th job of the longest-first job list (one thread, --workers 1 by default there) and writes its
cell files; after a gloo barrier rank 0 merges them into the JSON.  The cell folder must be on a disk all ranks
share.  A killed run resumes from the cell files, with any number of ranks:

    torchrun --nnodes 2 --nproc_per_node 16 --rdzv-backend c10d --rdzv-endpoint HOST:29500 \\
        benchmarks/reproduce_ntk_gan_sweep.py --critic relu --n-ratios 25 --n-discs 1,2,4,8,16

Order parameter (--order-param, default 'avg'): the boundary is fitted to MC (eq. 2.45) averaged over the last
--avg-frac (default 0.1) of the particle steps, which is less noisy than one snapshot for clouds that hop between
modes; 'final' uses the MC after the last step (what the first published ntk_gan/sweep-relu table, 2026-11-22
13:10, holds: 7 r x n_disc 1,2,4,8, final MC).  Every cell stores both; the JSON's `mc` is the chosen one,
`mc_final` / `mc_avg` both, and `boundaries` has the fit for each.

The thesis's grid is 25 r x n_disc = 1..20 at width 2048 and 3000 (ReLU) / 2000 (tanh) steps; its learning
rates are unreported (ours are flags, written to the JSON; see benchmarks/calibrate_ntk_gan_sweep.py).
`--publish ntk_gan/sweep-<critic>` writes the table card when the grid is complete (`--publish-only` publishes
the JSON as it is, partial or not, without running anything).
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from zoo import ntk_gan_sweep as S  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
# the cell fields that differ from run to run: they go to the per-rank timing files, never to the cell files
TIMING = ("wall_s", "pid")
PUBLISHABLE = ("ntk_gan/sweep-relu", "ntk_gan/sweep-tanh", "ntk_gan/sweep-fourier-pow", "ntk_gan/sweep-fourier-exp")


def _num(v):
    return None if v is None or not np.isfinite(v) else float(v)


def _matrix(m) -> list:
    return [[_num(v) for v in row] for row in np.asarray(m, float)]


def _boundary(fit: dict) -> dict:
    out = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in fit.items()}
    out["r_star"] = [_num(x) for x in out["r_star"]]
    for k in ("slope", "intercept", "r2"):
        out[k] = _num(out[k])
    return out


def _finished(cell: dict | None, order_param: str) -> bool:
    """A cell is done when it holds the chosen order parameter (or diverged: NaN is its value)."""
    return cell is not None and bool(cell.get("diverged") or cell.get("mc_avg" if order_param == "avg" else "mc")
                                     is not None)


def _comparable(settings: dict) -> dict:
    return {k: v for k, v in settings.items() if k != "avg_frac"}


def _check_settings(path: Path, old: dict, settings: dict) -> None:
    if _comparable(old) != _comparable(settings):
        diff = {k: (old.get(k), settings.get(k)) for k in set(old) | set(settings)
                if k != "avg_frac" and old.get(k) != settings.get(k)}
        raise ValueError(f"{path} was run with other settings (old, new): {diff}; rerun with --restart to move it "
                         f"aside and start afresh, or --tag to write another file")


def load_done(path: Path, settings: dict) -> tuple[list[dict], dict]:
    """Finished cells of an earlier run with the same settings (new format: `cells`; the first format, a final-MC
    matrix without cells, is read too).  Raises ValueError when the settings differ."""
    old = json.loads(path.read_text())
    _check_settings(path, old["settings"], settings)
    if "cells" in old:
        cells = [dict(c) for c in old["cells"]]
    else:  # first format: final MC only
        cells = [{"n_disc": nd, "r": r, "mc": v, "mc_avg": None, "counts": None, "diverged": v is None,
                  "wall_s": None, "chunk": None}
                 for nd, row in zip(old["n_discs"], old["mc"]) for r, v in zip(old["ratios"], row) if v is not None]
    if old["settings"].get("avg_frac") != settings.get("avg_frac"):
        for c in cells:  # the averaging window differs: the averaged MC has to be measured again
            c["mc_avg"] = None
    return cells, old


def cells_dir(out: Path) -> Path:
    return out.with_suffix(".cells")


def _cell_file(cdir: Path, n_disc, r) -> Path:
    nd, r = S.cell_key(n_disc, r)
    return cdir / f"n{nd}_r{r:.12g}.json"


def write_cell(cdir: Path, cell: dict, settings: dict, rank: int) -> None:
    """The cell's deterministic fields and the settings (sorted keys: a 1-rank and an N-rank run write the same
    bytes), atomically; then its timing as one appended line of this rank's timing file (a kill between the two
    loses only a wall time)."""
    path = _cell_file(cdir, cell["n_disc"], cell["r"])
    tmp = path.with_name(path.name + ".tmp")  # one rank runs a cell: no other writer of this name
    tmp.write_text(json.dumps({**{k: v for k, v in cell.items() if k not in TIMING}, "settings": settings},
                              sort_keys=True) + "\n")
    os.replace(tmp, path)
    t = {"n_disc": cell["n_disc"], "r": cell["r"], **{k: cell.get(k) for k in TIMING}, "rank": rank,
         "finished": time.time()}
    with open(cdir / f"timing-rank{rank}.jsonl", "a") as f:
        f.write(json.dumps(t) + "\n")


def read_cells(cdir: Path, settings: dict) -> dict:
    """{cell_key: cell} from the cell files, with the latest wall time / pid of each from the timing files.
    Raises ValueError when a cell was run with other settings; a cell of another averaging window loses mc_avg."""
    if not cdir.is_dir():
        return {}
    timing = {}
    for f in sorted(cdir.glob("timing-rank*.jsonl")):
        for line in f.read_text().splitlines():
            try:
                t = json.loads(line)
            except ValueError:  # a line cut short by a kill
                continue
            k = S.cell_key(t["n_disc"], t["r"])
            if k not in timing or t["finished"] >= timing[k]["finished"]:
                timing[k] = t
    cells = {}
    for f in sorted(cdir.glob("n*_r*.json")):
        c = json.loads(f.read_text())
        old = c.pop("settings")
        _check_settings(f, old, settings)
        if old.get("avg_frac") != settings.get("avg_frac"):
            c["mc_avg"] = None
        k = S.cell_key(c["n_disc"], c["r"])
        cells[k] = {**c, **{t: timing[k][t] for t in TIMING if k in timing}}
    return cells


def load_state(out: Path, settings: dict, restart: bool) -> tuple[dict, list]:
    """Finished cells ({cell_key: cell}, the JSON's overlaid by the cell files, which are never older) and the
    earlier sessions' wall times.  Other settings: ValueError, or with `restart` both moved aside."""
    cdir = cells_dir(out)
    try:
        done, old = load_done(out, settings) if out.exists() else ([], {})
        sessions = list(old.get("wall_s_sessions", [old.get("wall_s_total", 0.0)])) if old else []
        cells = {S.cell_key(c["n_disc"], c["r"]): c for c in done}
        for k, c in read_cells(cdir, settings).items():
            cells[k] = {**cells.get(k, {}), **c}  # keeps the JSON's wall time of a cell whose timing line was lost
        return cells, sessions
    except ValueError:
        if not restart:
            raise
    for old, prev in ((out, out.with_suffix(".json.prev")), (cdir, cdir.with_suffix(".cells.prev"))):
        if old.exists():
            if prev.is_dir():
                shutil.rmtree(prev)  # the previous backup, as os.replace overwrites the JSON's
            os.replace(old, prev)
            print(f"moved {old} (other settings) to {prev}", flush=True)
    return {}, []


def _process_group(world: int):
    """torch.distributed under torchrun (WORLD_SIZE > 1), else None.  gloo: the ranks only meet at barriers, on
    CPU machines; the timeout is days because a barrier waits for the slowest rank's last cells."""
    if world == 1:
        return None
    import torch.distributed as dist

    dist.init_process_group("gloo", timeout=datetime.timedelta(days=7))
    return dist


def write_result(out: Path, settings: dict, order_param: str, ratios, n_discs, cells: dict, sessions: list,
                 mode: str, workers: int, chunk: int, world_size: int = 1) -> dict:
    log_r = S.log_spaced(settings["critic"])
    mc = {k: np.full((len(n_discs), len(ratios)), np.nan) for k in ("mc", "mc_avg")}
    for i, nd in enumerate(n_discs):
        for j, r in enumerate(ratios):
            c = cells.get(S.cell_key(nd, r))
            for k in mc:
                if c is not None and c.get(k) is not None:
                    mc[k][i, j] = c[k]
    fits = {"final": _boundary(S.fit_boundary(ratios, n_discs, mc["mc"], log_r=log_r)),
            "avg": _boundary(S.fit_boundary(ratios, n_discs, mc["mc_avg"], log_r=log_r))}
    chosen = mc["mc_avg"] if order_param == "avg" else mc["mc"]
    slice_s = [sum(c.get("wall_s") or 0.0 for c in cells.values() if c["n_disc"] == nd) for nd in n_discs]
    res = {"settings": settings, "order_param": order_param,
           "order_param_means": {"avg": f"MC averaged over the last {settings['avg_frac']:g} of the particle steps",
                                 "final": "MC after the last particle step"}[order_param],
           "ratios": [float(r) for r in ratios], "n_discs": list(n_discs), "mc": _matrix(chosen),
           "mc_final": _matrix(mc["mc"]), "mc_avg": _matrix(mc["mc_avg"]),
           "boundary": fits[order_param], "boundaries": fits,
           "complete": all(_finished(cells.get(S.cell_key(nd, r)), order_param) for nd in n_discs for r in ratios),
           "wall_s_total": float(sum(sessions)), "wall_s_sessions": sessions, "run_s_per_slice": slice_s,
           "run_s_cells": float(sum(c.get("wall_s") or 0.0 for c in cells.values())),
           "execution": {"mode": mode, "workers": workers, "chunk": chunk, "world_size": world_size},
           "cells": [cells[k] for k in sorted(cells)]}
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(res, indent=1))
    os.replace(tmp, out)
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--critic", default="relu", choices=S.CRITICS)
    p.add_argument("--n-ratios", type=int, default=25)
    p.add_argument("--r-min", type=float, default=0.01)
    p.add_argument("--r-max", type=float, default=1.0)
    p.add_argument("--ratios", default="", help="explicit comma-separated r values (replace --n-ratios/--r-min/--r-max;"
                   " e.g. an earlier grid plus points where its boundary lies: shared cells are reused)")
    p.add_argument("--n-discs", default=",".join(map(str, range(1, 21))))
    p.add_argument("--steps", type=int, default=None, help="default: zoo.ntk_gan_sweep.CALIBRATED[critic]")
    p.add_argument("--width", type=int, default=2048)
    p.add_argument("--n-particles", type=int, default=200)
    p.add_argument("--lr-d", type=float, default=None, help="critic SGD rate; default CALIBRATED[critic] (ours)")
    p.add_argument("--lr-g", type=float, default=None, help="particle rate; default CALIBRATED[critic] (ours)")
    p.add_argument("--l2", type=float, default=None, help="default 2/width (section 2.4's (1/width) sum phi^2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--order-param", default="avg", choices=S.ORDER_PARAMS,
                   help="avg (default): MC averaged over the last --avg-frac of the steps; final: MC after the last")
    p.add_argument("--avg-frac", type=float, default=0.1)
    p.add_argument("--mode", default="processes", choices=S.MODES)
    p.add_argument("--workers", type=int, default=None, help="processes mode: pool size (one thread each); default 2, "
                   "1 under torchrun (the ranks are the workers)")
    p.add_argument("--chunk", type=int, default=1, help="processes mode: r values per run (R of each ensemble)")
    p.add_argument("--device", default=None, help="batched mode: torch device (e.g. cuda); default cpu")
    p.add_argument("--tag", default="")
    p.add_argument("--out", default="", help="result JSON (default benchmarks/results/ntk_gan_sweep_<critic>[_<tag>].json)")
    p.add_argument("--restart", action="store_true", help="move a result file with other settings aside")
    p.add_argument("--publish", default="", choices=("",) + PUBLISHABLE,
                   help="when the grid completes, publish it as a table card (load with zoo.load_pretrained)")
    p.add_argument("--publish-only", action="store_true", help="publish the existing JSON (partial allowed); run "
                   "nothing")
    a = p.parse_args(argv)
    if a.publish and a.publish != f"ntk_gan/sweep-{a.critic}":
        raise ValueError(f"--publish {a.publish} does not match --critic {a.critic} (expected ntk_gan/sweep-{a.critic})")
    if a.publish_only and not a.publish:
        raise ValueError("--publish-only needs --publish NAME")
    for k, v in S.CALIBRATED[a.critic].items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", 1)))
    log_r = S.log_spaced(a.critic)
    if a.ratios:
        ratios = np.array(sorted({float(x) for x in a.ratios.split(",")}))
        if len(ratios) < 2 or ratios[0] <= 0:
            raise ValueError(f"--ratios needs at least two positive values; got {a.ratios!r}")
    else:
        ratios = np.logspace(math.log10(a.r_min), math.log10(a.r_max), a.n_ratios) if log_r else \
            np.linspace(a.r_min, a.r_max, a.n_ratios)
    n_discs = [int(x) for x in a.n_discs.split(",")]
    settings = {"critic": a.critic, "steps": a.steps, "width": a.width, "n_particles": a.n_particles,
                "lr_d": a.lr_d, "lr_g": a.lr_g, "l2": a.l2 if a.l2 is not None else 2.0 / a.width, "seed": a.seed,
                "init_std": 0.1, "ntk_norm": "sum_to_N", "data_batch": a.n_particles,
                "spacing": "log" if log_r else "linear", "avg_frac": a.avg_frac}
    out = Path(a.out) if a.out else RESULTS / f"ntk_gan_sweep_{a.critic}{'_' + a.tag if a.tag else ''}.json"
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    if a.workers is None:
        a.workers = 2 if world == 1 else 1
    dist = _process_group(world)
    try:
        return _run(a, argv, out, settings, ratios, n_discs, rank, world, dist)
    finally:
        if dist is not None:
            dist.destroy_process_group()


def _run(a, argv, out: Path, settings: dict, ratios, n_discs: list, rank: int, world: int, dist) -> int:
    command = " ".join(["python", "benchmarks/reproduce_ntk_gan_sweep.py", *(argv or sys.argv[1:])])
    cells, sessions = load_state(out, settings, a.restart) if rank == 0 else ({}, [])
    if dist is not None:
        dist.barrier()  # rank 0 has moved results of other settings aside (--restart) before the others read
        if rank:
            cells, sessions = load_state(out, settings, False)
    if a.publish_only:
        if rank == 0:
            res = write_result(out, settings, a.order_param, ratios, n_discs, cells, sessions, a.mode, a.workers,
                               a.chunk, world)
            publish(a, res, command)
        return 0
    done = [c for c in cells.values() if _finished(c, a.order_param)]
    n_todo = sum(not _finished(cells.get(S.cell_key(nd, r)), a.order_param) for nd in n_discs for r in ratios)
    print(f"{out.name}: {n_todo} of {len(ratios) * len(n_discs)} cells to run ({a.mode}, {a.workers} workers"
          + (f"; rank {rank} of {world} runs jobs[{rank}::{world}])" if world > 1 else ")"), flush=True)
    cdir = cells_dir(out)
    cdir.mkdir(parents=True, exist_ok=True)
    if dist is not None:
        dist.barrier()  # every rank has read the finished cells before any writes one: all deal the same jobs
    t0 = time.time()
    sessions.append(0.0)

    def on_cell(c):
        write_cell(cdir, c, settings, rank)
        if world == 1:  # under torchrun the other ranks' cells are only in their files: rank 0 merges at the end
            cells[S.cell_key(c["n_disc"], c["r"])] = c
            sessions[-1] = time.time() - t0
            write_result(out, settings, a.order_param, ratios, n_discs, cells, sessions, a.mode, a.workers, a.chunk)

    # a rank's own pool (--workers > 1 under torchrun) spawns: forking a process that runs gloo's threads is unsafe
    S.sweep(ratios, n_discs, a.steps, critic=a.critic, mode=a.mode, workers=a.workers, chunk=a.chunk, done=done,
            on_cell=on_cell, rank=rank, world_size=world, start_method=None if world == 1 else "spawn",
            n_particles=a.n_particles, width=a.width, lr_d=a.lr_d, lr_g=a.lr_g, l2=a.l2, seed=a.seed,
            avg_frac=a.avg_frac, **({"device": a.device} if a.device else {}))
    if dist is not None:
        dist.barrier()  # every rank's cell files are written
        if rank:
            return 0
        for k, c in read_cells(cdir, settings).items():
            cells[k] = {**cells.get(k, {}), **c}
    sessions[-1] = time.time() - t0
    res = write_result(out, settings, a.order_param, ratios, n_discs, cells, sessions, a.mode, a.workers, a.chunk,
                       world)
    bd = res["boundary"]
    print(f"wrote {out}: slope {bd['slope']} (R^2 {bd['r2']}) over {bd['n_points']} slices "
          f"[{a.order_param}; final-MC fit: slope {res['boundaries']['final']['slope']}]", flush=True)
    if a.publish:
        if res["complete"]:
            publish(a, res, command)
        else:
            print("not published: the grid is incomplete (use --publish-only to publish it as it is)", flush=True)
    return 0


def publish(a, res: dict, command: str) -> None:
    """The sweep as a table card: mc (n_disc, r) = the fitted order parameter, mc_final, mc_avg, ratios, n_discs,
    r_star; metrics = the boundary fit (and the other order parameter's slope)."""
    from zoo import hub
    from zoo.evaluation.ntk_gan import PAPER, slope_variants

    nan = float("nan")

    def arr(m):
        return np.array([[nan if v is None else v for v in row] for row in m])

    arrays = {"mc": arr(res["mc"]), "mc_final": arr(res["mc_final"]), "mc_avg": arr(res["mc_avg"]),
              "ratios": np.array(res["ratios"]), "n_discs": np.array(res["n_discs"], dtype=np.int64),
              "r_star": np.array([nan if v is None else v for v in res["boundary"]["r_star"]])}
    bd, st = res["boundary"], res["settings"]
    where = (f"{len(res['ratios'])} r ({st['spacing']}, {min(res['ratios']):g}..{max(res['ratios']):g}) x n_disc "
             f"{res['n_discs']}, {st['steps']} steps, alpha_D {st['lr_d']:g}, alpha_G {st['lr_g']:g}, order "
             f"parameter: {res['order_param_means']}" + ("" if res["complete"] else " (PARTIAL grid)"))
    # the slope's standard error (least squares, n - 2 degrees of freedom): what a comparison with the paper needs
    sv = slope_variants(arrays["ratios"], arrays["n_discs"], arrays["mc"], st["spacing"] == "log")
    other = "final" if res["order_param"] == "avg" else "avg"
    metrics = [{"name": "boundary_slope", "value": bd["slope"], "split": where, "unit": "",
                "how": f"straight-line fit of the sigmoid half-way points, {bd['axes']}"},
               {"name": "boundary_slope_se", "value": sv["slope_se"], "split": where, "unit": "",
                "how": "standard error of that slope from the fit's residuals (n_points - 2 degrees of freedom)"},
               {"name": "boundary_r2", "value": bd["r2"], "split": where, "how": "R^2 of that fit", "unit": ""},
               {"name": "slices_with_a_transition", "value": bd["n_points"], "split": where, "unit": "",
                "how": "n_disc slices whose MC crosses log(8)/2 inside the r range"},
               {"name": f"boundary_slope_{other}_mc", "value": res["boundaries"][other]["slope"], "split": where,
                "unit": "", "how": f"the same fit on the {other} MC table (mc_{other})"}]
    if 6 in res["n_discs"]:
        metrics.append({"name": "r_star_at_n_disc_6", "value": arrays["r_star"][res["n_discs"].index(6)],
                        "split": where, "how": "half-way point of the sigmoid fit at n_disc = 6", "unit": ""})
    for m in metrics:
        m["value"] = float(m["value"]) if m["value"] is not None and np.isfinite(m["value"]) else None
    variant = a.publish.split("/", 1)[1]
    settings = {**st, "order_param": res["order_param"]}
    # overwrite: republishing the sweep's table (a longer or resumed grid) is what --publish is for
    out = hub.publish_table(a.publish, arrays, settings=settings, metrics=metrics, paper=PAPER.get(variant, []),
                            source=command, wall_time_s=res["wall_s_total"], overwrite=True,
                            notes="Learning rates, step count, r range and (where stated) width are our calibration (ours): "
                                  "the thesis does not report them for Sec. 2.4 / App. 2.7.2 (Durr, Tu, Mroueh & "
                                  "Wang, in preparation; Ch. 2 of S. Durr, PhD thesis, UCLA 2022, Sec. 2.4.1). "
                                  "See benchmarks/results/"
                                  "ntk_gan_calibration.json and benchmarks/calibrate_ntk_gan_sweep.py. `mc` is the "
                                  "order parameter the boundary is fitted to (settings.order_param); mc_final and "
                                  "mc_avg hold both."
                                  + (" Fourier critic: 2500 wave vectors (app. 2.7.2); `width` only sets l2 = 2/width."
                                     if st["critic"].startswith("fourier") else "")
                                  + (" alpha_D = 0.1 is the critic rate the thesis gives for its Sec. 2.3 particle GAN "
                                     "(footnote 14, thesis L1214), used here for want of a stated App. 2.7.2 rate; at "
                                     "our calibrated 1e-2 the Fourier boundaries differ (see reports/ntk_gan.md)."
                                     if st["lr_d"] == 0.1 else ""))
    print(f"published {out}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
