"""Shared DataModule machinery: recipe -> cache entry -> splits -> loaders."""
from __future__ import annotations

import inspect
import json
import math
import os

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

from .cache import DatasetCache
from .validation import optional_positive_int, positive_int

# init args that change how data is labelled, split or served, not which samples are generated;
# they stay out of the recipe hash so that one cache entry serves them all
LOADER_ARGS = {"batch_size", "num_workers", "data_dir", "gen_workers", "progress", "label", "eval_batch_size",
               "val_fraction", "test_fraction", "eval_on", "min_states_for_test"}


class EpochSeededSampler(RandomSampler):
    """Shuffle order as a function of (seed, epoch) only.

    The default RandomSampler draws from the global torch RNG, which Lightning checkpoints do not
    save, so a run resumed from last.ckpt would see another data order than an uninterrupted one.
    Lightning calls set_epoch every epoch, also after a resume; the loader starts the sampler at the
    Trainer's restored epoch anyway (`trainer_epoch`), as the stream samplers must. Under DDP Lightning
    swaps in a DistributedSampler as usual.
    """

    def __init__(self, data_source, seed: int = 0, epoch: int = 0):
        super().__init__(data_source)
        self.seed, self.epoch = seed, epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        yield from torch.randperm(len(self.data_source), generator=g).tolist()


def trainer_epoch(datamodule) -> int:
    """The epoch the attached Trainer is at (the restored one when resuming), 0 without a Trainer: where an
    epoch-indexed sampler must start, since the first resumed epoch's iterator exists before `set_epoch`."""
    trainer = getattr(datamodule, "trainer", None)
    if trainer is None:
        return 0
    # the count Lightning itself passes to set_epoch: a checkpoint written at an epoch's end has it processed but
    # not yet completed, so `current_epoch` would still name the finished epoch
    return int(trainer.fit_loop.epoch_progress.current.processed)


class ZooDataModule(pl.LightningDataModule):
    """Subclasses define `name`, `n_shards`, `shard_fn()` (picklable k -> arrays) and `make_splits(arrays)`.

    The recipe is every init argument except LOADER_ARGS, so two configs that ask for the same data
    share one cache entry (the Ising energy and magnetization models train on the same spins).
    """

    name = "dataset"

    def __init__(self, batch_size: int = 256, num_workers: int = 0, data_dir: str | None = None,
                 gen_workers: int | None = None, progress: bool = True, eval_batch_size: int | None = None):
        super().__init__()
        # batch_size 2.5 or eval_batch_size -1 reached the DataLoader as a raw traceback
        self.batch_size = positive_int(batch_size, "batch_size")
        self.eval_batch_size = optional_positive_int(eval_batch_size, "eval_batch_size") or 4 * self.batch_size
        self.num_workers = num_workers
        self.data_dir = data_dir
        self.gen_workers = gen_workers
        self.progress = progress
        self.splits: dict[str, TensorDataset] = {}

    # -- recipe ---------------------------------------------------------------------------------
    # options added after datasets were published: {name: the value that reproduces the older data}; at that value
    # the option is left out of the recipe, so those datasets keep their hash (and their cache)
    recipe_added_options: dict = {}

    def recipe(self) -> dict:
        sig = inspect.signature(type(self).__init__)
        args = {k: getattr(self, k) for k in sig.parameters if k != "self" and k not in LOADER_ARGS
                and not (k in self.recipe_added_options and getattr(self, k) == self.recipe_added_options[k])}
        return {"dataset": self.name, "version": getattr(self, "version", 1), **args}

    @property
    def n_shards(self) -> int:
        raise NotImplementedError

    def shard_fn(self):
        raise NotImplementedError

    def make_splits(self, arrays: dict) -> dict[str, TensorDataset]:
        raise NotImplementedError

    @property
    def cache(self) -> DatasetCache:
        return DatasetCache(self.name, self.recipe(), self.n_shards, root=self.data_dir)

    # -- Lightning hooks ------------------------------------------------------------------------
    def prepare_data(self) -> None:
        c = self.cache
        if not c.is_complete():
            c.generate(self.shard_fn(), workers=self.gen_workers, progress=self.progress)
            c.finalize()

    def generate(self, rank: int = 0, world_size: int = 1) -> list[int]:
        """This rank's share of the shards (for `zoo data generate` under torchrun)."""
        return self.cache.generate(self.shard_fn(), workers=self.gen_workers, rank=rank, world_size=world_size,
                                   progress=self.progress and rank == 0)

    def setup(self, stage: str | None = None) -> None:
        if not self.splits:
            arrays = self.cache.load(self.shard_fn(), workers=self.gen_workers, progress=self.progress)
            self.splits = self.make_splits(arrays)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        if split not in self.splits:
            raise RuntimeError(f"split {split!r} is empty or setup() was not called; have {list(self.splits)}")
        ds = self.splits[split]
        if shuffle:
            sampler = EpochSeededSampler(ds, seed=int(os.environ.get("PL_GLOBAL_SEED", 0)), epoch=trainer_epoch(self))
        elif torch.distributed.is_available() and torch.distributed.is_initialized() \
                and torch.distributed.get_world_size() > 1:
            # Lightning's default DistributedSampler pads the last batch with repeated samples so every rank gets as
            # many: a median over the gathered errors would count them twice.  Each sample once, on one rank (no
            # eval step here runs a per-step collective, so ranks may run different numbers of batches).
            from pytorch_lightning.overrides.distributed import UnrepeatedDistributedSampler

            sampler = UnrepeatedDistributedSampler(ds, shuffle=False)
        else:
            sampler = None
        return DataLoader(ds, batch_size=self.batch_size if shuffle else self.eval_batch_size, sampler=sampler,
                          num_workers=self.num_workers, persistent_workers=self.num_workers > 0)

    def train_dataloader(self):
        return self._loader("train", True)

    def val_dataloader(self):
        return self._loader("val", False)

    def test_dataloader(self):
        return self._loader("test", False)

    def predict_dataloader(self):
        return self._loader("test", False)


def per_shard_counts(total: int, shard_size: int) -> list[int]:
    n = math.ceil(total / shard_size)
    return [min(shard_size, total - k * shard_size) for k in range(n)]


def as_dataset(x: np.ndarray, y: np.ndarray) -> TensorDataset:
    return TensorDataset(torch.as_tensor(x), torch.as_tensor(y))


class GeneratedDataModule(ZooDataModule):
    """Batches generated on demand from (recipe, batch index): nothing to cache and no val/test loaders (evaluation
    is `zoo.evaluation.<model>`).  The GAN, flow and VMC streams; `key` is the recipe as the stream's seed."""

    @property
    def key(self) -> str:
        return json.dumps(self.recipe(), sort_keys=True)

    @property
    def n_shards(self) -> int:
        return 1

    def prepare_data(self) -> None:  # nothing to cache: batches are generated on demand
        pass

    def setup(self, stage: str | None = None) -> None:
        pass

    def val_dataloader(self):
        return []

    def test_dataloader(self):
        return []
