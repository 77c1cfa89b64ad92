"""``SklearnMLP``: scikit-learn's ``MLPClassifier(solver="sgd")`` behind the mlpbench estimator API.

The settings are mapped so that the network and the update rule match the other
engines as far as scikit-learn allows. What cannot match is listed in
``SklearnMLP.notes()`` and in the compare report:

- Initial parameters: scikit-learn's own Glorot-uniform draw, not the shared
  He-normal one, so parameters are not comparable with ``numpy``/``torch``.
- Batch order: scikit-learn's own shuffling, seeded from ``seed``.
- Schedule: ``learning_rate="constant"`` only. scikit-learn has no cosine
  schedule, so ``schedule="cosine"`` trains at the constant base rate and the
  history records that rate.
- Weight decay: applied to the weights only (scikit-learn's L2 term leaves the
  intercepts alone), while ``torch.optim.SGD`` also decays biases.
- Two classes: scikit-learn uses one logistic output unit instead of a softmax over two.
- Subnormal momentum: scikit-learn keeps momentum values that decay into the floating-point
  subnormal range, which slows its arithmetic. The numpy and torch engines set them
  to 0 (``mlpbench.training.zeroing``).
"""

from __future__ import annotations

import copy
import logging
import time
import warnings
from pathlib import Path
from typing import Any, NoReturn, Self

import numpy as np
import sklearn
from sklearn.neural_network import MLPClassifier

from mlpbench.engines.base import MLPEstimator, Params
from mlpbench.errors import CheckpointError, DataError, TrainingDivergedError
from mlpbench.training.init import layer_sizes

logger = logging.getLogger("mlpbench")

_SCHEDULES_WARNED: set[tuple[str, float]] = set()
"""The (schedule, lr) pairs whose substitution by a constant rate was already logged."""

INTERRUPTED_MESSAGE = "Training interrupted by user"
"""The start of the warning that ``MLPClassifier`` gives instead of raising KeyboardInterrupt."""

NON_FINITE_MESSAGE = "Solver produced non-finite parameter weights"
"""The start of the ValueError that scikit-learn raises when its parameters overflow."""


def sklearn_alpha(weight_decay: float, batch_size: int) -> float:
    """Return the ``MLPClassifier`` ``alpha`` whose gradient term equals ``weight_decay * W``.

    Read in scikit-learn 1.9.1, ``sklearn/neural_network/_multilayer_perceptron.py``,
    ``BaseMultilayerPerceptron._compute_loss_grad``::

        coef_grads[layer] = activations[layer].T @ deltas[layer]
        coef_grads[layer] += self.alpha * self.coefs_[layer]
        coef_grads[layer] /= sw_sum

    ``sw_sum`` is the number of rows in the batch (without sample weights), and
    ``deltas`` are not yet divided by it. So the L2 part of the gradient is
    ``alpha / batch_rows * W``, and ``alpha = weight_decay * batch_size`` makes it
    ``weight_decay * W`` for every full batch.

    The last, partial batch of an epoch (``r`` rows) then gets
    ``weight_decay * batch_size / r * W``: a larger decay on that one step, which no
    single ``alpha`` can avoid. With sample weights, ``sw_sum`` is the batch's weight
    sum, so each step's decay is ``weight_decay * batch_size / sw_sum * W``. ``fit``
    divides the weights by their mean first, so a batch's weights sum to about its
    row count and the decay stays near ``weight_decay * W``, whatever scale the
    weights were given in.
    """
    return float(weight_decay) * int(batch_size)


class SklearnMLP(MLPEstimator):
    """Multilayer perceptron trained by scikit-learn's ``MLPClassifier`` with plain SGD.

    Takes the parameters below. Each epoch is one ``partial_fit``
    call on the whole training set, so each epoch can be timed. In scikit-learn
    1.9.1, ``fit(warm_start=True, max_iter=1)`` would build a new SGD optimizer on
    every call, which zeroes the momentum velocities, and would warn
    ``ConvergenceWarning`` each time. ``partial_fit`` keeps the optimizer, runs
    exactly one shuffled pass and warns nothing.

    The epoch clock covers the ``partial_fit`` call, so it includes scikit-learn's
    per-call input checks and label binarization (finiteness checks are skipped
    with ``assume_finite``, because ``fit`` has already checked the data).
    The recorded training loss is scikit-learn's ``loss_``, which adds the L2
    penalty ``0.5 * weight_decay * sum(||W||^2)`` when weight decay is not 0. With
    sample weights, ``loss_`` averages each batch's weighted loss by the batch's
    row count, where the other engines weight each batch by its weight sum, so
    the no-progress warning is not given then.

    Parameters are not saved to or loaded from files: ``save`` and ``load`` raise
    CheckpointError.
    """

    engine_name = "sklearn"

    classifier_: MLPClassifier | None = None

    @staticmethod
    def notes(schedule: str = "constant", weight_decay: float = 0.0, momentum: float = 0.9) -> list[str]:
        """Return the ways this engine differs from ``numpy`` and ``torch`` with these settings."""
        notes = ["sklearn uses its own initial parameters (Glorot uniform) and its own shuffling."]
        if momentum > 0:
            notes.append(
                "sklearn keeps momentum values that decay into the subnormal range, which numpy "
                "and torch set to 0; arithmetic on them is slow, so its later epochs can take longer."
            )
        if weight_decay > 0:
            notes += [
                "sklearn's weight decay (alpha) does not decay the biases, and it is larger on "
                "the last partial batch of an epoch.",
                "sklearn's training loss includes the L2 penalty 0.5 * weight_decay * sum(||W||^2).",
            ]
        if schedule != "constant":
            notes.append(
                f"sklearn has no {schedule} learning-rate schedule; it trained at the "
                "constant base learning rate."
            )
        return notes

    # ----- estimator API --------------------------------------------------------------

    def initialize(self, n_features: int, n_classes: int) -> Self:
        """Build an untrained ``MLPClassifier``; its parameters are drawn by the first epoch.

        Raises DataError for fewer than 2 classes, which scikit-learn cannot train.
        """
        self._validate_hyperparameters()
        if n_classes < 2:
            raise DataError(
                f"the sklearn engine needs at least 2 classes, got {n_classes}; "
                "check the labels or use the numpy engine"
            )
        self.layer_sizes_ = layer_sizes(n_features, self.hidden, n_classes)
        if self.schedule != "constant" and (self.schedule, self.lr) not in _SCHEDULES_WARNED:
            # Once per process, as Python's warnings are: compare builds the model for every run.
            _SCHEDULES_WARNED.add((self.schedule, self.lr))
            logger.warning(
                "sklearn engine: scikit-learn has no %s schedule; training at the constant learning rate %g",
                self.schedule,
                self.lr,
            )
        self.classifier_ = MLPClassifier(
            hidden_layer_sizes=self.hidden,
            activation="relu",
            solver="sgd",
            alpha=sklearn_alpha(self.weight_decay, self.batch_size),
            batch_size=self.batch_size,
            learning_rate="constant",
            learning_rate_init=self.lr,
            momentum=self.momentum,
            nesterovs_momentum=False,
            shuffle=True,
            # A RandomState instance, not the int: scikit-learn calls
            # check_random_state on every partial_fit, and an int would restart the
            # generator, giving the same permutation every epoch.
            random_state=np.random.RandomState(self.seed),
            early_stopping=False,
        )
        self._fitted_dtype = self.dtype_name
        self.feature_mean_ = None
        self.feature_scale_ = None
        self.epoch_ = 0
        self.history_ = []
        self.batch_losses_ = []
        self.batch_order_ = None
        return self

    def _check_dtype_unchanged(self) -> None:
        """Accept a new dtype: scikit-learn predicts from input of either dtype, in the wider of the two."""

    def save(self, path: str | Path) -> NoReturn:
        """Raise CheckpointError: the sklearn engine does not write parameter files."""
        raise CheckpointError(
            f"cannot save {path}: the sklearn engine does not write parameter files; "
            "use the numpy or torch engine to get a .npz or .pt file"
        )

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> NoReturn:
        """Raise CheckpointError: the sklearn engine does not read parameter files."""
        raise CheckpointError(
            f"cannot load {path} into the sklearn engine; load it with the numpy or torch engine"
        )

    def get_parameters(self) -> Params:
        """Return copies of scikit-learn's ``coefs_`` and ``intercepts_`` in (fan_in, fan_out) layout.

        With two classes the last layer has one output column (scikit-learn's
        logistic output). Raises RuntimeError before the first epoch, because
        scikit-learn draws the parameters then.
        """
        classifier = self._trained_classifier()
        return [
            (W.copy(), b.copy())
            for W, b in zip(classifier.coefs_, classifier.intercepts_, strict=True)
        ]

    # ----- hooks ----------------------------------------------------------------------

    def _set_parameters(self, params: Params) -> None:
        """Overwrite the parameters in place; possible only after the first epoch.

        In place, because scikit-learn's optimizer keeps references to the arrays.
        """
        classifier = self._trained_classifier()
        for index, (W, b) in enumerate(params):
            classifier.coefs_[index][...] = W
            classifier.intercepts_[index][...] = b

    def _get_momentum_buffers(self) -> Params | None:
        # Not needed: parameter files are not written for this engine.
        return None

    def _set_momentum_buffers(self, buffers: Params | None) -> None:
        if buffers is not None:
            raise CheckpointError("the sklearn engine cannot restore momentum buffers")

    def _training_state(self) -> Any:
        # scikit-learn's optimizer keeps its velocities and step count inside the classifier.
        return copy.deepcopy(self.classifier_), self._get_batch_state()

    def _restore_training_state(self, state: Any) -> None:
        self.classifier_, batch_state = state
        self._set_batch_state(batch_state)

    def _to_engine(self, X: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        classifier = self._classifier()
        # A batch larger than the data is one full batch, as in BatchOrder; clipping
        # here also avoids scikit-learn's warning about it.
        rows = min(self.batch_size, X.shape[0])
        # alpha is read on every step, so a changed weight decay applies on warm start.
        classifier.set_params(batch_size=rows, alpha=sklearn_alpha(self.weight_decay, rows))
        # NOTE: lr and momentum are copied into scikit-learn's optimizer on the first
        # epoch; changing them before a warm-start fit has no effect.
        return X, y

    def _train_step(
        self, X: Any, y: Any, batch: np.ndarray, lr: float, row_weights: np.ndarray | None = None
    ) -> NoReturn:
        raise NotImplementedError("the sklearn engine trains whole epochs with partial_fit")

    def _train_epoch(
        self, X: Any, y: Any, lr: float, weights: np.ndarray | None = None
    ) -> tuple[float, list[Any], list[float]]:
        """Run one ``partial_fit`` pass; return its wall time, the epoch's mean loss and the row count.

        ``lr`` is ignored: scikit-learn trains at the constant base learning rate.
        With sample ``weights`` the size returned is their sum.
        """
        classifier = self._classifier()
        with sklearn.config_context(assume_finite=True), warnings.catch_warnings():
            # scikit-learn catches Ctrl-C inside partial_fit, warns and returns as if the
            # epoch had finished. Raising the warning turns it back into an interrupt, so a
            # cut-short epoch is never timed and reported as a whole one.
            warnings.filterwarnings("error", message=INTERRUPTED_MESSAGE, category=UserWarning)
            start = time.perf_counter()
            try:
                classifier.partial_fit(X, y, sample_weight=weights, classes=self.classes_)
            except ZeroDivisionError as error:
                # scikit-learn averages each batch's loss with np.average, which raises this.
                raise DataError(
                    "scikit-learn cannot train a batch whose sample weights are all 0, and its "
                    f"shuffle drew one in epoch {self.epoch_ + 1}; give every row a weight above 0, "
                    "use a larger batch_size, or use the numpy or torch engine"
                ) from error
            except UserWarning as warning:
                if INTERRUPTED_MESSAGE in str(warning):
                    raise KeyboardInterrupt from None
                raise
            except ValueError as error:
                # scikit-learn's own check for parameters that overflowed.
                if NON_FINITE_MESSAGE in str(error):
                    raise TrainingDivergedError(
                        f"training diverged: scikit-learn's parameters became NaN or infinite in "
                        f"epoch {self.epoch_ + 1}, learning rate {self.lr:g}",
                        *self._divergence_fix(),
                    ) from error
                raise
            seconds = time.perf_counter() - start
        return seconds, [classifier.loss_], [X.shape[0] if weights is None else float(weights.sum())]

    def _warn_if_no_progress(self, y: np.ndarray, weights: np.ndarray | None = None) -> None:
        # With sample weights, scikit-learn's loss_ averages the batches' weighted losses
        # by their row counts, not by their weights, so it cannot be held against the
        # weighted class-frequency loss.
        if weights is None:
            super()._warn_if_no_progress(y)

    def _run_epoch(self, X: Any, y: Any, weights: np.ndarray | None = None) -> dict[str, Any]:
        record = super()._run_epoch(X, y, weights)
        # Record the rate scikit-learn used, not the schedule's.
        record["lr"] = self.lr
        return record

    def _predict_proba_chunk(self, X: np.ndarray) -> np.ndarray:
        with sklearn.config_context(assume_finite=True):
            return self._trained_classifier().predict_proba(X)

    def _classifier(self) -> MLPClassifier:
        if self.classifier_ is None:
            raise RuntimeError("the sklearn engine is not initialized; call fit() first")
        return self.classifier_

    def _trained_classifier(self) -> MLPClassifier:
        classifier = self._classifier()
        if not hasattr(classifier, "coefs_"):
            raise RuntimeError(
                "the sklearn engine has no parameters before its first epoch; call fit() first"
            )
        return classifier
