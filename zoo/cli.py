"""The `zoo` command: LightningCLI verbs (fit/validate/test/predict) plus our own."""
from __future__ import annotations

import inspect
import sys

LIGHTNING_VERBS = ("fit", "validate", "test", "predict")


def lightning_main(args: list[str]) -> None:
    from pytorch_lightning.cli import LightningCLI, SaveConfigCallback

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

    class ZooCLI(LightningCLI):
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

        def before_fit(self) -> None:
            # Lightning 2.6's ModelCheckpoint still writes last.ckpt in on_train_end under fast_dev_run:
            # a smoke test must not overwrite the last.ckpt of a real run in the config's dirpath
            if self.trainer.fast_dev_run:
                for cb in self.trainer.checkpoint_callbacks:
                    cb.save_last = False

    ZooCLI(ZooTask, ZooDataModule, subclass_mode_model=True, subclass_mode_data=True,
           save_config_callback=LogConfigCallback, save_config_kwargs={"overwrite": True},
           # args=None when they are the command line itself (LightningCLI warns when given both)
           args=None if args == sys.argv[1:] else args,
           auto_configure_optimizers=False)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in LIGHTNING_VERBS:
        lightning_main(argv)
        return 0
    from zoo import commands

    return commands.main(argv)


if __name__ == "__main__":
    sys.exit(main())
