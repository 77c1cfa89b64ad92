"""Command-line options shared by the commands that train (``train``, ``compare``, ``sweep``, ``profile``).

``add_training_arguments`` also adds ``--config FILE.toml`` and ``--print-config``;
``mlpbench.cli.config`` gives them their meaning for every command that has them.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence
from typing import Any

from mlpbench.training.hyperparams import DTYPES, validate_hyperparameters
from mlpbench.training.schedule import SCHEDULES

DEFAULTS: dict[str, Any] = {
    "hidden": "128",
    "epochs": 10,
    "batch_size": 64,
    "lr": 0.05,
    "momentum": 0.9,
    "weight_decay": 0.0,
    "schedule": "constant",
    "dtype": "float32",
    "seed": 0,
    "standardize": False,
    "threads": None,
    "dataset": "digits",
    "data_dir": None,
    "device": "cpu",
}


def parse_hidden(text: str) -> list[int]:
    """Parse ``"256,128"`` into ``[256, 128]``. ``"0"`` alone means no hidden layer.

    Empty text is rejected: it is more often an unset shell variable (``--hidden "$H"``)
    than a request for no hidden layer. A config file's empty list, ``hidden = []``,
    does mean none, and never reaches this parser.
    """
    text = str(text).strip()
    if text == "0":
        return []
    if not text:
        raise argparse.ArgumentTypeError(
            "the hidden sizes are empty: give a comma list of positive integers such as 256,128, "
            "or 0 for no hidden layer"
        )
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid hidden sizes {text!r}: expected a comma list of positive integers such as 256,128, "
            "or 0 for no hidden layer"
        ) from None
    if any(size <= 0 for size in sizes):
        raise argparse.ArgumentTypeError(
            f"invalid hidden sizes {text!r}: every size in a list must be > 0 (0 alone means no hidden layer)"
        )
    return sizes


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def batch_size(text: str) -> int:
    """Parse one batch size; a list of valid sizes gets a pointer to the sweep, which times several."""
    items = [item.strip() for item in text.split(",")]
    # Only a list that sweep --batch-sizes accepts: positive integers, none repeated.
    sizes = [int(item) for item in items if item.isdigit()]
    valid = len(sizes) == len(items) and min(sizes, default=0) > 0 and len(set(sizes)) == len(sizes)
    if len(items) > 1 and valid:
        raise argparse.ArgumentTypeError(
            f"expected one positive integer, got {text!r}; to time several batch sizes, run "
            f"mlpbench sweep --batch-sizes {','.join(str(size) for size in sizes)}"
        )
    return positive_int(text)


def torch_device(text: str) -> str:
    """Return ``text`` if it names a device the torch engines can use: cpu, cuda or cuda:N.

    A CUDA device is checked against the GPUs that PyTorch finds, which imports torch.
    """
    if not re.fullmatch(r"cpu|cuda(:[0-9]+)?", text):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda or cuda:N (a GPU index), got {text!r}")
    if text != "cpu":
        from mlpbench.engines.torch_engine.model import resolve_device

        try:
            resolve_device(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return text


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument(
        "--dataset",
        default=DEFAULTS["dataset"],
        metavar="NAME_OR_PATH",
        help="digits, mnist, fashion-mnist, or a path to IDX files, a .npz or a CSV pair "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--data-dir",
        default=DEFAULTS["data_dir"],
        metavar="DIR",
        help="folder searched first for the MNIST-family IDX files",
    )


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--config FILE.toml`` and ``--print-config`` (handled in ``mlpbench.cli.config``)."""
    group = parser.add_argument_group("configuration file")
    group.add_argument(
        "--config",
        metavar="FILE.toml",
        help="read flag values from a TOML file of 'flag-name = value' lines "
        "(dashes or underscores in names); flags on the command line override it",
    )
    group.add_argument(
        "--print-config",
        action="store_true",
        help="print the effective configuration as TOML and exit without running",
    )


DEVICE_HELP = (
    "PyTorch device: cpu, cuda or cuda:N, which must be usable here, so cuda needs a CUDA "
    "build of PyTorch and a visible GPU (default: %(default)s; the numpy engine runs on "
    "the CPU whatever it is)"
)
"""Help of --device, for every command that has it."""

# Flags that several commands share, by destination name, with the defaults of ``train``.
_SHARED_FLAGS: dict[str, dict[str, Any]] = {
    "hidden": {
        "type": parse_hidden,
        "metavar": "SIZES",
        "help": "hidden layer sizes as a comma list, e.g. 256,128; 0 for none (default: 128)",
    },
    "batch_size": {"type": batch_size, "help": "rows per mini-batch (default: %(default)s)"},
    "dtype": {
        "choices": DTYPES,
        "help": "floating-point type of the data and parameters (default: %(default)s)",
    },
    "threads": {
        "type": positive_int,
        "help": f"BLAS and PyTorch threads (default: all cores, {os.cpu_count() or 1})",
    },
    "lr": {"type": float, "help": "learning rate (default: %(default)s)"},
    "momentum": {"type": float, "help": "SGD momentum in [0, 1) (default: %(default)s)"},
    "weight_decay": {
        "type": float,
        "help": "L2 weight decay added to the gradient, as in torch.optim.SGD (default: %(default)s)",
    },
    "seed": {
        "type": int,
        "help": "seeds initial parameters and batch order, 0 to 2**32 - 1 (default: %(default)s)",
    },
    "device": {
        "type": torch_device,
        "help": DEVICE_HELP,
    },
}


def add_flags(group: argparse._ArgumentGroup | argparse.ArgumentParser, names: Sequence[str]) -> None:
    """Add the shared flags ``names`` (destination names such as ``weight_decay``) to ``group``."""
    for name in names:
        group.add_argument("--" + name.replace("_", "-"), default=DEFAULTS[name], **_SHARED_FLAGS[name])


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the model and optimizer flags, and the config-file flags; every default is shown in --help.

    Also registers ``validate_training_arguments`` as the parser's ``validate``
    default, which ``mlpbench.cli.main`` runs before ``--print-config``.
    """
    add_config_arguments(parser)
    parser.set_defaults(validate=validate_training_arguments)
    group = parser.add_argument_group("model and training")
    add_flags(group, ("hidden",))
    group.add_argument(
        "--epochs",
        type=positive_int,
        default=DEFAULTS["epochs"],
        help="passes over the training set (default: %(default)s)",
    )
    add_flags(group, ("batch_size", "lr", "momentum", "weight_decay"))
    group.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default=DEFAULTS["schedule"],
        help="learning-rate schedule, applied per epoch (default: %(default)s)",
    )
    add_flags(group, ("dtype", "seed"))
    group.add_argument(
        "--standardize",
        action="store_true",
        default=DEFAULTS["standardize"],
        help="standardize each feature with the training split's mean and standard deviation "
        "(saved with the model and applied at prediction)",
    )
    add_flags(group, ("threads", "device"))


# Values that pass validate_hyperparameters. Each flag is checked in turn against these,
# so an error can name the flag (or config key) that the bad value came from.
_VALID_BASELINE: dict[str, Any] = {
    "hidden": [1],
    "epochs": 1,
    "batch_size": 1,
    "lr": 0.1,
    "momentum": 0.0,
    "weight_decay": 0.0,
    "schedule": "constant",
    "dtype": "float32",
    "seed": 0,
}


def validate_training_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Reject invalid values before any work starts (argparse exits with status 2).

    When the bad value came from ``--config``, the message starts with the file
    and the key (see ``mlpbench.cli.config``).
    """
    for name in _VALID_BASELINE:
        trial = dict(_VALID_BASELINE, **{name: getattr(args, name)})
        try:
            validate_hyperparameters(**trial)
        except ValueError as error:
            parser.error(flag_message(str(error), args))


def flag_message(message: str, args: argparse.Namespace) -> str:
    """Name where a rejected setting came from, in a message that starts with its Python name.

    The estimators' checks name their parameters (``weight_decay ...``). A value from
    ``--config`` gets the file and key in front; one from the command line, its flag.
    """
    name = message.split(" ", 1)[0]
    sources: dict[str, str] = getattr(args, "config_sources", {})
    if name in sources:
        return f"{sources[name]}: {message}"
    if name in _VALID_BASELINE:
        return "--" + name.replace("_", "-") + message[len(name) :]
    return message


def model_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Return the estimator keyword arguments from parsed flags."""
    return {
        "hidden": list(args.hidden),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "momentum": args.momentum,
        "weight_decay": args.weight_decay,
        "schedule": args.schedule,
        "dtype": args.dtype,
        "seed": args.seed,
        "standardize": args.standardize,
        "threads": args.threads if args.threads is not None else (os.cpu_count() or 1),
    }
