"""``mlpbench evaluate``: test metrics of a saved checkpoint, in either engine.

Prints the test loss and accuracy, each class's precision and recall, and the
confusion matrix. ``--json`` prints the same as one JSON object, and ``--plot``
draws the confusion matrix.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from mlpbench.cli.confusion import (
    PLOT_FORMATS,
    confusion_matrix,
    per_class_scores,
    plot_confusion_matrix,
)
from mlpbench.cli.loading import check_data_fits, class_labels, load_model, recorded
from mlpbench.cli.options import DEFAULTS, DEVICE_HELP, torch_device
from mlpbench.cli.outputs import PLOT_KIND, check_output_path, replacement_note, write_then_show
from mlpbench.engines.registry import LOADING_ENGINES
from mlpbench.errors import InputNotFoundError, InvalidArgumentError

logger = logging.getLogger("mlpbench")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="report test metrics and the confusion matrix of a saved checkpoint",
        description="Load a .npz or .pt checkpoint into either engine and report test loss, "
        "accuracy, per-class precision and recall, and the confusion matrix.",
    )
    parser.add_argument(
        "checkpoint", metavar="CHECKPOINT", help=".npz or .pt model file (train --save or a model's save())"
    )
    parser.add_argument(
        "--engine",
        choices=LOADING_ENGINES,
        help="engine to load the checkpoint into (default: the engine that wrote it)",
    )
    parser.add_argument(
        "--dataset",
        metavar="NAME_OR_PATH",
        help="data set whose test split is evaluated (default: the one the checkpoint was trained on)",
    )
    parser.add_argument(
        "--data-dir", metavar="DIR", help="folder searched first for the MNIST-family IDX files"
    )
    parser.add_argument(
        "--device",
        type=torch_device,
        default=DEFAULTS["device"],
        help=DEVICE_HELP,
    )
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help=f"draw the confusion matrix into an image file ({', '.join(PLOT_FORMATS)})",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.plot and Path(args.plot).is_dir():
        example = Path(args.plot) / "confusion.png"
        parser.error(f"--plot {args.plot}: it is a folder; give an image file name, such as {example}")
    if args.plot and Path(args.plot).suffix.lower().lstrip(".") not in PLOT_FORMATS:
        parser.error(f"--plot {args.plot}: the file name must end in .png, .pdf or .svg")
    check_output_path(args.plot, "--plot", kind=PLOT_KIND)

    model, checkpoint = load_model(args.checkpoint, args.engine, device=args.device)
    dataset = args.dataset or recorded(checkpoint, "name")
    if not dataset:
        # A missing flag, so exit status 2 as for other invalid arguments.
        raise InvalidArgumentError(
            f"the checkpoint {args.checkpoint} does not record its data set; pass --dataset NAME_OR_PATH"
        )

    from mlpbench.data import load_dataset

    try:
        data = load_dataset(dataset, dtype=checkpoint.dtype, data_dir=args.data_dir, progress=not args.quiet)
    except InputNotFoundError as error:
        if args.dataset:
            raise
        # The path came from the checkpoint, which the user may not know.
        raise InputNotFoundError(
            f"{args.checkpoint} was trained on {dataset}, which is not there any more; pass "
            "--dataset NAME_OR_PATH to evaluate on another copy"
        ) from error
    check_data_fits(checkpoint, data, args.checkpoint)
    logger.info("data: %s (%d test rows)", data.source, len(data.y_test))

    metrics = model.evaluate(data.x_test, data.y_test)
    matrix = confusion_matrix(data.y_test, model.predict(data.x_test), checkpoint.layer_sizes[-1])
    labels = list(data.class_names) if data.class_names is not None else class_labels(checkpoint)
    report = {
        "checkpoint": str(args.checkpoint),
        "engine": model.engine_name,
        "dataset": data.name,
        "n_samples": int(len(data.y_test)),
        "loss": metrics["loss"],
        "accuracy": metrics["accuracy"],
        "class_names": labels,
        "per_class": [
            {"class": index, "name": labels[index], **scores}
            for index, scores in enumerate(per_class_scores(matrix))
        ],
        "confusion_matrix": matrix.tolist(),
    }

    text = json.dumps(report, indent=2) if args.json else format_report(report)
    title = f"{Path(args.checkpoint).name} on {Path(data.name).name}: accuracy {metrics['accuracy']:.2%}"

    def write_plot() -> None:
        if args.plot:
            plot_confusion_matrix(matrix, labels, args.plot, title)

    replaced = replacement_note(args.plot)
    write_then_show(write_plot, lambda: print(text))
    if args.plot:
        logger.info("wrote the confusion matrix plot to %s%s", args.plot, replaced)
    return 0


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def format_report(report: dict[str, Any]) -> str:
    """Format an evaluation report as aligned text: summary, per-class table, confusion matrix."""
    lines = [
        f"{report['checkpoint']} ({report['engine']} engine) on {report['dataset']}, "
        f"{report['n_samples']} test samples",
        f"test loss {report['loss']:.4f}, test accuracy {report['accuracy']:.2%}",
        "",
    ]

    rows = report["per_class"]
    name_width = max(len("class"), *(len(f"{row['class']} {row['name']}") for row in rows))
    lines.append(f"{'class':<{name_width}}  precision  recall  support")
    for row in rows:
        label = str(row["class"]) if row["name"] == str(row["class"]) else f"{row['class']} {row['name']}"
        lines.append(
            f"{label:<{name_width}}  {_percent(row['precision']):>9}  "
            f"{_percent(row['recall']):>6}  {row['support']:>7}"
        )

    matrix = report["confusion_matrix"]
    width = max(3, *(len(str(count)) for line in matrix for count in line))
    lines += ["", "confusion matrix (rows: true class, columns: predicted class)"]
    lines.append(" " * 4 + "".join(f"{index:>{width + 1}}" for index in range(len(matrix))))
    for index, counts in enumerate(matrix):
        lines.append(f"{index:>4}" + "".join(f"{count:>{width + 1}}" for count in counts))
    return "\n".join(lines)
