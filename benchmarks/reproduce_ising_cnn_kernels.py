"""What the convolution kernels detect (Mills & Tamblyn, PRE 97, 032119 (2018), Sec. IV 'A closer look at the
convolutional kernels', Figs. 13-14; thesis L1187-1209).

1. The thesis' toy: a 9x9 Ising model (nearest-neighbour energy, periodic: ours, the boundary is unstated), one
   convolution with 512 kernels of 3x3 and stride 3 (each kernel sees each 3x3 block once), ReLU (ours), FC 1024,
   ReLU, one output (the energy), trained on random configurations (the thesis: 200 000, `--n-train`; ours: Adam,
   `--lr` 1e-4, `--epochs`).  The kernels are drawn as in Fig. 13, and the input that maximises a channel's mean
   activation is found by gradient ascent from random noise (Fig. 14; input kept in [-1, 1] by a tanh).
2. The first-layer kernels (32 of 3x3, stride 2 on the 16x16 upscaled lattice) of the published
   ising_cnn/8x8-energy model, with the same activation maximisation on the 8x8 input.

What a kernel detects is read off its maximising input: with non-overlapping blocks the maximiser of a channel is
the sign pattern of its kernel in every block (a ReLU of a dot product is largest at x = sign(w)); we report how
many toy kernels are dominated by one sign (detect aligned blocks, i.e. low-energy, ferromagnetic patches) vs mixed
signs (detect domain walls / broken bonds), measured by |sum w| / sum |w|.

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/reproduce_ising_cnn_kernels.py
-> benchmarks/results/ising_cnn_kernels.json (numbers, kernels and maximising inputs; `zoo reproduce ising_cnn`
   draws them: reports/ising_cnn_kernels_toy9x9.png, reports/ising_cnn_kernels_8x8_energy.png)
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datamodules.physics import ising  # noqa: E402


def toy_net(n_kernels: int = 512) -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, n_kernels, 3, stride=3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(n_kernels * 9, 1024), nn.ReLU(), nn.Linear(1024, 1))


def train_toy(n_train: int, epochs: int, lr: float = 1e-4, seed: int = 0) -> tuple[nn.Module, dict]:
    torch.manual_seed(seed)
    x = ising.random_configs(n_train + 5000, 9, seed=seed)
    y = ising.energy(x).astype(np.float32) / 162.0  # |E| <= 2 L^2 = 162: O(1) targets
    X, Y = torch.as_tensor(x, dtype=torch.float32).unsqueeze(1), torch.as_tensor(y)
    net = toy_net()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    t0 = time.perf_counter()
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for b in torch.randperm(n_train, generator=g).split(256):
            opt.zero_grad()
            nn.functional.mse_loss(net(X[b]).squeeze(-1), Y[b]).backward()
            opt.step()
    with torch.no_grad():
        err = (net(X[n_train:]).squeeze(-1) - Y[n_train:]).abs() * 162.0
    return net.eval(), {"n_train": n_train, "epochs": epochs, "lr": lr, "train_s": time.perf_counter() - t0,
                        "held_out_median_abs_error_J": float(err.median()), "held_out_std_J": float(Y[n_train:].std() * 162)}


def maximise(activation, shape, steps: int = 200, seed: int = 0) -> np.ndarray:
    """Gradient ascent on a tanh-bounded input from random noise (Fig. 14)."""
    g = torch.Generator().manual_seed(seed)
    z = (0.1 * torch.randn(shape, generator=g)).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        (-activation(torch.tanh(z))).backward()
        opt.step()
    return torch.tanh(z).detach().numpy()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-train", type=int, default=200_000)  # the thesis' 200 000 (L1193)
    ap.add_argument("--epochs", type=int, default=4)
    # Adam lr 1e-3 collapsed this net to a constant output (held-out median 8.7-10.0 J, worse than the mean's 8.6,
    # measured at 30k and 200k); 1e-4 learns (7.4 J after 3 epochs of 20k); 3e-4 stalled at 9.3
    ap.add_argument("--lr", type=float, default=1e-4)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    res = {}
    net, res["toy"] = train_toy(a.n_train, a.epochs, a.lr)
    w = net[0].weight.detach().numpy()[:, 0]  # (512, 3, 3)
    purity = np.abs(w.sum((1, 2))) / np.abs(w).sum((1, 2))
    res["toy"]["kernel_sign_purity"] = {"median": float(np.median(purity)), "fraction_above_0.8": float((purity > 0.8).mean()),
                                        "fraction_below_0.2": float((purity < 0.2).mean())}
    chans = [0, len(w) - 1]
    opt_in = [maximise(lambda x, c=c: torch.relu(net[0](x.view(1, 1, 9, 9)))[0, c].mean(), (9, 9), seed=c) for c in chans]
    agree = [float(np.mean(np.sign(o[:3, :3]) == np.sign(w[c]))) for o, c in zip(opt_in, chans)]
    res["toy"]["maximiser_matches_kernel_sign"] = agree
    res["arrays"] = {"toy_kernels": w.round(5).tolist(), "toy_maximisers": np.stack(opt_in).round(4).tolist(),
                     "toy_channels": chans}

    import zoo

    m = zoo.load_pretrained("ising_cnn/8x8-energy")
    conv = m.features[0]
    wk = next(p for p in conv.parameters() if p.dim() == 4).detach().numpy()[:, 0]  # (32, 3, 3)
    up = lambda x: x.repeat_interleave(2, -2).repeat_interleave(2, -1)  # noqa: E731  the model's 8 -> 16 upscaling
    opt8 = [maximise(lambda x, c=c: torch.relu(conv(up(x.view(1, 1, 8, 8))))[0, c].mean(), (8, 8), seed=c)
            for c in range(4)]
    p8 = np.abs(wk.sum((1, 2))) / np.abs(wk).sum((1, 2))
    res["8x8_energy"] = {"n_kernels": int(len(wk)), "kernel_sign_purity_median": float(np.median(p8)),
                         "fraction_mixed_sign_below_0.5": float((p8 < 0.5).mean())}
    res["arrays"].update({"energy_kernels": wk.round(5).tolist(), "energy_maximisers": np.stack(opt8).round(4).tolist()})
    (ROOT / "benchmarks" / "results" / "ising_cnn_kernels.json").write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps({k: v for k, v in res.items() if k != "arrays"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
