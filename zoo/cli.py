"""The `zoo` command: LightningCLI verbs (fit/validate/test/predict) plus our own."""
from __future__ import annotations

import inspect
import sys
from pathlib import Path

LIGHTNING_VERBS = ("fit", "validate", "test", "predict")


def resolve_config_args(args: list[str]) -> list[str]:
    """`--config NAME` for a published config (`ising_cnn/8x8-classify`) -> its file, so an installed zoo trains
    from a name as a checkout does from a path.  Paths that exist are passed through untouched."""
    from zoo.paths import resolve_config

    out, i = [], 0
    while i < len(args):
        a = args[i]
        if a in ("-c", "--config") and i + 1 < len(args):
            out += [a, resolve_config(args[i + 1])]
            i += 2
            continue
        if a.startswith("--config="):
            a = "--config=" + resolve_config(a.split("=", 1)[1])
        out.append(a)
        i += 1
    return out


def first_cause(message: str) -> str:
    """The one line that says what is wrong, out of jsonargparse's nested report: the chain of keys down to the
    innermost error.  'Parser key "model": ... Union subtypes ... Parser key "lr": Expected a float. Got value: abc'
    -> 'model.lr: Expected a <class 'float'>. Got value: abc'."""
    import re

    keys, cause = [], None
    structural = ("Does not validate against", "Subtypes:", "Errors:", "Given value", "- Expected a <class 'NoneType'>",
                  "Not a valid subclass", "Problem with given class_path")
    for raw in message.splitlines():
        line = raw.strip()
        line = line[2:] if line.startswith("- ") else line
        m = re.match(r'Parser key "([^"]+)":\s*(.*)$', line)
        if m:
            keys.append(m.group(1))
            if m.group(2):
                cause = m.group(2)
            continue
        if line and not line.startswith(structural) and cause is None:
            cause = line
    if cause is None:
        return message.strip().splitlines()[0] if message.strip() else message
    path = ".".join(k for i, k in enumerate(keys) if k not in keys[:i])
    return f"{path}: {cause}" if path else cause


def ddp_strategy_for(model_cls: type, strategy):
    """GANs step one network per backward pass, so plain DDP's reducer stops at "parameters that were not used":
    a model that says so (`ddp_find_unused_parameters = True`) gets the DDP variant that allows it."""
    if strategy == "ddp" and getattr(model_cls, "ddp_find_unused_parameters", False):
        return "ddp_find_unused_parameters_true"
    return strategy


def lightning_main(args: list[str]) -> None:
    from pytorch_lightning.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback

    from datamodules.base import ZooDataModule
    from zoo.base import ZooTask
    from zoo.registry import import_class

    class LogConfigCallback(SaveConfigCallback):
        """Writes config.yaml next to the run and logs the full resolved config to the logger
        (LightningCLI does not push it to W&B by itself)."""

        def save_config(self, trainer, pl_module, stage) -> None:
            if trainer.logger is not None:
                # through the parser's own YAML dump: as_dict() keeps jsonargparse Path objects,
                # which loggers would store as Python-tagged YAML or reprs
                import yaml

                resolved = yaml.safe_load(self.parser.dump(self.config, skip_none=False, skip_check=True))
                trainer.logger.log_hyperparams({"config": resolved})

    class ZooParser(LightningArgumentParser):
        """Errors lead with their one-line cause; options are never abbreviated (`--trainer.max_epoch 1` must not
        silently become max_epochs)."""

        def __init__(self, *a, **kw):
            kw["allow_abbrev"] = False
            super().__init__(*a, **kw)

        def error(self, message, ex=None):
            if self.exit_on_error:  # nested parsers raise to their parent instead: only the final report is ours
                sys.stderr.write(f"zoo: error: {first_cause(message)}\n  (details below)\n")
            super().error(message, ex)

    class ZooCLI(LightningCLI):
        def _parse_ckpt_path(self) -> None:
            # A checkpoint is untrusted input: torch.load must never unpickle code from it.  Lightning reads
            # --ckpt_path here (weights-only) and again in the Trainer, where an http path would default to
            # weights_only=False; our checkpoints hold tensors and primitives only, so weights-only is always right.
            sub = self.config.get("subcommand")
            if sub and "weights_only" in self.config[sub]:
                if self.config[sub].get("weights_only") is False:
                    sys.exit("zoo: error: --weights_only false would unpickle code from the checkpoint; the zoo "
                             "refuses it (its checkpoints load with weights_only=True)")
                self.config[sub]["weights_only"] = True
            ckpt_path = self.config[sub].get("ckpt_path") if sub else None
            if not (ckpt_path and Path(ckpt_path).is_file()):
                return
            from zoo.hub import checkpoint_class, class_path, load_lightning_checkpoint

            try:
                ckpt = load_lightning_checkpoint(ckpt_path)
            except ValueError as e:
                sys.exit(f"zoo: error: --ckpt_path {e}")
            # as Lightning's own _parse_ckpt_path (the checkpoint's hyperparameters build the model), except that a
            # checkpoint from before a model's variants became classes (MBL's kind, RUGAN's labels, ...) is mapped
            # to the class and arguments of today (the model's from_legacy_args)
            hparams = dict(ckpt.get("hyper_parameters", {}))
            hparams.pop("_instantiator", None)
            if not hparams:
                return
            if "_class_path" in hparams:
                path = hparams.pop("_class_path")
                try:
                    cls, args = checkpoint_class(path, hparams)
                except ValueError as e:
                    sys.exit(f"zoo: error: --ckpt_path {ckpt_path}: {e}")
                hparams = {"class_path": class_path(cls) if cls else path, "dict_kwargs": args}
            try:
                self.config = self.parser.parse_object({sub: {"model": hparams}}, self.config)
            except SystemExit:
                sys.stderr.write("Parsing of ckpt_path hyperparameters failed!\n")
                raise

        def before_instantiate_classes(self) -> None:
            # Data facts flow from the DataModule to the model instead of being repeated in configs.
            # Each DataModule declares `model_links` {its init arg: the model's init arg}; a link is
            # applied only when the chosen model takes that argument, so any model/data pair works
            # (a static parser.link_arguments would break every model without the target argument).
            cfg = self.config[self.subcommand] if self.subcommand else self.config
            data_cls = import_class(cfg.data.class_path)
            model_cls = import_class(cfg.model.class_path)
            model_params = inspect.signature(model_cls.__init__).parameters
            data_params = inspect.signature(data_cls.__init__).parameters
            for src, dst in getattr(data_cls, "model_links", {}).items():
                if dst in model_params:
                    value = cfg.data.init_args.get(src, data_params[src].default)
                    cfg.model.init_args[dst] = value
            # one folder per run (callbacks/run_folder.py): the W&B logger's save_dir follows default_root_dir, a
            # fit resumed with --ckpt_path continues its W&B run, and a fresh fit into a folder holding
            # checkpoints is refused before a W&B run is opened
            from zoo.runs import before_instantiate

            before_instantiate(cfg, self.subcommand)
            strategy = ddp_strategy_for(model_cls, cfg.trainer.get("strategy"))
            if strategy != cfg.trainer.get("strategy"):
                cfg.trainer.strategy = strategy
                print(f"zoo: {model_cls.__name__} trains with strategy {strategy!r} (each step updates one of its "
                      "networks)", file=sys.stderr)

        def before_fit(self) -> None:
            # Lightning 2.6's ModelCheckpoint still writes last.ckpt in on_train_end under fast_dev_run:
            # a smoke test must not overwrite the last.ckpt of a real run in the config's dirpath
            if self.trainer.fast_dev_run:
                for cb in self.trainer.checkpoint_callbacks:
                    cb.save_last = False

    ZooCLI(ZooTask, ZooDataModule, subclass_mode_model=True, subclass_mode_data=True, parser_class=ZooParser,
           save_config_callback=LogConfigCallback, save_config_kwargs={"overwrite": True},
           # args=None when they are the command line itself (LightningCLI warns when given both)
           args=None if args == sys.argv[1:] else args,
           auto_configure_optimizers=False)


def _close_process_group() -> None:
    """After a DDP run, tear the gloo/NCCL group down ourselves: left to interpreter shutdown, its threads can be
    destroyed mid-flight and abort the process ("terminate called without an active exception") after a good run."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in LIGHTNING_VERBS:
        try:
            resolved = resolve_config_args(argv)
        except ValueError as e:  # a --config that is neither a file nor a published name: one line, not a traceback
            print(f"zoo: error: {e}", file=sys.stderr)
            return 2
        if argv == sys.argv[1:]:
            sys.argv[1:] = resolved  # LightningCLI reads the command line itself when args is the command line
        from zoo.threads import configure_threads

        configure_threads()  # threads per process for this machine and rank count; warns on OMP_WAIT_POLICY=PASSIVE
        from zoo.runs import RunFolderInUse

        try:
            lightning_main(resolved)
        except RunFolderInUse as e:  # a fresh fit over an earlier run's checkpoints: say how to resume instead
            print(f"zoo: error: {e}", file=sys.stderr)
            return 2
        _close_process_group()
        return 0
    from zoo import commands

    return commands.main(argv)


if __name__ == "__main__":
    sys.exit(main())
