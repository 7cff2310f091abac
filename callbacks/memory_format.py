"""Channels-last memory format for convolutional models during training and evaluation.

oneDNN's convolutions (CPU) run fastest on NHWC tensors, in bf16 and in fp32 alike: a Schrodinger CNN train step
(64^2, batch 128, 2 threads) took 252 ms contiguous vs 197 ms channels-last in fp32, 120 vs 76 ms under bf16 autocast
(benchmarks/perf_precision.py has the measured ratios per family).  In a config:

    trainer:
      callbacks:
        - class_path: callbacks.memory_format.ChannelsLast

The weights go back to the contiguous layout when the Trainer is done, so what a user saves or publishes
afterwards has the usual strides (safetensors stores contiguous tensors only).
"""
from __future__ import annotations

import torch
from pytorch_lightning import Callback


class ChannelsLast(Callback):
    """Convert the LightningModule's 4-D parameters and buffers to channels-last at the start of every Trainer stage
    and back to contiguous at its end.  The inputs need no conversion: a convolution with channels-last weights
    returns channels-last activations, so the layout propagates from the first layer on."""

    def setup(self, trainer, pl_module, stage: str) -> None:
        pl_module.to(memory_format=torch.channels_last)

    def teardown(self, trainer, pl_module, stage: str) -> None:
        pl_module.to(memory_format=torch.contiguous_format)
