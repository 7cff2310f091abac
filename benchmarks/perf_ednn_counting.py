"""Counting EDNN: the whole-image path of 'valid' convolutions vs the same network tile by tile ().

Run:  PYTHONPATH=. .venv/bin/python benchmarks/perf_ednn_counting.py

The paper's counting tile network (f = 8, c = 8, 64 filters, dense 1024, l = 10) with conv_padding='valid' and
zero_background, timed two ways on the same weights and inputs, in this process, one thread: `EDNN` with its
whole-image path (shared pixels convolved once) and the baseline that cuts every 24 x 24 tile and runs the network
on each (`EDNN.tiled_contributions`, what 'same' padding forces).  A training step (forward, backward, Adam) on a
batch of 32 canvases and inference on 256 x 256 and 1024 x 1024 images; REPEATS interleaved repeats, medians; the
outputs of both paths are checked equal first.  Also the first ('same'-padding) 'same'-padding network's training step, the
recipe the published first ('same'-padding) models used.

Precision: the whole-image training step in fp32 (the baseline), under a bf16 autocast, and under a bf16 autocast
with channels-last weights (what `precision: bf16-mixed` plus callbacks.memory_format.ChannelsLast run), on the
two training shapes of the counting configs: batch 32 of 128 x 128 and batch 128 of 64 x 64
(configs/ednn/count-digits-10-long-c64.yaml).  Interleaved with the rest; the 1-minute load average is recorded per
repeat.  Results: benchmarks/results/ednn_counting.json.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from zoo.ednn import CountingEDNN

REPEATS = 5
OUT = Path(__file__).parent / "results" / "ednn_counting.json"


def tile_loop(m: CountingEDNN, x: torch.Tensor) -> torch.Tensor:
    return m.ednn.tiled_contributions(x).sum(dim=(1, 2))


def train_step(m, opt, x, y, fn):
    loss = (fn(x) - y).pow(2).mean()
    loss.backward()
    opt.step()
    opt.zero_grad()


def precision_step(m, opt, x, y, bf16: bool, channels_last: bool):
    """`train_step` of the whole-image path under a bf16 autocast or not (its counts come out fp32 either way)."""
    m.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)

    def fn(z):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return m.ednn(z)

    train_step(m, opt, x, y, fn)


PRECISIONS = {"fp32": (False, False), "bf16": (True, False), "bf16_channels_last": (True, True)}


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    kw = dict(focus=8, context=8, padding="zeros", n_outputs=10, zero_background=True)
    valid, same = CountingEDNN(conv_padding="valid", **kw), CountingEDNN(conv_padding="same", **kw)
    cases = {}
    for canvas in (96, 128):
        x, y = torch.rand(32, 1, canvas, canvas), torch.rand(32, 10)
        torch.testing.assert_close(valid.ednn(x), tile_loop(valid, x), rtol=1e-4, atol=1e-3)
        opts = {k: torch.optim.Adam(m.parameters(), lr=1e-6) for k, m in (("valid", valid), ("same", same))}
        runs = {"whole_image": lambda: train_step(valid, opts["valid"], x, y, valid.ednn),
                "tile_loop": lambda: train_step(valid, opts["valid"], x, y, lambda z: tile_loop(valid, z)),
                "same_padding_s4": lambda: train_step(same, opts["same"], x, y, same.ednn)}
        cases[f"train_step_b32_{canvas}"] = runs
    prec = CountingEDNN(conv_padding="valid", **kw)
    prec_opt = torch.optim.Adam(prec.parameters(), lr=1e-6)
    prec_cases = {}
    for batch, canvas in ((32, 128), (128, 64)):
        x, y = torch.rand(batch, 1, canvas, canvas), torch.rand(batch, 10)
        prec_cases[f"train_step_b{batch}_{canvas}"] = {
            k: (lambda x=x, y=y, b=b, c=c: precision_step(prec, prec_opt, x, y, b, c)) for k, (b, c) in PRECISIONS.items()}
    with torch.no_grad():
        for side in (256, 1024):
            x = torch.rand(1, 1, side, side)
            cases[f"inference_{side}"] = {"whole_image": lambda x=x: valid.ednn(x),
                                          "tile_loop": lambda x=x: tile_loop(valid, x)}
    times = {c: {k: [] for k in runs} for c, runs in cases.items()}
    prec_times = {c: {k: [] for k in runs} for c, runs in prec_cases.items()}
    for runs in prec_cases.values():  # warm-up: oneDNN builds its bf16 / channels-last kernels on first use
        for fn in runs.values():
            fn()
    loads = []
    for _ in range(REPEATS):  # interleaved, so load changes hit every variant alike
        loads.append(os.getloadavg()[0])
        for c, runs in cases.items():
            for k, fn in runs.items():
                with torch.set_grad_enabled(c.startswith("train")):
                    times[c][k].append(timed(fn))
        for c, runs in prec_cases.items():
            for k, fn in runs.items():
                prec_times[c][k].append(timed(fn))
    res = {"machine": platform.processor() or platform.machine(), "threads": 1, "repeats": REPEATS,
           "loadavg_1min_per_repeat": loads, "cases": {}, "precision": {}}
    for c, t in times.items():
        med = {k: statistics.median(v) for k, v in t.items()}
        res["cases"][c] = {"median_s": med, "speedup_vs_tile_loop": med["tile_loop"] / med["whole_image"]}
        if "same_padding_s4" in med:
            res["cases"][c]["speedup_vs_same_padding_s4"] = med["same_padding_s4"] / med["whole_image"]
        print(c, {k: round(v, 4) for k, v in med.items()}, f"whole image {med['tile_loop'] / med['whole_image']:.1f}x "
              "faster than the tile loop", flush=True)
    for c, t in prec_times.items():
        med = {k: statistics.median(v) for k, v in t.items()}
        res["precision"][c] = {"median_s": med, "speedup_vs_fp32": {k: med["fp32"] / v for k, v in med.items()}}
        print(c, {k: round(v, 4) for k, v in med.items()}, flush=True)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()
