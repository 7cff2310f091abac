"""Tiny-data overrides for `test_every_config_fast_dev_run` (see tests/cli_tiny/__doc__.md)."""
from __future__ import annotations


def tiny(data: dict) -> list[str]:
    # L = 8 whatever the config says (an L = 12 realization takes ~15 s; the MLP's size does not depend on L), a 4 x 3
    # grid, 2 realizations x 5 states per point, 10 realizations at the training points
    return ["--data.init_args.L", "8", "--data.init_args.n_delta", "4", "--data.init_args.n_lambda", "3",
            "--data.init_args.grid_realizations", "2", "--data.init_args.states_per_realization", "5",
            "--data.init_args.train_realizations", "10", "--data.init_args.n_resamples", "1",
            "--data.init_args.points_per_shard", "12", "--data.init_args.gen_workers", "1"]


def model(model_args: dict, data: dict):
    from zoo.mbl import MBLClassifier, MBLClusterer

    # linked facts as the CLI links them; the clusterer configs (no parameters) are the ones with HDBSCAN settings
    links = {"L": 8, "region_size": data.get("region_size", 4), "n_delta": 4, "n_lambda": 3}
    if "min_cluster_fraction" in model_args:
        return MBLClusterer(**{**model_args, **links})
    return MBLClassifier(**{**model_args, "L": 8, "region_size": links["region_size"]})


TINY = {"datamodules.mbl.MBLDataModule": (tiny, model)}
