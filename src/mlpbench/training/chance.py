"""The loss of a model that learned nothing, to tell a stalled run from a slow one."""

from __future__ import annotations

import numpy as np
from sklearn.exceptions import ConvergenceWarning


class NoProgressWarning(ConvergenceWarning):
    """Warning that ``fit`` ended with a training loss no better than predicting the class frequencies.

    No better means above that loss or less than ``NO_PROGRESS_MARGIN`` (2%) below it.

    It is a ConvergenceWarning, as scikit-learn's estimators give for training that failed
    to converge. The command line reports such runs itself, with the flag to change, and
    ignores this warning.
    """


def class_frequency_loss(y: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Return the mean cross-entropy of always predicting the class frequencies of ``y``.

    This is the entropy of the label distribution in nats: ``log(n_classes)`` for
    balanced classes, less for unbalanced ones. A network whose ReLUs have all died
    can still learn its output biases, so its loss settles here and no lower.
    With sample ``weights``, frequencies and mean are weighted, as the training loss is.
    """
    counts = np.bincount(np.asarray(y, dtype=np.int64), weights=weights)
    shares = counts[counts > 0] / counts.sum()
    return float(-np.sum(shares * np.log(shares)))


NO_PROGRESS_MARGIN = 0.02
"""Fraction below the class-frequency loss that still counts as no progress."""


def made_no_progress(train_loss: float, y: np.ndarray, weights: np.ndarray | None = None) -> bool:
    """Return True when ``train_loss`` is above or within ``NO_PROGRESS_MARGIN`` of the chance loss.

    The chance loss is ``class_frequency_loss(y, weights)``, that of always predicting the class
    frequencies.

    Labels of a single class give a class-frequency loss of 0, which any run matches,
    so they never count as no progress.
    """
    baseline = class_frequency_loss(y, weights)
    return baseline > 0 and train_loss >= (1 - NO_PROGRESS_MARGIN) * baseline


def stalled_loss_finding(
    train_loss: float, y: np.ndarray, epoch: int | None = None, weights: np.ndarray | None = None
) -> str:
    """Describe a ``train_loss`` that ``made_no_progress``: above the class-frequency loss, or just below.

    The loss is the last epoch's mean of its batch losses. ``epoch``, when given, is
    named after it.
    """
    baseline = class_frequency_loss(y, weights)
    relation = "no lower than" if train_loss >= baseline else f"within {NO_PROGRESS_MARGIN:.0%} of"
    when = "" if epoch is None else f" after epoch {epoch}"
    return (
        f"the last epoch's mean training loss was {train_loss:.3f}{when}, {relation} the "
        f"{baseline:.3f} of always predicting the class frequencies"
    )


def majority_share(y: np.ndarray) -> float:
    """Return the share of the most common label in ``y``: the accuracy of always predicting it."""
    counts = np.bincount(np.asarray(y, dtype=np.int64))
    return float(counts.max() / counts.sum())


def smaller_lr_hint(lr: float, default_lr: float) -> str:
    """Suggest a tenth of ``lr``, or ``default_lr`` where that is lower."""
    if lr / 10 > default_lr:
        return f"for example --lr {default_lr:g}, the default"
    return f"for example --lr {lr / 10:g}"


def learning_warning(
    train_loss: float,
    y_train: np.ndarray,
    test_accuracy: float,
    y_test: np.ndarray,
    lr: float,
    default_lr: float,
) -> str | None:
    """Return a warning when training learned nothing at ``lr``, or None when it learned.

    Two signs count: a final training loss no better than the class-frequency loss
    (``made_no_progress``), and a test accuracy no better than always predicting the
    most common test label. The warning names the direction to move the learning rate.
    Where some labels below the largest have no training sample (a stray label, or a
    subset of the rows), the network has outputs it cannot learn, and the warning adds
    that no learning rate fixes them.
    """
    baseline_accuracy = majority_share(y_test) if len(y_test) else 0.0
    if made_no_progress(train_loss, y_train):
        finding = stalled_loss_finding(train_loss, y_train)
    elif len(y_test) and test_accuracy <= baseline_accuracy:
        finding = (
            f"the test accuracy ended at {test_accuracy:.1%}, no better than the "
            f"{baseline_accuracy:.1%} of always predicting the most common class"
        )
    else:
        return None
    if lr > default_lr:
        fix = f"try a smaller --lr ({smaller_lr_hint(lr, default_lr)})"
    else:
        fix = "try a larger --lr or more --epochs"
    n_classes = int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1
    untrained = int(np.count_nonzero(np.bincount(y_train, minlength=n_classes) == 0))
    if untrained:
        # The cause may be a stray label or a training subset too small to hold every class.
        verb = "has" if untrained == 1 else "have"
        missing = f"{untrained} of the {n_classes} classes {verb} no training sample"
        fix += f". Also, {missing}, and no --lr teaches those"
    return f"{finding}: the network did not learn at --lr {lr:g}; {fix}"
