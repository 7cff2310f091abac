"""Training-step time per model family: today's fp32 path vs channels-last vs bf16 autocast (Lightning's
`bf16-mixed`) vs both, through `Trainer.fit` itself, interleaved in one process.

Each round runs, for every variant in turn, a fit of WARMUP + STEPS batches of the family's real batch shape (random
tensors: the data does not change the cost) and keeps the median step time of the last STEPS batches; we report
the median over rounds and the ratio to fp32 contiguous (the path every published card was trained with).  Whether
a precision keeps the card's metric is a separate, long measurement: benchmarks/reproduce_precision.py.

Run: `PYTHONPATH=. python benchmarks/perf_precision.py [--threads 1 2] [--families schrodinger_cnn ...]`
(about 5 min on an idle 2-core machine).  The load average is recorded at every round: on a shared machine the
2-thread numbers are only as good as the second core is free.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from callbacks.memory_format import ChannelsLast

HERE = Path(__file__).parent
WARMUP, STEPS = 3, 8
VARIANTS = {"fp32": ("32-true", False), "fp32_cl": ("32-true", True), "bf16": ("bf16-mixed", False),
            "bf16_cl": ("bf16-mixed", True)}


def _spins(n, L):
    return torch.randint(0, 2, (n, L, L)).float() * 2 - 1


def _families() -> dict:
    """name -> (model factory, dataset factory, batch size, what): the published configs' models and batch sizes."""
    from zoo.ednn import IsingEDNN
    from zoo.ising_cnn import IsingCNNRegressor
    from zoo.mbl import MBLClassifier
    from zoo.schrodinger_cnn import SchrodingerCNN

    n = 64
    return {
        "schrodinger_cnn": (lambda: SchrodingerCNN(grid=64, optimizer="adam", lr=1e-3, input_scale=0.5),
                            lambda: TensorDataset(torch.rand(128 * n // 8, 64, 64) * 0.6, torch.rand(128 * n // 8) * 0.1),
                            128, "configs/schrodinger_cnn/random.yaml: 64x64 potentials, batch 128"),
        "ising_cnn": (lambda: IsingCNNRegressor(L=8, label="energy", optimizer="adam", lr=1e-3, padding="circular"),
                      lambda: TensorDataset(_spins(256 * n // 4, 8), torch.randn(256 * n // 4) * 30),
                      256, "configs/ising_cnn/8x8-energy.yaml: 8x8 spins, batch 256"),
        "ednn": (lambda: IsingEDNN(focus=1, context=2, padding="circular", optimizer="adam", lr=1e-4),
                 lambda: TensorDataset(_spins(2000 * 4, 8), torch.randn(2000 * 4) * 30),
                 2000, "configs/ednn/ising-f1c2.yaml: 8x8 spins, batch 2000"),
        "mbl": (lambda: MBLClassifier(L=8, hidden=[64, 64], dropout=0.1, optimizer="adam", lr=1e-3),
                lambda: TensorDataset(torch.rand(256 * n // 4, 16), torch.randint(0, 3, (256 * n // 4,))),
                256, "configs/mbl/classifier-L8.yaml: 16 entanglement energies -> 3 classes, MLP 64-64, batch 256"),
    }


class _StepTimer(pl.Callback):
    def __init__(self):
        self.t = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.t.append(time.perf_counter() - self._t0)


def fit_steps(make_model, dataset, batch, precision: str, channels_last: bool) -> float:
    """Median step time (s) of STEPS batches after WARMUP, in a fresh Trainer.fit."""
    torch.manual_seed(0)
    model = make_model()
    timer = _StepTimer()
    cbs = [timer] + ([ChannelsLast()] if channels_last else [])
    trainer = pl.Trainer(max_steps=WARMUP + STEPS, precision=precision, callbacks=cbs, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         limit_val_batches=0, num_sanity_val_steps=0, accelerator="cpu", devices=1,
                         default_root_dir=tempfile.mkdtemp())
    trainer.fit(model, DataLoader(dataset, batch_size=batch, shuffle=False, drop_last=True))
    return statistics.median(timer.t[WARMUP:])


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--families", nargs="+", default=None)
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_REPEATS", 3)))
    ap.add_argument("--out", default=str(HERE / "results" / "precision.json"))
    a = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    fams = _families()
    names = a.families or list(fams)
    res = {"benchmark": "training step time through Trainer.fit: fp32 (today) vs channels-last vs bf16-mixed vs both",
           "steps_per_fit": STEPS, "warmup_steps": WARMUP, "rounds": a.rounds, "families": {},
           "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
                       "pytorch_lightning": pl.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                       "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY")}}
    for name in names:
        make_model, make_data, batch, what = fams[name]
        data = make_data()
        fam = res["families"][name] = {"what": what, "threads": {}}
        for th in a.threads:
            torch.set_num_threads(th)
            runs = {v: [] for v in VARIANTS}
            load = []
            for r in range(a.rounds):
                for v, (prec, cl) in VARIANTS.items():
                    runs[v].append(fit_steps(make_model, data, batch, prec, cl))
                load.append(os.getloadavg()[0])
            med = {v: statistics.median(t) for v, t in runs.items()}
            fam["threads"][str(th)] = {
                "median_step_ms": {v: 1e3 * m for v, m in med.items()},
                "speedup_vs_fp32": {v: med["fp32"] / m for v, m in med.items()},
                "runs_ms": {v: [1e3 * x for x in t] for v, t in runs.items()}, "loadavg_1min_per_round": load}
            print(f"{name} {th} thread(s): " + ", ".join(f"{v} {1e3 * m:.1f} ms ({med['fp32'] / m:.2f}x)"
                                                         for v, m in med.items()) + f"; load {load}", flush=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    return res


if __name__ == "__main__":
    main()
