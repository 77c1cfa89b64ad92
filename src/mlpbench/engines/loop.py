"""The loop over epochs and batches that every engine shares, with its clock and failure handling.

``EpochLoop`` runs the epochs of ``fit`` and ``partial_fit``: it draws each epoch's
batches, times the shuffle and the steps, checks the losses and parameters for divergence, and
undoes an epoch that diverges or fails. The numeric work of a step comes from the
engine (``MLPEstimator`` and its subclasses).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from mlpbench.errors import TrainingDivergedError
from mlpbench.threads import limit_threads
from mlpbench.training.schedule import learning_rate

EpochCallback = Callable[[dict[str, Any]], None]

DIVERGED_LOSS_PER_LOG_CLASS = 1000.0

STANDARDIZED_DIVERGENCE_FIX = (
    "try a smaller learning rate (lr in Python, --lr on the command line); the inputs are "
    "standardized already"
)


class EpochLoop:
    """The epoch loop of ``MLPEstimator``, kept in its own class so the clock and the undo are in one place.

    It relies on what ``MLPEstimator`` provides: the settings (``lr``, ``schedule``,
    ``epochs``, ``threads``, ``standardize``, ``dtype``), the fitted state
    (``epoch_``, ``history_``, ``batch_losses_``, ``batch_order_``, ``n_classes_``,
    ``layer_sizes_``) and the engine's methods (``_to_engine``, ``_train_step``,
    parameter and momentum access).
    """

    def _losses_to_numpy(self, losses: list[Any]) -> np.ndarray:
        return np.asarray(losses, dtype=np.float64)

    def _synchronize(self) -> None:
        """Wait for queued device work before a clock is read (a no-op on the CPU)."""

    @contextlib.contextmanager
    def _untrained_network_removed(self, fresh: bool) -> Iterator[None]:
        """Remove the network that the block built (``fresh``) when the block fails before any epoch finished.

        Such a network has learned nothing to keep, so the model is left unfitted.
        """
        try:
            yield
        except (Exception, KeyboardInterrupt):
            if fresh and self.epoch_ == 0:
                self.layer_sizes_ = None
            raise

    @contextlib.contextmanager
    def _epoch_undone_on_failure(self) -> Iterator[None]:
        """Put the model back as it was when the epoch in the block diverges, is interrupted or fails.

        The parameters, momentum, batch order, epoch count and history come back, so
        the model matches ``epoch_`` and ``history_`` and a smaller ``lr`` can continue
        from it. Errors other than divergence, such as the sklearn engine's DataError
        for a batch of zero weights, are undone as well. The exception is raised again.
        """
        state = self._training_state()
        # A divergence comes before _run_epoch counts the epoch, but Ctrl-C may land after.
        epoch, n_records, n_losses = self.epoch_, len(self.history_), len(self.batch_losses_)
        try:
            yield
        except (Exception, KeyboardInterrupt) as error:
            try:
                self._restore_training_state(state)
            except Exception as restore_error:
                # The user should see the error that stopped training, not this one.
                error.add_note(f"the model could not be put back as before the epoch: {restore_error!r}")
            self.epoch_ = epoch
            del self.history_[n_records:]
            del self.batch_losses_[n_losses:]
            raise

    def _divergence_fix(self) -> tuple[str, ...]:
        """Return the fix for TrainingDivergedError: empty for its default advice."""
        # With the inputs standardized already, only the learning rate is left to change.
        return (STANDARDIZED_DIVERGENCE_FIX,) if self.standardize else ()

    def _training_state(self) -> Any:
        """Return a copy of what training changes: parameters, momentum and batch order."""
        return self.get_parameters(), self._get_momentum_buffers(), self._get_batch_state()

    def _restore_training_state(self, state: Any) -> None:
        """Put back a state from ``_training_state``."""
        params, buffers, batch_state = state
        self._set_parameters(params)
        self._set_momentum_buffers(buffers)
        self._set_batch_state(batch_state)

    def _train_until(
        self,
        X: np.ndarray,
        y: np.ndarray,
        stop: int,
        callback: EpochCallback | None,
        weights: np.ndarray | None = None,
    ) -> None:
        """Run epochs until ``epoch_`` reaches ``stop``, calling ``callback`` after each.

        An epoch that diverges, is interrupted or raises an error is undone: the model
        goes back to where that epoch started, so it matches ``epoch_`` and ``history_``,
        and a smaller ``lr`` can continue from it.
        """
        # The weights are passed on only when given, so engines and wrappers that take
        # no weights keep working unweighted.
        weighted = () if weights is None else (weights,)
        with limit_threads(self.threads):
            X_engine, y_engine = self._to_engine(X, y)
            while self.epoch_ < stop:
                # The state is copied outside the epoch's clock, a small cost next to an epoch.
                with self._epoch_undone_on_failure():
                    record = self._run_epoch(X_engine, y_engine, *weighted)
                if callback is not None:
                    callback(record)

    def _run_epoch(self, X: Any, y: Any, weights: np.ndarray | None = None) -> dict[str, Any]:
        lr = learning_rate(self.lr, self.schedule, self.epoch_, self.epochs)
        weighted = () if weights is None else (weights,)
        # A diverging run overflows on its way to the non-finite loss reported below as
        # TrainingDivergedError, so NumPy's overflow warnings would only come first,
        # pointing into the engine. The user's epoch callback runs outside this block.
        with np.errstate(over="ignore", invalid="ignore"):
            seconds, losses, sizes = self._train_epoch(X, y, lr, *weighted)

        batch_losses = self._losses_to_numpy(losses)
        # A mean cross-entropy above DIVERGED_LOSS_PER_LOG_CLASS * log(K) means the true
        # class gets a geometric-mean probability below K ** -1000: no longer learning.
        limit = DIVERGED_LOSS_PER_LOG_CLASS * np.log(max(self.n_classes_, 2))
        bad = np.flatnonzero(~np.isfinite(batch_losses) | (batch_losses > limit))
        fix = self._divergence_fix()
        if bad.size:
            raise TrainingDivergedError(
                f"training diverged: loss is {batch_losses[bad[0]]:.6g} at epoch {self.epoch_ + 1}, "
                f"batch {bad[0] + 1} of {len(batch_losses)}, learning rate {lr:g}",
                *fix,
            )
        # Each loss is measured before its step, so an update that overflows on the
        # epoch's last batch shows only in the parameters.
        if not all(np.isfinite(W).all() and np.isfinite(b).all() for W, b in self.get_parameters()):
            raise TrainingDivergedError(
                f"training diverged: parameters became NaN or infinite in the last step of epoch "
                f"{self.epoch_ + 1} (batch {len(batch_losses)}), learning rate {lr:g}",
                *fix,
            )
        batch_sizes = np.asarray(sizes, dtype=np.float64)
        self.epoch_ += 1
        self.batch_losses_.append(batch_losses)
        record = {
            "epoch": self.epoch_,
            "lr": lr,
            "train_loss": float(np.dot(batch_losses, batch_sizes) / batch_sizes.sum()),
            "time_s": seconds,
        }
        self.history_.append(record)
        return record

    def _train_epoch(
        self, X: Any, y: Any, lr: float, weights: np.ndarray | None = None
    ) -> tuple[float, list[Any], list[float]]:
        """Run one epoch of steps; return its wall time in seconds, the batch losses and sizes.

        A batch's size is its row count, or the sum of its sample weights when
        ``weights`` are given, so that the epoch's loss is their weighted mean.
        The clock covers the whole epoch: drawing its permutation, the batches' share of
        the sample weights when given, and the steps. The DataLoader and scikit-learn
        engines' clocks cover their own shuffles too. Engines with their own batching
        (a DataLoader) override this method.
        """
        assert self.batch_order_ is not None
        self._synchronize()
        start = time.perf_counter()
        batches = list(self.batch_order_.epoch())
        if weights is None:
            sizes = [float(len(batch)) for batch in batches]
            losses = [self._train_step(X, y, batch, lr) for batch in batches]
        else:
            batch_weights = [weights[batch] for batch in batches]
            sizes = [float(rows.sum()) for rows in batch_weights]
            losses = [
                self._train_step(X, y, batch, lr, batch_row_weights(rows, self.dtype))
                for batch, rows in zip(batches, batch_weights, strict=True)
            ]
        self._synchronize()
        seconds = time.perf_counter() - start

        return seconds, losses, sizes


def batch_row_weights(weights: np.ndarray, dtype: str | np.dtype) -> np.ndarray:
    """Return a batch's sample weights divided by their sum, in ``dtype``.

    Each row's loss and gradient count with this share, so the batch's loss is the
    weighted mean that scikit-learn's ``MLPClassifier`` takes. A batch whose weights
    are all 0 keeps them, so its gradient is 0 and the step applies only momentum and
    weight decay.
    """
    total = weights.sum()
    shares = weights / total if total > 0 else weights
    return shares.astype(dtype, copy=False)
