"""Our verbs of the `zoo` command (LightningCLI handles fit/validate/test/predict)."""
from __future__ import annotations

import argparse
import json
import os
import sys

import yaml

from zoo.registry import import_class


def _load_config(path: str) -> dict:
    with open(path) as f:
        return yaml.safe_load(f)


def config_header(path: str) -> str:
    """The leading comment block of a config: where its choices (ours vs the paper's) are written down."""
    lines = []
    for line in open(path):
        if not line.startswith("#"):
            break
        lines.append(line[1:].strip())
    return " ".join(lines)


def datamodule_from_config(cfg: dict):
    data = cfg["data"]
    return import_class(data["class_path"]), dict(data.get("init_args", {}))


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def paper_vs_ours(card: dict, fresh: list[dict] | None = None) -> str:
    """Text table: each measured metric, the paper's number (or words) beside it, and a re-measurement."""
    paper = {p["metric"]: p for p in card.get("paper", [])}
    now = {m["name"]: m for m in fresh or []}
    head = f"{'metric':<26} {'card':>12}" + (f" {'now (fresh)':>12}" if fresh is not None else "") + "   paper"
    rows = [head]
    for m in card.get("metrics", []):
        p = paper.get(m["name"], {})
        pv = _fmt(p.get("value")) if p.get("value") is not None else p.get("text", "-")
        if p.get("ref"):
            pv += f" ({p['ref']})"
        row = f"{m['name']:<26} {_fmt(m['value']):>12}"
        if fresh is not None:
            row += f" {_fmt(now.get(m['name'], {}).get('value')):>12}"
        rows.append(row + f"   {pv}" + (f"  [{m['unit']}]" if m.get("unit") else ""))
    return "\n".join(rows)


def cmd_models(a) -> int:
    import zoo

    for m in zoo.list_models():
        print(m)
    return 0


def cmd_pretrained(a) -> int:
    import zoo

    for n in zoo.list_pretrained(a.model):
        card = zoo.get_card(n)
        head = card["metrics"][0] if card.get("metrics") else {}
        print(f"{n:<34} {head.get('name', '')}={_fmt(head.get('value'))}")
    return 0


def evaluate(name: str, seed: int | None = None, progress: bool = True) -> tuple[dict, list[dict]]:
    import zoo

    model = zoo.load_pretrained(name)
    card = model.card
    data_args = dict(card["dataset"]["init_args"])
    fresh_seed = seed if seed is not None else int(data_args.get("seed", 0)) + 1000
    return card, model.measure(data_args, seed=fresh_seed, progress=progress)


def cmd_evaluate(a) -> int:
    import zoo

    names = a.names or zoo.list_pretrained(a.model)
    for n in names:
        if zoo.get_card(n).get("kind") == "table":
            print(f"\n== {n}  (a published table; re-run its `training.source` command to re-measure)")
            continue
        card, fresh = evaluate(n, a.seed)
        print(f"\n== {n}  (re-measured on freshly generated data)\n{paper_vs_ours(card, fresh)}")
    return 0


def cmd_publish(a) -> int:
    import zoo
    from zoo import hub

    cfg = _load_config(a.config)
    dm_cls, data_args = datamodule_from_config(cfg)
    model_name, _, variant = a.name.partition("/")
    cls = zoo.get_model_class(model_name)
    dm = dm_cls(**data_args)
    dataset = {"class_path": cfg["data"]["class_path"], "init_args": data_args, "recipe": dm.recipe(),
               "recipe_hash": dm.cache.hash}
    out = hub.publish(a.ckpt, a.name, config=a.config, dataset=dataset, paper=getattr(cls, "PAPER", {}).get(variant, []),
                      training={"seed": cfg.get("seed_everything"), "wall_time_s": a.wall_time,
                                "max_epochs": cfg.get("trainer", {}).get("max_epochs")},
                      notes=config_header(a.config))
    # measure through the same verified path users load from
    model = zoo.load_pretrained(a.name)
    card = model.card
    card["metrics"] = model.measure(data_args, progress=True)
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"published {out}\n{paper_vs_ours(card)}")
    return 0


def cmd_reproduce(a) -> int:
    from zoo import reports

    path = reports.reproduce(a.model, quick=a.quick)
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
    s.set_defaults(fn=cmd_evaluate)
    s = sub.add_parser("publish", help="write safetensors + card from a Lightning checkpoint")
    s.add_argument("ckpt")
    s.add_argument("--name", required=True)
    s.add_argument("--config", required=True)
    s.add_argument("--wall-time", type=float, default=None, help="training wall time in seconds, for the card")
    s.set_defaults(fn=cmd_publish)
    s = sub.add_parser("reproduce", help="the paper's table with ours beside it -> reports/MODEL.md")
    s.add_argument("model")
    s.add_argument("--quick", action="store_true", help="smaller Monte Carlo runs")
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
    except KeyError as e:  # unknown names carry the valid list and the closest match
        print(f"zoo: error: {e.args[0]}", file=sys.stderr)
        return 2
