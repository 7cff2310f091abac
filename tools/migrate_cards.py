"""Migrate published cards to the one-shape layout: every card names its class (`class_path`), and init args that
only selected a class (MBL's `kind`, ...) are dropped by the model's `from_legacy_args`.  Weights and sha256 are not
touched; each migrated card is loaded back through zoo.load_pretrained to prove it still builds its network.

    python tools/migrate_cards.py [--model mbl] [--dry-run]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import zoo  # noqa: E402
from zoo.hub import card_class, checkpoints_root, class_path  # noqa: E402


def migrate(card: dict) -> dict:
    """The card with `class_path` set and legacy init args resolved (idempotent)."""
    legacy = {k: v for k, v in card.items() if k != "class_path"}
    cls, init_args = card_class(legacy if "class_path" not in card else card)
    out = {}
    for k, v in card.items():  # keep the field order, class_path right after model
        if k == "class_path":
            continue
        out[k] = init_args if k == "init_args" else v
        if k == "model":
            out["class_path"] = class_path(cls)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="only this model's cards")
    p.add_argument("--dry-run", action="store_true")
    a = p.parse_args(argv)
    for name in zoo.list_pretrained(a.model):
        path = checkpoints_root() / f"{name}.json"
        card = json.loads(path.read_text())
        if card.get("kind") == "table":
            continue
        new = migrate(card)
        if new == card:
            print(f"{name}: up to date ({new['class_path']})")
            continue
        print(f"{name}: class_path {new['class_path']}" + (" (dry run)" if a.dry_run else ""))
        if not a.dry_run:
            path.write_text(json.dumps(new, indent=2) + "\n")
            zoo.load_pretrained(name)  # the migrated card still builds and loads its weights
    return 0


if __name__ == "__main__":
    sys.exit(main())
