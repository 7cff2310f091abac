"""The rare-level rule of the Ising hash split (min_states_for_test)."""
import numpy as np

from datamodules.ising import IsingDataModule
from datamodules.physics import ising

SMALL = dict(L=8, n_samples=630, shard_size=10, progress=False)


def _energies(dm, split):
    return ising.class_to_energy(dm.splits[split].tensors[1].numpy(), 8) if split in dm.splits else np.array([])


def test_literal_hash_split_puts_both_ground_states_in_test():
    dm = IsingDataModule(**SMALL, min_states_for_test=0)
    dm.setup()
    # independent check of the finding: both all-up and all-down hash below the test cut
    gs = np.stack([np.ones((8, 8)), -np.ones((8, 8))]).astype(np.int8)
    assert np.all(ising.hash_bucket(gs) < round(0.3125 * 4096))
    assert -128 in _energies(dm, "test") and -128 not in _energies(dm, "train")


def test_rare_levels_go_wholly_to_train():
    dm = IsingDataModule(**SMALL)
    dm.setup()
    for split in ("val", "test"):
        assert not np.isin(_energies(dm, split), [-128, 128]).any()
    train = _energies(dm, "train")
    assert (train == -128).sum() == 10 and (train == 128).sum() == 10  # every copy of both levels
    # in this 10-per-level pool the rule picks the levels with < 8 distinct states, counted here independently
    spins = dm.cache.load()["spins"]
    E = ising.energy(spins)
    few = {e for e in np.unique(E).tolist() if len({r.tobytes() for r in spins[E == e]}) < 8}
    assert set(E[dm.rare_level_mask(spins)].tolist()) == few
    # and no configuration is on both sides

    tr = {r.tobytes() for r in dm.splits["train"].tensors[0].numpy().astype(np.int8)}
    te = {r.tobytes() for r in dm.splits["test"].tensors[0].numpy().astype(np.int8)}
    assert not tr & te


def test_published_recipe_moves_only_the_two_state_levels():
    """On the 163 800-configuration pool of the published 8x8 models only E = +-128 are moved."""
    dm = IsingDataModule(L=8, n_samples=163_800, progress=False)
    dm.prepare_data()
    spins = dm.cache.load()["spins"]
    assert set(ising.energy(spins[dm.rare_level_mask(spins)]).tolist()) == {-128, 128}
