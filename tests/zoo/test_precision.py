"""Mixed precision: output layers stay fp32 under bf16 autocast (FP32Linear), and the ChannelsLast callback changes
the weights' layout only while a Trainer runs."""
from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from callbacks.memory_format import ChannelsLast
from zoo.ising_cnn import IsingCNNRegressor
from zoo.layers import FP32Linear
from zoo.schrodinger_cnn import SchrodingerCNN


def test_fp32_linear_is_nn_linear_outside_autocast_and_fp32_inside():
    torch.manual_seed(0)
    a, b = FP32Linear(16, 3), nn.Linear(16, 3)
    b.load_state_dict(a.state_dict())  # same keys: fp32 checkpoints load unchanged
    x = torch.randn(5, 16)
    assert torch.equal(a(x), b(x))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ya, yb = a(x), b(x)
        # a bf16 input (what the hidden layers hand over under autocast) is widened, not the weights narrowed
        yh = a(x.bfloat16())
    assert ya.dtype == torch.float32 and yb.dtype == torch.bfloat16 and yh.dtype == torch.float32
    assert torch.equal(ya, b(x))
    assert torch.allclose(yh, b(x.bfloat16().float()), atol=1e-6)


def test_regression_outputs_are_fp32_under_bf16_autocast():
    """Without the fp32 output layer an 8x8 Ising energy (scale 64 J) would be rounded to bf16's ~0.25 J steps."""
    torch.manual_seed(0)
    ising = IsingCNNRegressor(L=8, label="energy").eval()
    spins = torch.randint(0, 2, (64, 8, 8)).float() * 2 - 1
    schro = SchrodingerCNN(grid=16).eval()
    V = torch.rand(8, 16, 16)
    for model, x in ((ising, spins), (schro, V)):
        with torch.no_grad():
            ref = model(x)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = model(x)
        assert out.dtype == torch.float32
        # the hidden layers are bf16 (8-bit mantissa): close to fp32, not equal
        assert torch.allclose(out, ref, rtol=0.05, atol=0.05 * ref.abs().max().item())
        assert not torch.equal(out, ref)


class _Layout(pl.Callback):
    def __init__(self):
        self.seen = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        w = pl_module.features[2].weight  # 64 -> 64 channels (a 1-channel weight is both layouts at once)
        self.seen.append((w.is_contiguous(memory_format=torch.channels_last), w.is_contiguous()))


def test_channels_last_during_fit_contiguous_after(tmp_path):
    torch.manual_seed(0)
    model = SchrodingerCNN(grid=16, lr=1e-3)
    V, y = torch.rand(32, 16, 16) * 0.3, torch.rand(32) * 0.1
    loader = DataLoader(TensorDataset(V, y), batch_size=8)
    spy = _Layout()
    trainer = pl.Trainer(max_epochs=1, precision="bf16-mixed", callbacks=[ChannelsLast(), spy], logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         default_root_dir=tmp_path)
    before = model.features[2].weight.detach().clone()
    trainer.fit(model, loader)
    assert spy.seen and all(cl and not plain for cl, plain in spy.seen)
    w = model.features[2].weight
    assert w.is_contiguous() and not torch.equal(w.detach(), before)
    assert all(p.is_contiguous() for p in model.parameters())  # safetensors can store what the fit leaves
