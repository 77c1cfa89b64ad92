"""``train --resume``: the settings of a resumed run, merged from the checkpoint and the flags.

The checkpoint's settings are the base. A flag the user gave (on the command line or
in ``--config``) overrides the optimizer settings (``--lr``, ``--momentum``,
``--weight-decay``, ``--schedule``), ``--batch-size`` (the saved shuffle sequence
goes on in batches of the new size) and the total ``--epochs``. Flags fixed by what
the checkpoint contains must equal the stored values: ``--hidden`` and ``--dtype``
shape the parameters, and ``--seed`` would have no effect because the saved
batch-order generator replaces it. The training data must be the same too:
``check_same_training_data`` compares them with the digest that the checkpoint records.
"""

from __future__ import annotations

import argparse
import logging
import shlex
from typing import Any

from mlpbench.checkpoint import Checkpoint
from mlpbench.cli.loading import default_engine, recorded
from mlpbench.cli.options import model_settings
from mlpbench.errors import CheckpointError
from mlpbench.training.hyperparams import HYPERPARAMETERS, validate_some_hyperparameters

logger = logging.getLogger("mlpbench")

# dest -> the reason the stored value cannot change on resume.
FIXED_ON_RESUME = {
    "hidden": "the parameters have that shape",
    "dtype": "the parameters are stored in it",
    "seed": "the saved batch-order generator replaces it",
    "standardize": "the feature statistics were learned in the first run",
}


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _fix(dest: str, stored: Any) -> str:
    """Say how to make flag ``dest`` match the stored value; an on/off flag takes no value."""
    flag = _flag(dest)
    if isinstance(stored, bool):
        return f"pass {flag}" if stored else f"drop {flag}"
    return f"drop {flag} or pass {flag} {_show(stored)}"


def _requested(dest: str, value: Any) -> str:
    """Describe a requested setting as ``--hidden 32``, ``--standardize`` or ``standardize off``."""
    if isinstance(value, bool):
        return _flag(dest) if value else f"{dest} off"
    return f"{_flag(dest)} {_show(value)}"


def _show(value: Any) -> str:
    """Format a setting as its flag takes it (hidden sizes as ``256,128``, ``0`` for none, on or off)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ",".join(str(size) for size in value) or "0"
    return str(value)


def _check_kept_settings(path: str, flags: dict[str, Any], stored: dict[str, Any]) -> None:
    """Raise CheckpointError for an invalid stored setting that a resumed run keeps.

    No flag can replace such a setting, so the resume stops here, before any advice
    to pass the stored value again.
    """
    for dest, reason in FIXED_ON_RESUME.items():
        if dest not in HYPERPARAMETERS or dest not in stored:
            continue
        try:
            validate_some_hyperparameters({dest: stored[dest]}, valid=flags)
        except (TypeError, ValueError) as error:
            raise CheckpointError(
                f"cannot resume {path}: its stored {dest} is invalid ({error}), and {_flag(dest)} "
                f"cannot replace it on resume ({reason}); train a new model instead"
            ) from error


def resumed_settings(
    args: argparse.Namespace, checkpoint: Checkpoint, parser: argparse.ArgumentParser
) -> dict[str, Any]:
    """Return the estimator settings for resuming ``checkpoint`` (``args.resume``).

    Exits with status 2 (``parser.error``) when a fixed flag differs from the stored
    value, naming both, or when the checkpoint has already trained ``--epochs``.
    """
    explicit = getattr(args, "explicit_options", frozenset())
    flags = model_settings(args)
    stored = checkpoint.model_settings()
    _check_kept_settings(args.resume, flags, stored)

    # Stored settings without a flag are carried over as they are.
    settings = dict(flags)
    changes = []
    for dest, value in stored.items():
        if dest not in flags or dest not in explicit:
            settings[dest] = value
        elif flags[dest] != value:
            if dest in FIXED_ON_RESUME:
                parser.error(
                    f"{_requested(dest, flags[dest])} does not match the checkpoint {args.resume}, "
                    f"which has {dest} {_show(value)} ({FIXED_ON_RESUME[dest]}); {_fix(dest, value)}"
                )
            changes.append((_flag(dest), _show(flags[dest]), _show(value)))

    # Flags were checked when parsed, so an invalid value here comes from the file.
    try:
        validate_some_hyperparameters(settings, valid=flags)
    except (TypeError, ValueError) as error:
        raise CheckpointError(
            f"cannot resume {args.resume}: a setting stored in it is invalid ({error}); pass a valid "
            "value with that setting's flag"
        ) from error

    if settings["epochs"] <= checkpoint.epoch:
        parser.error(
            f"the checkpoint {args.resume} has already trained {checkpoint.epoch} epoch(s), and the "
            f"schedule has {settings['epochs']}; pass --epochs N with N > {checkpoint.epoch} to train further"
        )
    # Said only once the settings are accepted, so that an error is not preceded by them.
    for change in changes:
        logger.info("resuming with %s %s (the checkpoint has %s)", *change)
    if settings["schedule"] == "cosine" and settings["epochs"] != stored.get("epochs"):
        # The rate of every later epoch follows the new length, so the curve bends.
        logger.info(
            "the cosine schedule now spans %d epochs instead of %s, so the learning rate from epoch %d "
            "on follows the new curve, not the one the checkpoint's epochs followed",
            settings["epochs"],
            stored.get("epochs"),
            checkpoint.epoch + 1,
        )
    return settings


def changed_flags(checkpoint: Checkpoint, settings: dict[str, Any], engine: str, dataset: str) -> list[str]:
    """Return ``--flag value`` for each setting of a resumed run that differs from its checkpoint's.

    The checkpoint records these only once the resumed run saves it again.
    """
    flags = []
    if dataset != recorded(checkpoint, "name"):
        flags.append(f"--dataset {shlex.quote(dataset)}")
    if engine != checkpoint.engine:
        flags.append(f"--engine {engine}")
    for dest in ("epochs", "batch_size", "lr", "momentum", "weight_decay", "schedule"):
        if settings[dest] != checkpoint.config.get(dest):
            flags.append(f"{_flag(dest)} {_show(settings[dest])}")
    return flags


def resumed_engine(args: argparse.Namespace, checkpoint: Checkpoint) -> str:
    """Return ``--engine`` when given, else the engine that wrote the checkpoint."""
    if "engine" in getattr(args, "explicit_options", frozenset()):
        return args.engine
    return default_engine(checkpoint)


def resumed_dataset(args: argparse.Namespace, checkpoint: Checkpoint) -> str:
    """Return ``--dataset`` when given, else the data set recorded in the checkpoint.

    Falls back to the ``--dataset`` default for checkpoints that record none.
    """
    stored = recorded(checkpoint, "name")
    if "dataset" in getattr(args, "explicit_options", frozenset()) or not stored:
        return args.dataset
    return str(stored)
