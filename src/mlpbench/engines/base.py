"""The estimator API that every engine shares.

An engine subclass supplies the numeric work: one SGD step, class probabilities and
parameter access. This module owns fit, partial_fit, prediction, standardization and
input validation, and ``loop.py`` the loop over epochs and batches with its timing
and divergence checks, so every engine is driven the same way.
"""

from __future__ import annotations

import inspect
import json
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError

from mlpbench.engines.feature_names import check_feature_names, feature_names_of
from mlpbench.engines.feature_scale import FeatureScaleCheck
from mlpbench.engines.inputs import (
    as_feature_array,
    check_inferred_class_count,
    check_label_range,
    class_labels,
    format_labels,
    sample_weights,
    warn_about_label_gaps,
)
from mlpbench.engines.loop import EpochCallback, EpochLoop
from mlpbench.engines.stack import user_stacklevel
from mlpbench.errors import DataError
from mlpbench.threads import limit_threads
from mlpbench.training.batches import BatchOrder
from mlpbench.training.chance import NoProgressWarning, made_no_progress, stalled_loss_finding
from mlpbench.training.hyperparams import check_int, validate_hyperparameters
from mlpbench.training.init import he_normal_init, hidden_sizes, layer_sizes
from mlpbench.training.names import name_hint

Params = list[tuple[np.ndarray, np.ndarray]]

PREDICT_CHUNK_ROWS = 4096


class MLPEstimator(EpochLoop, ClassifierMixin, BaseEstimator, ABC):
    """A ReLU multilayer perceptron classifier trained with mini-batch SGD.

    The public methods follow scikit-learn's estimator conventions, and
    ``get_params``, ``set_params`` and ``clone`` come from ``sklearn.base.BaseEstimator``,
    so the engines work inside ``cross_val_score`` and ``Pipeline``. Parameters are
    exchanged as NumPy arrays in the layout ``X @ W + b``: W of shape
    (fan_in, fan_out) and b of shape (fan_out,), one pair per layer.

    Parameters
    ----------
    hidden : sizes of the hidden layers, or one integer for a single layer; an empty
        sequence gives softmax regression.
    epochs : total number of epochs; ``fit`` trains until ``epoch_`` reaches it.
    batch_size : rows per mini-batch; the last partial batch of an epoch is kept.
    lr : base learning rate.
    momentum, weight_decay : as in ``torch.optim.SGD`` (dampening 0, no Nesterov).
    schedule : ``"constant"`` or ``"cosine"`` (per epoch).
    dtype : ``"float32"`` or ``"float64"``; inputs are cast to it.
    seed : seeds the initial parameters and the batch order.
    standardize : when True, ``fit`` learns each feature's mean and standard
        deviation on the training data (features with zero deviation keep scale 1)
        and every input is standardized with them, in training and prediction.
    threads : BLAS (and PyTorch) threads during fit and predict; None leaves them alone.
    warm_start : when True and already fitted, ``fit`` continues from the current state.

    A model fitted on a pandas DataFrame whose column names are all strings keeps
    them in ``feature_names_in_``, and later calls with other columns, or the same
    columns in another order, raise DataError (see ``feature_names.py``).
    """

    engine_name: str = ""

    # The dtype of the installed parameters, recorded when they are built or loaded.
    # The class default covers models pickled before it was recorded.
    _fitted_dtype: str | None = None

    # The fitted state, set on the instance by initialize() and load(). These class
    # defaults describe an unfitted model, so that __init__ stores only the parameters,
    # as scikit-learn's estimator checks require. The empty tuples are never appended
    # to, because initialize() replaces them with lists first.
    feature_mean_: np.ndarray | None = None
    feature_scale_: np.ndarray | None = None
    _scale_check: FeatureScaleCheck | None = None
    layer_sizes_: list[int] | None = None
    epoch_: int = 0
    history_: Sequence[dict[str, Any]] = ()
    batch_losses_: Sequence[np.ndarray] = ()
    batch_order_: BatchOrder | None = None

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        # Python's own errors for these name the class that defines __init__ (MLPEstimator
        # for NumpyMLP) and give no hint, so they are raised here first. The signature is
        # read now, not from __signature__, in case __init__ was replaced since.
        signature = _init_signature(cls)
        kinds = {parameter.kind for parameter in signature.parameters.values()}
        if kinds & {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}:
            # A subclass that passes *args or **kwargs on is left to Python's own checks.
            return super().__new__(cls)

        valid = list(signature.parameters)
        positional = [
            name
            for name, parameter in signature.parameters.items()
            if parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        ]
        if len(args) > len(positional):
            raise TypeError(
                f"{cls.__name__} takes {len(positional)} argument(s) by position "
                f"({', '.join(positional)}) but {len(args)} were given; pass the others by name, "
                f"such as {cls.__name__}(hidden=[64], epochs=10) (its parameters: {', '.join(valid)})"
            )

        for name in kwargs:
            if name not in valid:
                raise TypeError(
                    f"{cls.__name__} got an unexpected keyword argument {name!r}"
                    f"{name_hint(name, valid)} (its parameters: {', '.join(valid)})"
                )

        for name in positional[: len(args)]:
            if name in kwargs:
                raise TypeError(
                    f"{cls.__name__} got {name!r} twice, by position and by name; give it once"
                )

        return super().__new__(cls)

    def set_params(self, **params: Any) -> Self:
        """Set parameters as scikit-learn's ``set_params`` does, with a hint for an unknown name."""
        valid = list(self.get_params(deep=False))
        for name in params:
            if name not in valid:
                # The start of scikit-learn's own message, which its tools may look for.
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {type(self).__name__}. Valid "
                    f"parameters are: {sorted(valid)!r}{name_hint(name, valid)}"
                )
        return super().set_params(**params)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Without it, help() and inspect.signature() would show __new__'s (*args, **kwargs).
        cls.__signature__ = _init_signature(cls)
        # help(NumpyMLP) shows the class's own docstring only, so each engine's gets the parameters.
        if cls.__doc__ and "Parameters\n" not in cls.__doc__:
            cls.__doc__ = cls.__doc__.rstrip() + "\n\n" + _parameters_section()

    def __init__(
        self,
        hidden: int | Sequence[int] = (128,),
        *,
        epochs: int = 10,
        batch_size: int = 64,
        lr: float = 0.05,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        schedule: str = "constant",
        dtype: str = "float32",
        seed: int = 0,
        threads: int | None = None,
        warm_start: bool = False,
        standardize: bool = False,
    ) -> None:
        # Stored as given: scikit-learn's clone() checks that parameters are not altered.
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.dtype = dtype
        self.seed = seed
        self.threads = threads
        self.warm_start = warm_start
        self.standardize = standardize

    # ----- hooks each engine implements -------------------------------------------------

    @abstractmethod
    def _set_parameters(self, params: Params) -> None:
        """Install parameters given in (fan_in, fan_out) layout, in ``self.dtype``.

        Engines also build here what training needs next to the parameters: the
        optimizer, the loss function and any preallocated buffers.
        """

    @abstractmethod
    def get_parameters(self) -> Params:
        """Return copies of the parameters as NumPy arrays in (fan_in, fan_out) layout."""

    @abstractmethod
    def _get_momentum_buffers(self) -> Params | None:
        """Return the SGD momentum buffers in parameter layout, or None before the first step."""

    @abstractmethod
    def _set_momentum_buffers(self, buffers: Params | None) -> None:
        """Install momentum buffers in parameter layout (None clears them)."""

    @abstractmethod
    def _to_engine(self, X: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        """Convert validated training arrays to the engine's own representation."""

    @abstractmethod
    def _train_step(
        self, X: Any, y: Any, batch: np.ndarray, lr: float, row_weights: np.ndarray | None = None
    ) -> Any:
        """Run one SGD step on rows ``batch`` and return the batch's mean loss (before the step).

        ``row_weights``, when given, contains one weight per row of the batch, summing to 1
        (see ``loop.batch_row_weights``): the loss is then the weighted sum of the rows' losses.
        """

    @abstractmethod
    def _predict_proba_chunk(self, X: np.ndarray) -> np.ndarray:
        """Return softmax probabilities for a validated chunk of rows."""

    def _predict_log_proba_chunk(self, X: np.ndarray) -> np.ndarray:
        """Return log-probabilities for a validated chunk of rows.

        Engines that have the logits override it to stay finite where a probability underflows.
        """
        with np.errstate(divide="ignore"):
            return np.log(self._predict_proba_chunk(X))

    def _get_batch_state(self) -> str | None:
        """Return the state of the mini-batch shuffle as a JSON string, or None before the first fit."""
        return self.batch_order_.get_state() if self.batch_order_ is not None else None

    def _set_batch_state(self, state: str | None) -> bool:
        """Continue the shuffle saved by ``_get_batch_state``, and return whether it could.

        False means ``state`` is missing or comes from an engine that shuffles another
        way. No order is left then, so the next ``fit`` starts a fresh one from ``seed``.
        """
        self.batch_order_ = None
        if state is None or "rng" not in json.loads(state):
            return False
        self.batch_order_ = BatchOrder.from_state(state)
        return True

    # ----- public API ---------------------------------------------------------------------

    @property
    def dtype_name(self) -> str:
        """The ``dtype`` parameter as a name such as ``"float32"``, also when given as a NumPy type."""
        return np.dtype(self.dtype).name

    @property
    def is_fitted(self) -> bool:
        return self.layer_sizes_ is not None

    def __sklearn_is_fitted__(self) -> bool:
        return self.is_fitted

    @property
    def classes_(self) -> np.ndarray:
        """Class labels 0..n_classes-1, as scikit-learn classifiers expose them."""
        return np.arange(self.n_classes_)

    @property
    def n_classes_(self) -> int:
        self._check_fitted()
        return self.layer_sizes_[-1]  # type: ignore[index]

    @property
    def n_features_in_(self) -> int:
        self._check_fitted()
        return self.layer_sizes_[0]  # type: ignore[index]

    def initialize(self, n_features: int, n_classes: int) -> Self:
        """Build fresh He-normal parameters and a fresh batch order from ``seed``."""
        self._validate_hyperparameters()
        self.layer_sizes_ = layer_sizes(n_features, self.hidden, n_classes)
        self._set_parameters(he_normal_init(self.layer_sizes_, self.seed, self.dtype))
        self._fitted_dtype = self.dtype_name
        self._set_momentum_buffers(None)
        self.batch_order_ = None
        self.feature_mean_ = None
        self.feature_scale_ = None
        self._set_feature_names(None)
        self.epoch_ = 0
        self.history_ = []
        self.batch_losses_ = []
        return self

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        *,
        n_classes: int | None = None,
        n_epochs: int | None = None,
        callback: EpochCallback | None = None,
    ) -> Self:
        """Train on (X, y) until ``epoch_`` reaches ``epochs``.

        X has shape (n_samples, n_features); y contains integer labels in
        0..n_classes-1. ``sample_weight`` (one number >= 0 per row, or None for
        equal weights) makes each batch's loss and gradient a weighted mean over its
        rows, as in scikit-learn's ``MLPClassifier``. ``n_classes`` defaults to
        ``max(y) + 1`` on a fresh fit.
        ``n_epochs`` caps the epochs run by this call (useful to stop early and
        resume later). ``callback`` receives each epoch's history record after the
        epoch's clock has stopped, so its own time is not counted.

        Raises TrainingDivergedError when a batch loss is not finite or far above chance
        (``loop.DIVERGED_LOSS_PER_LOG_CLASS``), or the parameters stop being finite; the
        epoch where that happened is undone, so the model is as after the epoch before.
        """
        self._validate_hyperparameters()
        if n_epochs is not None:
            check_int("n_epochs", n_epochs, minimum=0)
        if n_classes is not None:
            check_int("n_classes", n_classes, minimum=1)
        fresh = not (self.warm_start and self.is_fitted)
        X, y, weights = self._prepare_fit(X, y, n_classes, warm=not fresh, sample_weight=sample_weight)

        stop = self.epochs if n_epochs is None else min(self.epochs, self.epoch_ + n_epochs)
        if stop <= self.epoch_ and n_epochs != 0:
            warnings.warn(
                f"fit() trained nothing: this warm-started model has already run {self.epoch_} "
                f"epochs, and its epochs={self.epochs} is the total of the run, not a count per call; "
                "raise epochs with set_params(epochs=...) to train further",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        first_epoch = self.epoch_
        with self._untrained_network_removed(fresh):
            self._train_until(X, y, stop, callback, weights)
        # Like scikit-learn's ConvergenceWarning, the warning comes when the planned run has
        # ended, not after a part of it run with n_epochs.
        if first_epoch < self.epoch_ >= self.epochs:
            self._warn_if_no_progress(y, weights)
        return self

    def partial_fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        classes: np.ndarray | None = None,
    ) -> Self:
        """Train one epoch on (X, y), continuing the fitted network, as scikit-learn's does.

        The first call builds the network and needs ``classes``: every label that any
        call will bring, the integers 0..K-1 (such as ``np.arange(10)``). Later calls
        continue the network whatever ``warm_start`` and ``epochs`` are, and may pass
        ``classes`` again only unchanged. Each call is one shuffled pass over (X, y) in
        batches of ``batch_size``, at the constant rate ``lr``: the cosine schedule
        spans the epochs of ``fit`` and is rejected here. With ``standardize=True`` the
        first call's rows set the feature means and scales for good, so it should be a
        fair sample of the data. ``sample_weight`` weights the rows as in ``fit``.
        """
        self._validate_hyperparameters()
        if self.schedule != "constant":
            raise ValueError(
                f"partial_fit needs schedule='constant', got {self.schedule!r}: the cosine schedule "
                "spans the epochs of fit, and partial_fit has no end to decay towards"
            )
        n_classes = None
        if not self.is_fitted:
            if classes is None:
                # partial_fit(X, y, np.arange(10)) puts the classes in sample_weight's place.
                third = (
                    "; the third argument is sample_weight, so pass classes by name"
                    if sample_weight is not None
                    else ""
                )
                raise ValueError(
                    "classes must be given on the first call to partial_fit: every label that "
                    f"any call will bring, such as classes=np.arange(10){third}"
                )
            n_classes = _class_count(classes)
        elif classes is not None and _class_count(classes) != self.n_classes_:
            raise ValueError(
                f"classes has {len(np.asarray(classes))} labels, but the fitted network has "
                f"{self.n_classes_} classes; pass the same classes, or clone the estimator to "
                "train a new network"
            )
        # The checks in _prepare_fit come before any change, and _train_until undoes a
        # failed epoch, so only a network built by this call is left to remove.
        fresh = not self.is_fitted
        with self._untrained_network_removed(fresh):
            X, y, weights = self._prepare_fit(
                X, y, n_classes, warm=not fresh, caller="partial_fit", sample_weight=sample_weight
            )
            self._train_until(X, y, self.epoch_ + 1, None, weights)
        return self

    def _prepare_fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        n_classes: int | None,
        *,
        warm: bool,
        caller: str = "fit",
        sample_weight: object = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Check (X, y) and build the network unless ``warm``; return X standardized, the labels
        and the sample weights as float64 (None when not given).

        Every input is checked before the model changes, so a failed call keeps a fitted model.
        For ``caller`` "partial_fit", rows of another count continue the shuffle sequence
        (its chunks) instead of starting it again from ``seed``, and messages name its fixes.
        """
        names = feature_names_of(X)
        if warm:
            self._check_feature_names(names)
        X = self._validate_X(X, check_features=warm)
        labels = class_labels(y, X.shape[0])
        weights = None
        if sample_weight is not None:
            # partial_fit(X, y, np.arange(K)), meant the old way, reads the classes as weights.
            fix = None
            if caller == "partial_fit" and _looks_like_classes(sample_weight):
                fix = "it looks like the classes, which come fourth, so pass them as classes=..."
            weights = sample_weights(sample_weight, X.shape[0], shape_fix=fix)
            # Divided by their mean, a batch's weights sum to about its row count, so the
            # sklearn engine's weight decay stays near weight_decay (see sklearn_alpha).
            # The other engines depend only on the ratios.
            weights = weights / weights.max()
            weights /= weights.mean()
        given_classes = n_classes
        if warm:
            self._check_warm_start_settings(caller)
            # Fewer classes than the network has are fine: each label must only have an output.
            if n_classes is not None and n_classes > self.n_classes_:
                raise ValueError(
                    f"n_classes={n_classes} exceeds the fitted network's {self.n_classes_} "
                    "classes, which a warm start keeps; set warm_start=False to train a new network"
                )
            n_classes = self.n_classes_
        elif n_classes is None:
            n_classes = max(int(np.max(labels, initial=-1)) + 1, 1)
            check_inferred_class_count(labels, n_classes)
            warn_about_label_gaps(labels, n_classes)
        check_label_range(labels, int(n_classes), _label_range_fix(labels, caller, warm, given_classes))

        if not warm or self._scale_check is None:
            self._scale_check = FeatureScaleCheck()
        if not self.standardize:
            self._scale_check.add(X, weights)
        if not warm:
            self.initialize(X.shape[1], int(n_classes))
            # Set here as well as in initialize, which engines may override.
            self._set_feature_names(names)
            if self.standardize:
                self._fit_standardization(X, weights)
        X = self._standardize(X)
        if self.batch_order_ is not None and caller == "partial_fit":
            self.batch_order_ = self.batch_order_.resized(X.shape[0], self.batch_size)
        elif self.batch_order_ is None or self.batch_order_.n_samples != X.shape[0]:
            self.batch_order_ = BatchOrder(X.shape[0], self.batch_size, self.seed)
        elif self.batch_order_.requested_batch_size != self.batch_size:
            # A warm start with another batch size keeps the shuffle sequence going.
            self.batch_order_ = self.batch_order_.with_batch_size(self.batch_size)
        return X, labels, weights

    def _warn_if_no_progress(self, y: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Warn when the last epoch's training loss is no better than the class-frequency loss."""
        train_loss = self.history_[-1]["train_loss"]
        if not made_no_progress(train_loss, y, weights):
            return
        # Read from MLPEstimator: a subclass may take **kwargs and name no lr of its own.
        default_lr = inspect.signature(MLPEstimator.__init__).parameters["lr"].default
        if self.lr > default_lr:
            fix = "a smaller lr"
        elif self.standardize:
            fix = "a larger lr or more epochs"
        else:
            fix = "a larger lr, more epochs, or standardize=True"
        warnings.warn(
            f"{stalled_loss_finding(train_loss, y, self.epoch_, weights)}, so the network "
            f"did not learn at lr={self.lr:g}; try {fix}",
            NoProgressWarning,
            stacklevel=user_stacklevel(),
        )

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Return class probabilities of shape (n_samples, n_classes), computed in chunks."""
        return self._in_chunks(self._checked_X(X), self._predict_proba_chunk)

    def predict_log_proba(self, X: np.ndarray) -> np.ndarray:
        """Return the logarithm of ``predict_proba``, computed from the logits.

        The numpy and torch engines stay finite where a probability underflows to 0;
        the sklearn engine takes the logarithm of its probabilities, as scikit-learn
        does, so such a probability gives -inf there.
        """
        return self._in_chunks(self._checked_X(X), self._predict_log_proba_chunk)

    def _checked_X(self, X: np.ndarray) -> np.ndarray:
        """Check that the model can predict for X and return X validated."""
        self._check_fitted()
        self._check_dtype_unchanged()
        self._check_feature_names(feature_names_of(X))
        return self._validate_X(X, check_features=True)

    def _in_chunks(self, X: np.ndarray, predict_chunk: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Apply ``predict_chunk`` to standardized chunks of the validated X, one row per input row."""
        out = np.empty((X.shape[0], self.n_classes_), dtype=self.dtype)
        with limit_threads(self.threads):
            for start in range(0, X.shape[0], PREDICT_CHUNK_ROWS):
                stop = start + PREDICT_CHUNK_ROWS
                out[start:stop] = predict_chunk(self._standardize(X[start:stop]))
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Return the most probable class of each row as int64."""
        return np.argmax(self.predict_proba(X), axis=1).astype(np.int64)

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Return the mean cross-entropy loss and the accuracy on (X, y)."""
        return self._evaluate(X, y)

    def score(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        """Return the accuracy on (X, y), as scikit-learn classifiers do, weighted by ``sample_weight``.

        A label the model has no output for counts as a wrong prediction, as
        ``sklearn.metrics.accuracy_score`` counts it, and a warning names it. A
        cross-validation fold may hold such labels when its training part had none.
        ``evaluate`` raises instead, because the loss is undefined for them.
        """
        predictions = self.predict(X)
        labels = class_labels(y, predictions.shape[0])
        unknown = np.unique(labels[(labels < 0) | (labels >= self.n_classes_)])
        if unknown.size:
            noun, pronoun = ("label", "it") if unknown.size == 1 else ("labels", "them")
            classes = "1 class" if self.n_classes_ == 1 else f"{self.n_classes_} classes"
            warnings.warn(
                f"y contains {noun} {format_labels(unknown)}, which the model has no output for "
                f"because it has {classes} (0..{self.n_classes_ - 1}), so the rows with {pronoun} "
                "count as wrong predictions",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        weights = None if sample_weight is None else sample_weights(sample_weight, len(labels))
        return float(np.average(predictions == labels, weights=weights))

    def _evaluate(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> dict[str, float]:
        X = self._checked_X(X)
        probs = self._in_chunks(X, self._predict_proba_chunk)
        y = self._validate_y(y, probs.shape[0])
        weights = None if sample_weight is None else sample_weights(sample_weight, len(y))
        picked = probs[np.arange(len(y)), y].astype(np.float64)
        tiny = np.finfo(probs.dtype).tiny
        with np.errstate(divide="ignore"):
            log_picked = np.log(picked)
        # A probability below tiny has lost its precision or underflowed to 0, which would
        # cap a confident mistake's loss (at 87 in float32). So those rows are computed again
        # from the logits.
        rows = np.flatnonzero(picked < tiny)
        if rows.size:
            log_probs = self._in_chunks(X[rows], self._predict_log_proba_chunk)
            log_picked[rows] = log_probs[np.arange(rows.size), y[rows]]
        # Where the engine has only probabilities (sklearn), one that underflowed to 0 is
        # clipped to tiny, so that one confident mistake does not make the mean infinite.
        log_picked[np.isneginf(log_picked)] = np.log(tiny)
        loss = float(-np.average(log_picked, weights=weights))
        accuracy = float(np.average(np.argmax(probs, axis=1) == y, weights=weights))
        return {"loss": loss, "accuracy": accuracy}

    def save(self, path: str | Path) -> Path:
        """Write parameters and training state; ``.npz`` or ``.pt`` by the file suffix."""
        from mlpbench.checkpoint import save_checkpoint

        return save_checkpoint(self, path)

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> Self:
        """Build an estimator of this engine from a ``.npz`` or ``.pt`` file of either engine."""
        from mlpbench.checkpoint import load_into

        return load_into(cls, path, **overrides)

    def get_config(self) -> dict[str, Any]:
        """Return the settings that a saved model records, as plain Python values.

        These are the constructor arguments except ``threads``, ``warm_start`` and the
        torch engine's ``device``, which belong to the process that runs the model, not to
        the model. ``get_params()`` returns all of them.
        """
        return {
            "hidden": hidden_sizes(self.hidden),
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
            "schedule": self.schedule,
            "dtype": self.dtype_name,
            "seed": self.seed,
            "standardize": self.standardize,
        }

    # ----- preprocessing ------------------------------------------------------------------

    def _fit_standardization(self, X: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Learn each feature's mean and standard deviation, weighted by the sample weights if any.

        Weighted, a row of weight 2 counts as two rows, as in StandardScaler's ``sample_weight``.
        """
        if weights is None:
            mean = X.mean(axis=0, dtype=np.float64)
            scale = X.std(axis=0, dtype=np.float64)
            counted = X
        else:
            mean = np.average(X, axis=0, weights=weights)
            scale = np.sqrt(np.average((X - mean) ** 2, axis=0, weights=weights))
            counted = X[weights > 0]
        # A constant feature keeps scale 1. Its deviation need not come out as exactly 0:
        # a column of 0.1 gives about 7e-17, which would blow later inputs up by 1e16.
        scale[(counted.min(axis=0) == counted.max(axis=0)) | (scale == 0)] = 1.0
        self.feature_mean_ = mean.astype(self.dtype)
        self.feature_scale_ = scale.astype(self.dtype)

    def _standardize(self, X: np.ndarray) -> np.ndarray:
        """Return X standardized with the fitted statistics, or X itself when there are none."""
        if self.feature_mean_ is None or self.feature_scale_ is None:
            return X
        return (X - self.feature_mean_) / self.feature_scale_

    # ----- validation ---------------------------------------------------------------------

    def _validate_hyperparameters(self) -> None:
        validate_hyperparameters(
            hidden=self.hidden,
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            schedule=self.schedule,
            dtype=self.dtype,
            seed=self.seed,
        )
        # Checked here, before fit changes the model; limit_threads would find a bad value
        # only once training starts.
        if self.threads is not None:
            check_int("threads", self.threads, minimum=1)
        for name in ("warm_start", "standardize"):
            value = getattr(self, name)
            if not isinstance(value, bool | np.bool_):
                raise ValueError(f"{name} must be True or False, got {value!r}")

    def _check_dtype_unchanged(self) -> None:
        """Raise ValueError when ``dtype`` was set to another type than the fitted parameters'."""
        if self._fitted_dtype is not None and self.dtype_name != self._fitted_dtype:
            raise ValueError(
                f"dtype={self.dtype_name!r} was set after fitting, but the parameters are "
                f"{self._fitted_dtype}; set dtype back, or save() and load(path, dtype=...) to convert"
            )

    def _check_warm_start_settings(self, caller: str = "fit") -> None:
        """Raise ValueError when a setting that shapes the fitted network changed since it was fitted.

        A warm start continues the fitted parameters, so a new ``hidden``, ``dtype`` or
        ``standardize`` could not take effect, and continuing would contradict ``get_params()``.
        """
        expected = layer_sizes(self.n_features_in_, self.hidden, self.n_classes_)
        fitted_dtype = self._fitted_dtype or self.dtype_name
        fitted_standardize = self.feature_mean_ is not None
        changes = []
        if expected != self.layer_sizes_:
            changes.append(
                f"hidden={hidden_sizes(self.hidden)} (the fitted layer sizes, input to output, "
                f"are {self.layer_sizes_})"
            )
        dtype_changed = self.dtype_name != fitted_dtype
        if dtype_changed:
            changes.append(f"dtype={self.dtype_name!r} (the parameters are {fitted_dtype})")
        if self.standardize != fitted_standardize:
            changes.append(f"standardize={self.standardize} (fitted with standardize={fitted_standardize})")
        if changes:
            if caller == "partial_fit":
                continuing, restart = "partial_fit", "clone the estimator to train a new network"
            else:
                continuing, restart = "warm_start=True", "set warm_start=False to train a new network"
            message = (
                f"{continuing} continues the fitted network, which cannot take the new "
                f"{' and '.join(changes)}; set those back, or {restart}"
            )
            # An engine that overrides save() cannot write files, so it cannot convert either.
            if dtype_changed and type(self).save is MLPEstimator.save:
                message += ". To keep training in the new dtype, save() and load(path, dtype=...) convert it"
            raise ValueError(message)

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            # NotFittedError is both a ValueError and an AttributeError, so hasattr() on
            # classes_ and scikit-learn's own checks see an unfitted model as they expect.
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit() or load() first")

    def _set_feature_names(self, names: np.ndarray | None) -> None:
        """Store ``names`` as ``feature_names_in_``, or remove it when None, as scikit-learn does."""
        if names is None:
            self.__dict__.pop("feature_names_in_", None)
        else:
            self.feature_names_in_ = names

    def _check_feature_names(self, names: np.ndarray | None) -> None:
        check_feature_names(getattr(self, "feature_names_in_", None), names, type(self).__name__)

    def _validate_X(self, X: np.ndarray, *, check_features: bool) -> np.ndarray:
        expected = self.n_features_in_ if check_features else None
        return as_feature_array(X, self.dtype, expected=expected, owner=type(self).__name__)

    def _validate_y(self, y: np.ndarray, n_rows: int) -> np.ndarray:
        labels = class_labels(y, n_rows)
        check_label_range(labels, self.n_classes_)
        return labels


def _label_range_fix(labels: np.ndarray, caller: str, warm: bool, given_classes: int | None) -> str | None:
    """Return the advice for a label beyond the classes that fit or partial_fit set, or None for the default.

    ``given_classes`` is the n_classes the caller passed, before a warm start replaced it.
    """
    if caller == "partial_fit":
        return "give every label in classes on the first call"
    if warm:
        return "a warm start keeps the fitted network's classes; set warm_start=False to train a new network"
    if given_classes is not None:
        needed = int(np.max(labels)) + 1
        return f"fit got n_classes={given_classes}; pass n_classes={needed} or more, or leave it out"
    return None


def _init_signature(cls: type) -> inspect.Signature:
    """Return the signature of ``cls(...)``: that of its ``__init__`` without ``self``."""
    signature = inspect.signature(cls.__init__)
    parameters = list(signature.parameters.values())[1:]
    return signature.replace(parameters=parameters, return_annotation=inspect.Signature.empty)


MLPEstimator.__signature__ = _init_signature(MLPEstimator)  # type: ignore[attr-defined]


def default_settings() -> dict[str, Any]:
    """Return every ``MLPEstimator`` keyword argument with its default value."""
    return {name: parameter.default for name, parameter in _init_signature(MLPEstimator).parameters.items()}


def _looks_like_classes(sample_weight: object) -> bool:
    """Tell whether ``sample_weight`` is the list 0..K-1, as classes would be."""
    try:
        values = np.asarray(sample_weight)
    except ValueError:
        return False
    return values.ndim == 1 and np.array_equal(values, np.arange(len(values)))


def _parameters_section() -> str:
    """Return the "Parameters" section of ``MLPEstimator``'s docstring, as it is indented there."""
    doc = MLPEstimator.__doc__ or ""
    start = doc.index("    Parameters\n")
    return doc[start : doc.index("\n\n", start)] + "\n"


def _class_count(classes: np.ndarray) -> int:
    """Return K for ``classes`` that are the labels 0..K-1 (or False and True), else raise ValueError."""
    if np.ndim(classes) != 1:
        raise ValueError(
            f"classes must be a 1-D array of every label, got {classes!r}; for K classes pass "
            "classes=np.arange(K)"
        )
    problem = (
        f"classes must be the integers 0..K-1, each once, got {np.asarray(classes).tolist()}; "
        "encode other labels with sklearn.preprocessing.LabelEncoder"
    )
    try:
        # Its messages would name y, not classes.
        labels = class_labels(classes, len(np.asarray(classes)))
    except DataError as error:
        raise ValueError(problem) from error
    count = len(labels)
    if count == 0 or not np.array_equal(np.sort(labels), np.arange(count)):
        raise ValueError(problem)
    return count
