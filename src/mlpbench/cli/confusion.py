"""The confusion matrix of a classifier, per-class precision and recall, and a plot of the matrix."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlpbench.cli.outputs import write_output

PLOT_FORMATS = ("png", "pdf", "svg")


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Count predictions per (true, predicted) class pair.

    Parameters
    ----------
    y_true, y_pred
        Integer labels of shape (n_samples,) in 0..n_classes-1.

    Returns
    -------
    numpy.ndarray
        int64 counts of shape (n_classes, n_classes); row i, column j counts the
        samples of class i predicted as j, as ``sklearn.metrics.confusion_matrix`` does.
    """
    flat = np.asarray(y_true, dtype=np.int64) * n_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_scores(matrix: np.ndarray) -> list[dict[str, Any]]:
    """Return precision, recall and support of each class from a confusion matrix.

    Precision is None for a class that was never predicted, and recall is None for
    a class with no samples, since both are 0/0 there.
    """
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    scores = []
    for index in range(matrix.shape[0]):
        hits = int(matrix[index, index])
        scores.append(
            {
                "precision": hits / int(predicted[index]) if predicted[index] else None,
                "recall": hits / int(actual[index]) if actual[index] else None,
                "support": int(actual[index]),
            }
        )
    return scores


def plot_confusion_matrix(matrix: np.ndarray, labels: Sequence[str], path: str | Path, title: str) -> Path:
    """Draw ``matrix`` as a heat map with counts and write it atomically to ``path``.

    The format comes from the suffix (one of ``PLOT_FORMATS``). Uses matplotlib's
    object API with the Agg canvas, so no pyplot state or display is involved.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n_classes = matrix.shape[0]
    side = max(4.0, 0.55 * n_classes + 2.5)
    figure = Figure(figsize=(side + 1.0, side), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues", interpolation="nearest")
    figure.colorbar(image, ax=axes, label="samples")

    ticks = np.arange(n_classes)
    rotate = max(len(label) for label in labels) > 2
    axes.set_xticks(ticks, labels=labels, rotation=45 if rotate else 0, ha="right" if rotate else "center")
    axes.set_yticks(ticks, labels=labels)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(title)

    # Dark text on light cells and light text on dark cells.
    threshold = matrix.max() / 2 if matrix.size else 0
    if n_classes <= 30:
        for row in range(n_classes):
            for column in range(n_classes):
                count = int(matrix[row, column])
                color = "white" if count > threshold else "black"
                axes.text(column, row, str(count), ha="center", va="center", color=color, fontsize=8)

    file_format = Path(path).suffix.lower().lstrip(".")
    return write_output(path, lambda handle: figure.savefig(handle, format=file_format), "plot")
