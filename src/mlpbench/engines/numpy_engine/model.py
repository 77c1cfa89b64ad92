"""``NumpyMLP``: the estimator that wires the NumPy forward, loss, backward and SGD together."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlpbench.engines.base import MLPEstimator, Params
from mlpbench.engines.numpy_engine.backward import backward
from mlpbench.engines.numpy_engine.forward import forward
from mlpbench.engines.numpy_engine.loss import cross_entropy_with_grad, softmax
from mlpbench.engines.numpy_engine.sgd import SGD
from mlpbench.engines.numpy_engine.workspace import WorkspaceCache


class NumpyMLP(MLPEstimator):
    """Multilayer perceptron with hand-written backpropagation in NumPy.

    See ``MLPEstimator`` for the parameters. Example::

        model = NumpyMLP(hidden=[128], epochs=10, seed=0).fit(X_train, y_train)
        accuracy = model.score(X_test, y_test)
    """

    engine_name = "numpy"

    def _set_parameters(self, params: Params) -> None:
        self.params_ = [(np.array(W, dtype=self.dtype), np.array(b, dtype=self.dtype)) for W, b in params]
        self._optimizer = SGD(self.momentum, self.weight_decay)
        self._workspaces = WorkspaceCache(self.layer_sizes_, np.dtype(self.dtype))
        self._flat_params = [array for pair in self.params_ for array in pair]

    def get_parameters(self) -> Params:
        self._check_fitted()
        return [(W.copy(), b.copy()) for W, b in self.params_]

    def _get_momentum_buffers(self) -> Params | None:
        buffers = self._optimizer.buffers
        if buffers is None:
            return None
        return [(buffers[i].copy(), buffers[i + 1].copy()) for i in range(0, len(buffers), 2)]

    def _set_momentum_buffers(self, buffers: Params | None) -> None:
        if buffers is None:
            self._optimizer.buffers = None
            return
        self._optimizer.buffers = [np.array(array, dtype=self.dtype) for pair in buffers for array in pair]

    def _to_engine(self, X: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        # Settings may have changed since the parameters were installed (warm start).
        self._optimizer.momentum = self.momentum
        self._optimizer.weight_decay = self.weight_decay
        return X, y

    def _train_step(self, X: np.ndarray, y: np.ndarray, batch: np.ndarray, lr: float) -> float:
        workspace = self._workspaces.get(len(batch))
        X_batch = np.take(X, batch, axis=0, out=workspace.X)
        y_batch = y[batch]

        logits, inputs = forward(self.params_, X_batch, out=workspace.outputs)
        loss, dlogits = cross_entropy_with_grad(logits, y_batch, overwrite_logits=True)
        grads = backward(self.params_, inputs, dlogits, workspace.grads, workspace.deltas)

        flat_grads = [array for pair in grads for array in pair]
        self._optimizer.step(self._flat_params, flat_grads, lr)
        return loss

    def _predict_proba_chunk(self, X: np.ndarray) -> np.ndarray:
        logits, _ = forward(self.params_, X)
        return softmax(logits)
