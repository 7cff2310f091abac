"""InitWeights: a second stage starts from the first stage's weights with a fresh optimizer and epoch count."""
from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from callbacks.init_weights import InitWeights
from zoo.ednn import CountingEDNN


def _model():
    return CountingEDNN(focus=8, context=8, n_outputs=2, filters=4, fc_width=8, conv_padding="valid",
                    zero_background=True, lr=1e-3)


def _trainer(tmp_path, **kw):
    return pl.Trainer(default_root_dir=tmp_path, logger=False, enable_progress_bar=False, enable_model_summary=False,
                      accelerator="cpu", **kw)


def _loader():
    g = torch.Generator().manual_seed(0)
    return DataLoader(TensorDataset(torch.rand(8, 1, 16, 16, generator=g), torch.rand(8, 2, generator=g)), batch_size=4)


def test_second_stage_starts_from_the_first_stages_weights(tmp_path):
    torch.manual_seed(0)
    first = _model()
    t = _trainer(tmp_path / "a", max_epochs=1, enable_checkpointing=False)
    t.fit(first, _loader())
    ckpt = tmp_path / "first.ckpt"
    t.save_checkpoint(ckpt)
    trained = {k: v.clone() for k, v in first.state_dict().items()}

    torch.manual_seed(1)
    second = _model()
    assert any(not torch.equal(second.state_dict()[k], v) for k, v in trained.items())
    seen = {}

    class Peek(pl.Callback):  # weights at the first training batch, after InitWeights ran
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if not seen:
                seen.update({k: v.clone() for k, v in pl_module.state_dict().items()})

    t2 = _trainer(tmp_path / "b", max_epochs=1, enable_checkpointing=False, callbacks=[InitWeights(str(ckpt)), Peek()])
    t2.fit(second, _loader())
    for k, v in trained.items():
        torch.testing.assert_close(seen[k], v)
    assert t2.current_epoch == 1  # a fresh epoch count: the first stage's epoch was not restored


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    t = _trainer(tmp_path, max_epochs=1, enable_checkpointing=False, callbacks=[InitWeights(str(tmp_path / "no.ckpt"))])
    with pytest.raises(FileNotFoundError, match="train the stage it comes from first"):
        t.fit(_model(), _loader())
