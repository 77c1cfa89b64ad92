"""Checkpoints as the commands use them: build a model of either engine, check data against it.

A checkpoint written by ``mlpbench train`` records what the model was trained on in
its ``dataset`` entry (see ``dataset_metadata``): the data set name (or absolute
path), a digest of its training split and its row count, the class names where the
data set has them, and the image shape. ``compare --samples`` adds ``samples_of``,
the full training row count of the data set that the first rows were taken from.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np

from mlpbench.checkpoint import Checkpoint, check_restore_settings, read_checkpoint, restore_model
from mlpbench.data import Dataset, dataset_names
from mlpbench.engines.base import MLPEstimator
from mlpbench.engines.inputs import format_labels
from mlpbench.engines.registry import ENGINES, create_engine
from mlpbench.errors import CheckpointError, DataError, InvalidArgumentError

logger = logging.getLogger("mlpbench")


def default_engine(checkpoint: Checkpoint) -> str:
    """Return the engine that wrote ``checkpoint``, or ``"numpy"`` when it names an unknown one."""
    return checkpoint.engine if checkpoint.engine in ENGINES else "numpy"


def load_model(
    path: str | Path, engine: str | None = None, *, device: str = "cpu"
) -> tuple[MLPEstimator, Checkpoint]:
    """Read ``path`` and restore it into ``engine`` (default: the engine that wrote it).

    Returns the fitted model and the checkpoint it came from. Raises CheckpointError
    for a missing, corrupt or inconsistent file.
    """
    checkpoint = read_checkpoint(path)
    model = engine_from_checkpoint(engine or default_engine(checkpoint), checkpoint, path, device=device)
    restore_into(model, checkpoint, path, need_batch_order=False)
    return model, checkpoint


def engine_from_checkpoint(
    engine: str, checkpoint: Checkpoint, path: str | Path, *, device: str = "cpu", **settings: Any
) -> MLPEstimator:
    """Build ``engine`` from the checkpoint's stored settings, with ``settings`` replacing them.

    The settings that restoring uses are checked (``check_restore_settings``). One
    that fails came from the file, because the command line checks its flags when it
    parses them, so the CheckpointError names the file.
    """
    try:
        model = create_engine(engine, device=device, **{**checkpoint.model_settings(), **settings})
        check_restore_settings(model)
        return model
    except (TypeError, ValueError) as error:
        raise CheckpointError(
            f"{path}: a setting stored in it is invalid ({error}); to repair the file, pass a valid "
            "value for that setting to load() in Python, as in NumpyMLP.load(path, lr=0.05), and "
            "save the model again"
        ) from error


def restore_into(
    model: MLPEstimator, checkpoint: Checkpoint, path: str | Path, *, need_batch_order: bool = True
) -> bool:
    """Install ``checkpoint`` into ``model``; raise CheckpointError when the engine cannot take it.

    Returns True when the mini-batch shuffle was restored as well (see ``restore_model``).
    """
    try:
        return restore_model(model, checkpoint, str(path), need_batch_order=need_batch_order)
    except RuntimeError as error:
        # An engine that can only build its state by training (sklearn) raises RuntimeError here.
        raise CheckpointError(
            f"the {model.engine_name} engine cannot load {path}, because it builds its state "
            "only by training; use --engine numpy or torch"
        ) from error


def dataset_metadata(data: Dataset, requested: str, train_sha256: str | None) -> dict[str, Any]:
    """Return the facts about ``data``, loaded for ``--dataset requested``, that a checkpoint records.

    A data set loaded from a path is recorded by its absolute path, so that a later
    ``evaluate`` or ``train --resume`` finds it from any working folder. The result
    is JSON-compatible. ``train_sha256`` is ``training_data_digest(data)``, or None when
    nothing will be saved and hashing (0.13 s for Fashion-MNIST in float32) can be skipped.
    """
    # The same rule as load_dataset: text equal to a data set name is that name.
    names = set(dataset_names())
    if requested.strip().lower().replace("_", "-") in names:
        name = data.name
    else:
        name = str(Path(requested).expanduser().resolve())
    return {
        "name": name,
        "train_sha256": train_sha256,
        "n_train": int(len(data.y_train)),
        "n_classes": data.n_classes,
        "class_names": list(data.class_names) if data.class_names is not None else None,
        "image_shape": list(data.image_shape) if data.image_shape is not None else None,
    }


def training_data_digest(data: Dataset) -> str:
    """Return the SHA-256 hex digest of the training features and labels, with their dtypes and shapes."""
    digest = hashlib.sha256()
    for array in (data.x_train, data.y_train):
        contiguous = np.ascontiguousarray(array)
        digest.update(f"{contiguous.dtype.str}{contiguous.shape}".encode())
        digest.update(memoryview(contiguous).cast("B"))
    return digest.hexdigest()


def check_same_training_data(
    checkpoint: Checkpoint, train_sha256: str, name: str, path: str | Path, n_train: int | None = None
) -> None:
    """Raise DataError unless the training split of data set ``name`` matches ``checkpoint``'s.

    ``train_sha256`` is the split's ``training_data_digest`` and ``n_train`` its row
    count. Files without a recorded digest pass: they predate it.
    """
    stored = recorded(checkpoint, "train_sha256")
    if stored is None or stored == train_sha256:
        return
    trained_on = recorded(checkpoint, "name")
    stored_rows, stored_full = recorded(checkpoint, "n_train"), recorded(checkpoint, "samples_of")
    # compare --samples records the row count of the data set that its subset came from.
    subset = isinstance(stored_rows, int) and isinstance(stored_full, int) and stored_rows < stored_full
    if trained_on == name and subset and stored_full == n_train:
        raise DataError(
            f"{path} was trained on the first {stored_rows:,} of the {n_train:,} training rows of "
            f"{name} (compare --samples), and train has no --samples to continue on those rows; "
            "train a new model without --resume"
        )
    if trained_on == name:
        raise DataError(
            f"the training split of data set {name} has changed since {path} was trained on "
            "it, and --resume continues that run on the same data; restore the original files, "
            "or train a new model without --resume"
        )
    raise DataError(
        f"the training split of data set {name} differs from the one {path} was trained on "
        f"({trained_on}), and --resume continues that run on its own data; resume without "
        f"--dataset, or train a new model on {name} without --resume"
    )


def check_samples(data: Dataset, samples: int) -> None:
    """Raise InvalidArgumentError when --samples requests more training rows than ``data`` has.

    The value is as invalid as a flag out of range, only found once the data is loaded,
    so the command line exits with status 2 for it too.
    """
    n_train = len(data.y_train)
    if samples > n_train:
        raise InvalidArgumentError(
            f"--samples {samples} exceeds the {n_train} training rows of {data.name}; use {n_train} or fewer"
        )


def first_training_rows(data: Dataset, samples: int | None) -> tuple[Dataset, int]:
    """Return ``data`` with only its first ``samples`` training rows, and its full training row count.

    The test split stays whole. None keeps every row. InvalidArgumentError when
    ``samples`` exceeds the training rows (see ``check_samples``).
    """
    n_train = len(data.y_train)
    if samples is None:
        return data, n_train
    check_samples(data, samples)
    subset = dataclasses.replace(data, x_train=data.x_train[:samples], y_train=data.y_train[:samples])
    return subset, n_train


def training_data_warnings(
    data: Dataset, batch_size: int, full_labels: np.ndarray | None = None
) -> list[str]:
    """Return warnings about data that loads but trains badly: classes without samples, or few rows.

    ``full_labels`` are the training labels before --samples kept the first rows of
    them (see ``first_training_rows``). --samples is named as the cause of missing
    classes only when it cut rows and the full training split has every missing class.
    """
    messages = []
    samples = None
    if full_labels is not None and len(full_labels) > len(data.y_train):
        cut_away = np.setdiff1d(np.unique(full_labels), data.y_train)
        missing = np.setdiff1d(np.arange(data.n_classes), data.y_train)
        if np.isin(missing, cut_away).all():
            samples = len(data.y_train)
    untrained = _untrained_classes_message(data, samples)
    if untrained is not None:
        messages.append(untrained)
    n_rows = len(data.y_train)
    if batch_size > n_rows:
        messages.append(
            f"--batch-size {batch_size} is larger than the {n_rows} training rows, so each epoch "
            "is a single step over all of them; pass a smaller --batch-size"
        )
    return messages


def _untrained_class_cause(
    counts: np.ndarray, missing: np.ndarray, y_train: np.ndarray, y_test: np.ndarray
) -> str:
    """Name the likely cause of classes without training samples, and its fix."""
    largest = len(counts) - 1
    if missing.tolist() == [0] and not np.any(y_test == 0):
        return "labels that start at 1: renumber them 0..K-1"
    # Test rows whose labels no training row has: one or two are stray, many are classes.
    in_test = int(np.isin(y_test, missing).sum())
    if largest - 1 in missing:
        if 1 <= counts[largest] <= 2:
            row = int(np.argmax(y_train == largest))
            return f"a stray label {largest} in the training split (row {row}): correct it"
        if counts[largest] == 0 and 1 <= in_test <= 2:
            row = int(np.argmax(y_test == largest))
            return f"a stray label {largest} in the test split (row {row}): correct it"
    if in_test:
        return (
            f"a training split that lacks classes the test split has ({in_test} of its {len(y_test)} "
            "rows carry them): add training samples of every class"
        )
    return "a training split that lacks those classes: add samples of every class"


def _untrained_classes_message(data: Dataset, samples: int | None = None) -> str | None:
    """Describe the classes below ``data.n_classes`` that have no training sample, if any.

    A file-based data set has as many classes as its largest label plus one. A gap
    comes from a stray label (12 among 0..9), labels that start at 1, a training
    split without some classes, or ``samples``, the --samples value when it cut the
    training rows. The model then gets outputs that it cannot learn.
    """
    counts = np.bincount(data.y_train, minlength=data.n_classes)
    missing = np.flatnonzero(counts == 0)
    if not missing.size:
        return None
    listed = format_labels(missing, limit=5)
    if samples is not None:
        cause = f"--samples {samples} keeps only the first {samples} training rows: raise it, or leave it out"
    else:
        cause = f"the usual cause is {_untrained_class_cause(counts, missing, data.y_train, data.y_test)}"
    return (
        f"data set {data.name}: no training sample has {'label' if missing.size == 1 else 'labels'} "
        f"{listed}, although the two splits together have labels up to {data.n_classes - 1}, so the model "
        f"gets {data.n_classes} outputs and cannot learn "
        f"{'that class' if missing.size == 1 else 'those classes'}; {cause}"
    )


def recorded(checkpoint: Checkpoint, key: str) -> Any:
    """Return entry ``key`` of the checkpoint's ``dataset`` record, or None when absent."""
    return (checkpoint.dataset or {}).get(key)


def class_labels(checkpoint: Checkpoint) -> list[str]:
    """Return a display name per output class: the recorded class names, else the indices."""
    n_classes = checkpoint.layer_sizes[-1]
    names = recorded(checkpoint, "class_names")
    if isinstance(names, list) and len(names) == n_classes:
        return [str(name) for name in names]
    return [str(index) for index in range(n_classes)]


def check_data_fits(checkpoint: Checkpoint, data: Dataset, path: str | Path) -> None:
    """Raise DataError unless ``data`` has the checkpoint's feature count and class range."""
    n_features, n_classes = checkpoint.layer_sizes[0], checkpoint.layer_sizes[-1]
    if data.n_features != n_features:
        trained_on = recorded(checkpoint, "name")
        hint = f" (it was trained on {trained_on})" if trained_on else ""
        raise DataError(
            f"data set {data.name} has {data.n_features} features per sample, but the model in "
            f"{path} takes {n_features}{hint}; pass the data set the model was trained on "
            "with --dataset"
        )
    for part, labels in (("training", data.y_train), ("test", data.y_test)):
        if labels.size and labels.max() >= n_classes:
            row = int((labels >= n_classes).argmax())
            raise DataError(
                f"data set {data.name}: {part} label {labels[row]} at row {row} is outside "
                f"0..{n_classes - 1}, the classes of the model in {path}"
            )
