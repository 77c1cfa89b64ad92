"""``mlpbench train``: train one engine on one data set, report test metrics, save parameters."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from mlpbench.cli.options import (
    add_data_arguments,
    add_training_arguments,
    model_settings,
    validate_training_arguments,
)
from mlpbench.cli.progress import progress_bar
from mlpbench.engines.registry import ENGINES, create_engine

logger = logging.getLogger("mlpbench")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train one engine and report test loss and accuracy",
        description="Train the MLP with one engine and report test loss and accuracy.",
    )
    parser.add_argument(
        "--engine",
        choices=list(ENGINES),
        default="numpy",
        help="engine to train with (default: %(default)s)",
    )
    add_data_arguments(parser)
    add_training_arguments(parser)
    parser.add_argument(
        "--save", metavar="PATH", help="write the trained parameters to a .npz or .pt file"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    validate_training_arguments(args, parser)
    if args.save and not str(args.save).endswith((".npz", ".pt")):
        parser.error(f"--save {args.save}: the file name must end in .npz or .pt")

    from mlpbench.data import load_dataset

    data = load_dataset(args.dataset, dtype=args.dtype, data_dir=args.data_dir)
    logger.info(
        "data: %s (%d train, %d test rows, %d features)",
        data.source,
        len(data.y_train),
        len(data.y_test),
        data.x_train.shape[1],
    )
    model = create_engine(args.engine, device=args.device, **model_settings(args))

    with progress_bar(args.epochs, f"training {args.engine}") as advance:

        def on_epoch(record: dict[str, Any]) -> None:
            advance(f"loss {record['train_loss']:.4f}")
            logger.debug(
                "epoch %d: train loss %.4f, %.3f s",
                record["epoch"],
                record["train_loss"],
                record["time_s"],
            )

        model.fit(data.x_train, data.y_train, n_classes=data.n_classes, callback=on_epoch)

    metrics = model.evaluate(data.x_test, data.y_test)
    seconds = sum(record["time_s"] for record in model.history_)
    print(
        f"{args.engine}: test loss {metrics['loss']:.4f}, test accuracy {metrics['accuracy']:.2%} "
        f"({model.epoch_} epochs, {seconds:.2f} s training)"
    )
    if args.save:
        path = model.save(args.save)
        print(f"saved parameters to {path}")
    return 0
