"""Fixtures shared by the tests of tests/zoo."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture
def tiny_rugan():
    """Factory for a small temperature RUGAN (4 latent channels, widths 8, labels over [1.0, 3.5]), its weights drawn
    from torch seed 0 at every call; keyword arguments override or add init arguments."""
    from zoo.rugan import RUGAN

    def make(**kw):
        args = dict(train_temperatures=[1.0, 3.5], latent_channels=4, g_width=8, c_width=8)
        args.update(kw)
        torch.manual_seed(0)
        return RUGAN(**args)

    return make
