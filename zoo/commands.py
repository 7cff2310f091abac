"""Our verbs of the `zoo` command (LightningCLI handles fit/validate/test/predict)."""
from __future__ import annotations

import argparse
import json
import os
import sys

import yaml

from zoo.paths import card_config, checkpoint_dirs, configs_root, list_configs, resolve_config, source_checkout
from zoo.records import fmt, paper_vs_ours_text
from zoo.registry import import_class


def _load_config(path: str) -> dict:
    """A config file, or a published config by name (`ising_cnn/8x8-classify`)."""
    with open(resolve_config(path)) as f:
        cfg = yaml.safe_load(f)
    if not isinstance(cfg, dict) or not isinstance(cfg.get("data"), dict) or "class_path" not in cfg["data"]:
        raise ValueError(f"--config: {path} has no `data: {{class_path: ...}}` section")
    return cfg


def config_header(path: str) -> str:
    """The leading comment block of a config: where its choices (ours vs the paper's) are written down."""
    lines = []
    for line in open(resolve_config(path)):
        if not line.startswith("#"):
            break
        lines.append(line[1:].strip())
    return " ".join(lines)


def datamodule_from_config(cfg: dict):
    data = cfg["data"]
    return import_class(data["class_path"]), dict(data.get("init_args", {}))


def cmd_models(a) -> int:
    import zoo

    for m in zoo.list_models():
        print(m)
    return 0


def cmd_pretrained(a) -> int:
    import zoo

    names = zoo.list_pretrained(a.model)
    if not names:
        print(f"zoo: error: no published checkpoints{' of ' + a.model if a.model else ''}; looked in "
              f"{', '.join(map(str, checkpoint_dirs()))} (set ZOO_CHECKPOINTS to use another folder)", file=sys.stderr)
        return 1
    for n in names:
        card = zoo.get_card(n)
        head = card["metrics"][0] if card.get("metrics") else {}
        print(f"{n:<34} {head.get('name', '')}={fmt(head.get('value'))}")
    return 0


def evaluate(name: str, seed: int | None = None, progress: bool = True, out_dir=None) -> tuple[dict, list[dict]]:
    import zoo

    model = zoo.load_pretrained(name)
    card = model.card
    data_args = dict(card["dataset"]["init_args"])
    fresh_seed = seed if seed is not None else int(data_args.get("seed", 0)) + 1000
    from zoo import evaluation

    return card, evaluation.measure(model, data_args, seed=fresh_seed, progress=progress, out_dir=out_dir)


def cmd_evaluate(a) -> int:
    """Prints only; with --out DIR, each checkpoint's fresh metrics (and any rows its measurement keeps) are saved
    there as JSON.  Nothing is written anywhere else."""
    import zoo

    names = a.names or zoo.list_pretrained(a.model)
    if not names:
        print(f"zoo: error: nothing to evaluate; looked in {', '.join(map(str, checkpoint_dirs()))}", file=sys.stderr)
        return 1
    out = None
    if a.out is not None:
        from pathlib import Path

        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
    for n in names:
        if zoo.get_card(n).get("kind") == "table":
            print(f"\n== {n}  (a published table of stored statistics: nothing to re-measure here; re-run its "
                  f"`training.source` command to redo the sweep)")
            continue
        card, fresh = evaluate(n, a.seed, out_dir=out)
        stored = sum(bool(m.get("stored")) for m in fresh)
        what = "re-measured on freshly generated data" if not stored else (
            f"{len(fresh) - stored} metric(s) re-measured on fresh data; {stored} marked (stored) are statistics "
            "kept in the model when it was fitted, equal to the card by construction")
        print(f"\n== {n}  ({what})\n{paper_vs_ours_text(card, fresh)}")
        if out is not None:
            target = out / f"{n.replace('/', '__')}.json"
            target.write_text(json.dumps({"name": n, "sha256": card["sha256"], "seed": a.seed, "metrics": fresh},
                                         indent=1) + "\n")
            print(f"saved {target}")
    return 0


def cmd_config(a) -> int:
    """Print a published config (to copy and edit), or list them."""
    if not a.name:
        print("\n".join(list_configs()))
        return 0
    print(open(resolve_config(a.name)).read(), end="")
    return 0


def cmd_publish(a) -> int:
    import zoo
    from zoo import hub

    cfg = _load_config(a.config)
    dm_cls, data_args = datamodule_from_config(cfg)
    from zoo import evaluation

    dm = dm_cls(**data_args)
    dataset = {"class_path": cfg["data"]["class_path"], "init_args": data_args, "recipe": dm.recipe(),
               "recipe_hash": dm.cache.hash}
    out = hub.publish(a.ckpt, a.name, config=card_config(a.config), dataset=dataset, paper=evaluation.paper(a.name),
                      training={"seed": cfg.get("seed_everything"), "wall_time_s": a.wall_time,
                                "max_epochs": cfg.get("trainer", {}).get("max_epochs")},
                      notes=config_header(a.config), overwrite=a.overwrite)
    # measure through the same verified path users load from; in a checkout the measurement's full rows go to
    # benchmarks/results/ for the reports
    model = zoo.load_pretrained(a.name)
    card = model.card
    repo = source_checkout()
    card["metrics"] = evaluation.measure(model, data_args, progress=True,
                                         out_dir=repo / "benchmarks" / "results" if repo else None)
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"published {out}\n{paper_vs_ours_text(card)}")
    return 0


def cmd_reproduce(a) -> int:
    from zoo import reports

    path = reports.reproduce(a.model, quick=a.quick, out=a.out)
    print(f"wrote {path}")
    return 0


def cmd_data_generate(a) -> int:
    """Generate a config's dataset; under torchrun each rank writes its share of the shards."""
    cfg = _load_config(a.config)
    dm_cls, data_args = datamodule_from_config(cfg)
    dm = dm_cls(**data_args)
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    written = dm.generate(rank=rank, world_size=world)
    if world > 1:
        import torch.distributed as dist

        dist.init_process_group("gloo")
        dist.barrier()  # every shard is on the shared disk before rank 0 writes the manifest
        if rank == 0:
            dm.cache.finalize()
        dist.barrier()
        dist.destroy_process_group()
    else:
        dm.cache.finalize()
    print(f"rank {rank}/{world}: wrote {len(written)} shard(s) into {dm.cache.dir}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zoo", description="Physics Zoo. Lightning verbs: fit, validate, test, "
                                "predict (see `zoo fit --help`); ours below.")
    sub = p.add_subparsers(dest="verb", required=True)
    sub.add_parser("models", help="list registered models").set_defaults(fn=cmd_models)
    s = sub.add_parser("pretrained", help="list published checkpoints")
    s.add_argument("model", nargs="?")
    s.set_defaults(fn=cmd_pretrained)
    s = sub.add_parser("evaluate", help="re-measure published checkpoints on freshly generated data")
    s.add_argument("names", nargs="*", help="model/variant names (default: all of --model, or all)")
    s.add_argument("--model", default=None)
    s.add_argument("--seed", type=int, default=None, help="data seed of the fresh set (default: card seed + 1000)")
    s.add_argument("--out", default=None, metavar="DIR", help="save the fresh metrics as JSON here (default: print only)")
    s.set_defaults(fn=cmd_evaluate)
    s = sub.add_parser("config", help="print a published config by name (list them without a name)")
    s.add_argument("name", nargs="?", help=f"e.g. ising_cnn/8x8-classify (from {configs_root()})")
    s.set_defaults(fn=cmd_config)
    s = sub.add_parser("publish", help="write safetensors + card from a Lightning checkpoint")
    s.add_argument("ckpt")
    s.add_argument("--name", required=True)
    s.add_argument("--config", required=True)
    s.add_argument("--wall-time", type=float, default=None, help="training wall time in seconds, for the card")
    s.add_argument("--overwrite", action="store_true", help="replace a model already published under --name")
    s.set_defaults(fn=cmd_publish)
    s = sub.add_parser("reproduce", help="the paper's table with ours beside it -> reports/MODEL.md")
    s.add_argument("model")
    s.add_argument("--quick", action="store_true", help="smaller Monte Carlo runs (written to reports/quick/, never "
                   "over the full report)")
    s.add_argument("--out", default=None, metavar="DIR", help="folder for the report (default: the checkout's "
                   "reports/; required for an installed zoo)")
    s.set_defaults(fn=cmd_reproduce)
    s = sub.add_parser("data", help="dataset tools")
    dsub = s.add_subparsers(dest="data_verb", required=True)
    g = dsub.add_parser("generate", help="generate a config's dataset into the cache (torchrun-aware)")
    g.add_argument("--config", required=True)
    g.set_defaults(fn=cmd_data_generate)
    return p


def main(argv: list[str]) -> int:
    a = build_parser().parse_args(argv)
    try:
        return a.fn(a)
    # unknown names carry the valid list and the closest match; bad arguments, missing or unsafe files name
    # themselves: one line, not a traceback
    except (KeyError, ValueError, FileNotFoundError, FileExistsError) as e:
        print(f"zoo: error: {e.args[0] if isinstance(e, KeyError) and e.args else e}", file=sys.stderr)
        return 2
