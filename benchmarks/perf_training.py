"""Trainer.fit epoch time vs a hand-written PyTorch loop, same model, data, batch size and optimizer.

Goal: Lightning overhead <= 1.05x (issue 16; ours was 1.10x before).  Both run in this process, interleaved, several
repeats; we report medians and the ratio.  Run: `PYTHONPATH=. python benchmarks/perf_training.py`.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

from datamodules.ising import IsingDataModule
from zoo.ising_cnn import IsingCNN

REPEATS = int(os.environ.get("BENCH_REPEATS", 9))


def make_data():
    dm = IsingDataModule(L=8, n_samples=12_600, shard_size=50, batch_size=256, progress=False, val_fraction=0.0,
                         test_fraction=0.0)
    dm.prepare_data()
    dm.setup()
    return dm


def plain_epoch(model, loader) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    t = time.perf_counter()
    for x, y in loader:
        opt.zero_grad(set_to_none=True)
        loss = model._loss(model(x), y)
        loss.backward()
        opt.step()
    return time.perf_counter() - t


class EpochTimer(pl.Callback):
    """Wall time of each training epoch, excluding Trainer start-up and teardown."""

    def __init__(self):
        self.times = []

    def on_train_epoch_start(self, trainer, pl_module):
        self._t = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        self.times.append(time.perf_counter() - self._t)


def lightning_epochs(model, dm, n: int) -> list[float]:
    timer = EpochTimer()
    trainer = pl.Trainer(max_epochs=n, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=0, accelerator="cpu",
                         devices=1, default_root_dir=tempfile.mkdtemp(), callbacks=[timer])
    trainer.fit(model, train_dataloaders=dm.train_dataloader())
    return timer.times


def main():
    torch.manual_seed(0)
    dm = make_data()
    loader = dm.train_dataloader()
    plain, light = [], []
    m1 = IsingCNN(L=8, optimizer="adam", lr=1e-3, padding="circular")
    m2 = IsingCNN(L=8, optimizer="adam", lr=1e-3, padding="circular")
    for r in range(REPEATS + 1):
        # alternate one plain epoch and one Lightning fit of 2 epochs (the second is timed; the
        # first absorbs the fit's start-up); round 0 warms up allocators and threads
        a = plain_epoch(m1, loader)
        b = lightning_epochs(m2, dm, 2)[-1]
        if r:
            plain.append(a)
            light.append(b)
    res = {
        "benchmark": "Trainer.fit training-epoch time (start-up excluded) vs hand-written loop (IsingCNN 8x8, %d samples, batch 256, Adam)" % len(dm.splits["train"]),
        "plain_s_median": statistics.median(plain), "lightning_s_median": statistics.median(light),
        "ratio_lightning_over_plain": statistics.median(light) / statistics.median(plain),
        "goal": "<= 1.05", "repeats": REPEATS, "plain_s": plain, "lightning_s": light,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
                    "pytorch_lightning": pl.__version__, "torch_threads": torch.get_num_threads()},
    }
    out = Path(__file__).parent / "results" / "perf_training.json"
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"plain loop {res['plain_s_median']:.2f} s/epoch, Trainer.fit {res['lightning_s_median']:.2f} s/epoch, "
          f"ratio {res['ratio_lightning_over_plain']:.3f} (goal <= 1.05)")


if __name__ == "__main__":
    main()
