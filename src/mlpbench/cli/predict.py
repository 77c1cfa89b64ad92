"""``mlpbench predict``: classify images or arrays with a saved checkpoint."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from mlpbench.checkpoint import SUFFIXES, read_checkpoint
from mlpbench.cli.inputs import read_inputs
from mlpbench.cli.loading import class_labels, load_model, recorded
from mlpbench.cli.options import DEFAULTS, DEVICE_HELP, positive_int, torch_device
from mlpbench.cli.outputs import check_output_path, csv_kind, replacement_note, write_csv, write_then_show
from mlpbench.data.digits import MAX_PIXEL as DIGITS_MAX_PIXEL
from mlpbench.engines.registry import LOADING_ENGINES
from mlpbench.errors import CheckpointError

logger = logging.getLogger("mlpbench")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="classify images or arrays with a saved checkpoint",
        description="Print the predicted class and the most probable classes of each input. "
        "Images are converted to grayscale, inverted when their background is light (the "
        "MNIST family has light strokes on dark) and resized to the model's input size.",
    )
    parser.add_argument(
        "checkpoint", metavar="CHECKPOINT", help=".npz or .pt model file (train --save or a model's save())"
    )
    parser.add_argument(
        "inputs",
        metavar="INPUT",
        nargs="+",
        help="PNG or JPEG image, IDX image file, or .npy/.npz array of shape (n, features) "
        "or (n, height, width); a .npz holds one array or one named x, x_test or images",
    )
    parser.add_argument(
        "--engine",
        choices=LOADING_ENGINES,
        help="engine to load the checkpoint into (default: the engine that wrote it)",
    )
    parser.add_argument(
        "--device",
        type=torch_device,
        default=DEFAULTS["device"],
        help=DEVICE_HELP,
    )
    parser.add_argument(
        "--top",
        type=positive_int,
        default=3,
        help="most probable classes shown per input (default: %(default)s)",
    )
    parser.add_argument("--out", metavar="FILE.csv", help="also write the predictions as CSV")
    parser.set_defaults(handler=run)


def _is_checkpoint(path: Path) -> bool:
    """Tell whether ``path`` reads as a parameter file (not an array of input rows)."""
    if path.suffix.lower() not in SUFFIXES or not path.is_file():
        return False
    try:
        read_checkpoint(path)
    except CheckpointError:
        return False
    return True


PREDICTIONS_KIND = csv_kind("a predictions CSV", "input")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    inputs = [(args.checkpoint, "the model being read")]
    inputs += [(path, "an input being classified") for path in args.inputs]
    check_output_path(args.out, "--out", kind=PREDICTIONS_KIND, inputs=inputs)
    # Swapped arguments (an image first, the model after it) would otherwise fail as an
    # unreadable model. The inputs are read as models only when the first file cannot be one.
    if Path(args.checkpoint).suffix.lower() not in SUFFIXES:
        swapped = next((path for path in args.inputs if _is_checkpoint(Path(path))), None)
        if swapped is not None:
            parser.error(
                f"{args.checkpoint} is not a .npz or .pt model file; the model comes first: "
                f"mlpbench predict {swapped} {args.checkpoint}"
            )
    model, checkpoint = load_model(args.checkpoint, args.engine, device=args.device)
    shape = recorded(checkpoint, "image_shape")
    image_shape = (int(shape[0]), int(shape[1])) if isinstance(shape, list) and len(shape) == 2 else None
    # In training the digits were divided by their own maximum, 16, and other data sets by 255.
    pixel_max = DIGITS_MAX_PIXEL if recorded(checkpoint, "name") == "digits" else None
    inputs = read_inputs(args.inputs, checkpoint.layer_sizes[0], image_shape, pixel_max)

    probs = model.predict_proba(inputs.x).astype(np.float64)
    labels = class_labels(checkpoint)
    top = min(args.top, probs.shape[1])
    # Stable sort on negated probabilities: ties keep the lower class index first.
    ranked = np.argsort(-probs, axis=1, kind="stable")[:, :top]

    lines = []
    for name, classes, row in zip(inputs.names, ranked, probs, strict=True):
        ranking = ", ".join(f"{labels[c]} {row[c]:.1%}" for c in classes)
        lines.append(f"{name}: {labels[classes[0]]}  (top {top}: {ranking})")

    def write_predictions() -> None:
        if not args.out:
            return
        header = ["input", "predicted_class", "predicted_name"]
        for rank in range(1, top + 1):
            header += [f"top{rank}_class", f"top{rank}_name", f"top{rank}_probability"]
        rows = []
        for name, classes, row in zip(inputs.names, ranked, probs, strict=True):
            line: list[object] = [name, int(classes[0]), labels[classes[0]]]
            for c in classes:
                line += [int(c), labels[c], f"{row[c]:.6g}"]
            rows.append(line)
        write_csv(args.out, header, rows, "predictions")

    replaced = replacement_note(args.out)
    write_then_show(write_predictions, lambda: print("\n".join(lines)))
    if args.out:
        count = len(ranked)
        plural = "" if count == 1 else "s"
        logger.info("wrote %d prediction%s to %s%s", count, plural, Path(args.out), replaced)
    return 0
