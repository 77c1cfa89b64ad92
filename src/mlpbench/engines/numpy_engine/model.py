"""``NumpyMLP``: the estimator that wires the NumPy forward, loss, backward and SGD together."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlpbench.engines.base import MLPEstimator, Params
from mlpbench.engines.numpy_engine.backward import backward
from mlpbench.engines.numpy_engine.blas import numpy_blas
from mlpbench.engines.numpy_engine.forward import forward
from mlpbench.engines.numpy_engine.fused import fused_momentum_step
from mlpbench.engines.numpy_engine.loss import cross_entropy_with_grad, log_softmax, softmax
from mlpbench.engines.numpy_engine.sgd import SGD
from mlpbench.engines.numpy_engine.workspace import WorkspaceCache, parameter_count, parameter_views


class NumpyMLP(MLPEstimator):
    """Multilayer perceptron with hand-written backpropagation in NumPy.

    Example::

        model = NumpyMLP(hidden=[128], epochs=10, seed=0).fit(X_train, y_train)
        accuracy = model.score(X_test, y_test)
    """

    engine_name = "numpy"

    use_blas_update = True
    """Train with ``fused_momentum_step`` when momentum is on and NumPy's BLAS can be called.

    False, or a NumPy without a callable BLAS, runs ``backward`` and ``SGD.step``.
    """

    def _set_parameters(self, params: Params) -> None:
        self._flat_params = self._flatten(params)
        self.params_ = parameter_views(self.layer_sizes_, self._flat_params)
        self._optimizer = SGD(self.momentum, self.weight_decay)
        self._workspaces = WorkspaceCache(self.layer_sizes_, np.dtype(self.dtype))
        self._buffer_views: tuple[np.ndarray, Params] | None = None

    # Pickle would turn the views in params_ and in the workspaces into separate copies that
    # training no longer updates, so they are left out and rebuilt from the flat arrays.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        for name in ("params_", "_workspaces", "_buffer_views"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if "_flat_params" in state:
            self.params_ = parameter_views(self.layer_sizes_, self._flat_params)
            self._workspaces = WorkspaceCache(self.layer_sizes_, self._flat_params.dtype)
            self._buffer_views = None

    def _flatten(self, pairs: Params) -> np.ndarray:
        """Copy (W, b) pairs in parameter layout into one new flat array of ``self.dtype``."""
        flat = np.empty(parameter_count(self.layer_sizes_), dtype=self.dtype)
        for (W, b), (W_in, b_in) in zip(parameter_views(self.layer_sizes_, flat), pairs, strict=True):
            W[...] = W_in
            b[...] = b_in
        return flat

    def get_parameters(self) -> Params:
        self._check_fitted()
        return [(W.copy(), b.copy()) for W, b in self.params_]

    def _get_momentum_buffers(self) -> Params | None:
        buffers = self._optimizer.buffers
        if buffers is None:
            return None
        return [(W.copy(), b.copy()) for W, b in parameter_views(self.layer_sizes_, buffers[0])]

    def _set_momentum_buffers(self, buffers: Params | None) -> None:
        if buffers is None:
            self._optimizer.buffers = None
            return
        self._optimizer.buffers = [self._flatten(buffers)]

    def _to_engine(self, X: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        # Settings may have changed since the parameters were installed (warm start).
        self._optimizer.momentum = self.momentum
        self._optimizer.weight_decay = self.weight_decay
        return X, y

    def _train_epoch(
        self, X: np.ndarray, y: np.ndarray, lr: float, weights: np.ndarray | None = None
    ) -> tuple[float, list[Any], list[float]]:
        self._optimizer.start_epoch()
        return super()._train_epoch(X, y, lr, weights)

    def _train_step(
        self,
        X: np.ndarray,
        y: np.ndarray,
        batch: np.ndarray,
        lr: float,
        row_weights: np.ndarray | None = None,
    ) -> float:
        workspace = self._workspaces.get(len(batch))
        # mode="clip" avoids the temporary buffer that np.take copies through in its
        # default bounds-checking mode. The rows come from a permutation, so they are in range.
        X_batch = np.take(X, batch, axis=0, out=workspace.X, mode="clip")
        y_batch = y[batch]

        logits, inputs = forward(self.params_, X_batch, out=workspace.outputs)
        # The gradient is written over the logits, so that buffer now contains d(loss)/d(logits).
        loss, dlogits = cross_entropy_with_grad(
            logits, y_batch, overwrite_logits=True, row_weights=row_weights
        )
        blas = numpy_blas() if self.use_blas_update and self.momentum else None
        if blas is None:
            # The gradients land in views of workspace.flat_grads, so one update covers all layers.
            backward(self.params_, inputs, dlogits, workspace.grads, workspace.deltas)
            self._optimizer.step([self._flat_params], [workspace.flat_grads], lr)
            return loss

        first_step = self._optimizer.buffers is None
        if first_step:
            self._optimizer.buffers = [np.zeros_like(self._flat_params)]
        flat_buffer = self._optimizer.buffers[0]
        if self._buffer_views is None or self._buffer_views[0] is not flat_buffer:
            self._buffer_views = (flat_buffer, parameter_views(self.layer_sizes_, flat_buffer))
        fused_momentum_step(
            self.params_,
            self._flat_params,
            self._buffer_views[1],
            flat_buffer,
            inputs,
            dlogits,
            beta=0.0 if first_step else self.momentum,
            weight_decay=self.weight_decay,
            lr=lr,
            workspace=workspace,
            blas=blas,
        )
        self._optimizer.zero_vanishing_momentum()
        return loss

    def _predict_proba_chunk(self, X: np.ndarray) -> np.ndarray:
        logits, _ = forward(self.params_, X)
        return softmax(logits)

    def _predict_log_proba_chunk(self, X: np.ndarray) -> np.ndarray:
        logits, _ = forward(self.params_, X)
        return log_softmax(logits)
