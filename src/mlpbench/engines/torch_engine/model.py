"""``TorchMLP``: the estimator that trains ``MLPModule`` with autograd and ``torch.optim.SGD``."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from mlpbench.engines.base import MLPEstimator, Params
from mlpbench.engines.torch_engine.module import MLPModule
from mlpbench.training.zeroing import ZeroingSchedule, zeroing_threshold

TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def input_tensor(array: np.ndarray) -> torch.Tensor:
    """Return a CPU tensor that shares ``array``'s memory, read-only arrays included.

    ``torch.from_numpy`` warns about a read-only array (a memory-mapped file, a pandas
    column) because the tensor could write to it. The engines only read their inputs,
    so that warning is dropped here.
    """
    if array.flags.writeable:
        return torch.from_numpy(array)
    # catch_warnings resets which warnings were already shown, so it is entered only when needed.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)


_DEVICE_CHOICES = "device must be 'cpu' or 'cuda' (or 'cuda:N' for GPU number N)"


def resolve_device(device: str) -> torch.device:
    """Return a torch device for ``"cpu"`` or ``"cuda[:N]"``, or raise ValueError if unusable."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as error:
        # PyTorch's own message lists a dozen device types, most of which the engine cannot use.
        raise ValueError(f"{_DEVICE_CHOICES}, got {device!r}") from error
    if parsed.type == "cpu":
        return parsed
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {device!r} was requested, but this PyTorch build ({torch.__version__}) "
                "finds no CUDA GPU; use device='cpu' (--device cpu on the command line)"
            )
        # NOTE: never run here (no GPU); the index check follows torch.cuda.device_count().
        count = torch.cuda.device_count()
        if parsed.index is not None and parsed.index >= count:
            raise ValueError(
                f"device {device!r} was requested, but PyTorch finds {count} CUDA GPU(s), "
                f"numbered 0..{count - 1}; pick one of those"
            )
        return parsed
    raise ValueError(f"{_DEVICE_CHOICES}, got {device!r}")


def _same_device(first: torch.device, second: torch.device) -> bool:
    """Tell whether two devices are one: "cpu" and "cpu:0" are, as are "cuda" and the current GPU."""
    if first.type != second.type:
        return False
    if first.type == "cpu":
        return True
    # NOTE: untested on a GPU. "cuda" without an index is taken to mean the current device.
    current = torch.cuda.current_device()
    return (first.index if first.index is not None else current) == (
        second.index if second.index is not None else current
    )


class TorchMLP(MLPEstimator):
    """Multilayer perceptron trained by PyTorch autograd.

    Takes the parameters below plus ``device``: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``
    for GPU number N. Given the same seed it starts from the same parameters and trains
    on the same mini-batches as ``NumpyMLP``. After ``fit``, ``module_`` is the trained
    ``nn.Module``, which returns logits.
    """

    engine_name = "torch"

    # A class default, so that a model pickled before the zeroing existed still trains.
    _zeroing: ZeroingSchedule | None = None

    # Every parameter is spelled out because scikit-learn's get_params() reads the
    # signature of __init__ and ignores **kwargs.
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
        device: str = "cpu",
    ) -> None:
        super().__init__(
            hidden,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            schedule=schedule,
            dtype=dtype,
            seed=seed,
            threads=threads,
            warm_start=warm_start,
            standardize=standardize,
        )
        self.device = device

    def _validate_hyperparameters(self) -> None:
        super()._validate_hyperparameters()
        # Checked with the other settings, before fit() changes the model.
        resolve_device(self.device)

    def _check_warm_start_settings(self, caller: str = "fit") -> None:
        # The device is read when the parameters are installed, so a new one would be
        # ignored while get_params() reported it.
        if not _same_device(resolve_device(self.device), self._device):
            continuing = "partial_fit" if caller == "partial_fit" else "warm_start=True"
            raise ValueError(
                f"{continuing} continues the fitted network on {self._device}, which cannot take "
                f"the new device={self.device!r}; set device back, or save() and "
                f"load(path, device={self.device!r}) to move it"
            )
        super()._check_warm_start_settings(caller)

    def _set_parameters(self, params: Params) -> None:
        self._device = resolve_device(self.device)
        torch_dtype = TORCH_DTYPES[self.dtype_name]
        # nn.Linear draws its own initial values, which the copies below replace. The fork
        # keeps that draw from advancing the caller's global torch generator.
        with torch.random.fork_rng(devices=[]):
            self.module_ = MLPModule(self.layer_sizes_).to(device=self._device, dtype=torch_dtype)
        with torch.no_grad():
            for layer, (W, b) in zip(self.module_.layers, params, strict=True):
                layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
                layer.bias.copy_(torch.from_numpy(np.ascontiguousarray(b)))
        self._loss_fn = nn.CrossEntropyLoss()
        # fused=True runs the whole update (weight decay, momentum, step) as one kernel
        # per parameter instead of several ops, which is measurably faster for small
        # layers on the CPU; the arithmetic is that of the default implementation.
        self._optimizer = torch.optim.SGD(
            self.module_.parameters(),
            lr=self.lr,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            fused=True,
        )
        self._parameters_list = list(self.module_.parameters())
        self._zeroing = ZeroingSchedule()

    def get_parameters(self) -> Params:
        self._check_fitted()
        return [
            (
                layer.weight.detach().cpu().numpy().T.copy(),
                layer.bias.detach().cpu().numpy().copy(),
            )
            for layer in self.module_.layers
        ]

    def _get_momentum_buffers(self) -> Params | None:
        buffers = []
        for layer in self.module_.layers:
            pair = []
            for tensor in (layer.weight, layer.bias):
                buffer = self._optimizer.state.get(tensor, {}).get("momentum_buffer")
                if buffer is None:
                    return None
                pair.append(buffer.detach().cpu().numpy().copy())
            buffers.append((pair[0].T.copy(), pair[1]))
        return buffers

    def _set_momentum_buffers(self, buffers: Params | None) -> None:
        self._optimizer.state.clear()
        if buffers is None:
            return
        torch_dtype = TORCH_DTYPES[self.dtype_name]
        for layer, (W, b) in zip(self.module_.layers, buffers, strict=True):
            for tensor, value in ((layer.weight, W.T), (layer.bias, b)):
                buffer = torch.tensor(np.ascontiguousarray(value), dtype=torch_dtype, device=self._device)
                self._optimizer.state[tensor] = {"momentum_buffer": buffer}

    def _training_state(self) -> Any:
        # Clones on the model's device: a round trip through NumPy would double the cost
        # of a partial_fit call on a small chunk.
        with torch.no_grad():
            params = [tensor.detach().clone() for tensor in self._parameters_list]
        state = self._optimizer.state
        buffers = [state.get(tensor, {}).get("momentum_buffer") for tensor in self._parameters_list]
        buffers = [None if buffer is None else buffer.detach().clone() for buffer in buffers]
        return params, buffers, self._get_batch_state()

    def _restore_training_state(self, state: Any) -> None:
        params, buffers, batch_state = state
        with torch.no_grad():
            for tensor, saved in zip(self._parameters_list, params, strict=True):
                tensor.copy_(saved)
        self._optimizer.state.clear()
        for tensor, buffer in zip(self._parameters_list, buffers, strict=True):
            if buffer is not None:
                self._optimizer.state[tensor] = {"momentum_buffer": buffer}
        self._set_batch_state(batch_state)

    def _sync_optimizer_settings(self) -> None:
        """Copy momentum and weight decay into the optimizer: they may have changed since a warm start."""
        for group in self._optimizer.param_groups:
            group["momentum"] = self.momentum
            group["weight_decay"] = self.weight_decay

    def _to_engine(self, X: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        self._sync_optimizer_settings()
        X_tensor = input_tensor(X).to(self._device)
        y_tensor = input_tensor(y).to(self._device)
        return X_tensor, y_tensor

    def _train_epoch(
        self, X: Any, y: Any, lr: float, weights: np.ndarray | None = None
    ) -> tuple[float, list[Any], list[float]]:
        if self._zeroing is None:
            self._zeroing = ZeroingSchedule()
        self._zeroing.start_epoch()
        return super()._train_epoch(X, y, lr, weights)

    def _train_step(
        self,
        X: torch.Tensor,
        y: torch.Tensor,
        batch: np.ndarray,
        lr: float,
        row_weights: np.ndarray | None = None,
    ) -> Any:
        for group in self._optimizer.param_groups:
            group["lr"] = lr
        rows = torch.from_numpy(batch).to(self._device, non_blocking=True)
        X_batch = torch.index_select(X, 0, rows)
        y_batch = torch.index_select(y, 0, rows)

        # What zero_grad(set_to_none=True) does, without its per-call bookkeeping, which
        # took 11-17 µs a step on the 2-core development machine.
        for parameter in self._parameters_list:
            parameter.grad = None
        logits = self.module_(X_batch)
        loss = self._batch_loss(logits, y_batch, row_weights)
        loss.backward()
        self._optimizer.step()
        self._zero_vanishing_momentum()
        return loss.detach()

    def _zero_vanishing_momentum(self) -> None:
        """Set near-subnormal momentum values to 0 when the schedule is due.

        See ``mlpbench.training.zeroing`` for why and when.
        """
        assert self._zeroing is not None
        dtype = np.dtype(self.dtype_name)
        if not self._zeroing.step_is_due(self.momentum, dtype):
            return
        threshold = zeroing_threshold(dtype)
        with torch.no_grad():
            for state in self._optimizer.state.values():
                buffer = state.get("momentum_buffer")
                if buffer is not None:
                    buffer.masked_fill_(buffer.abs() < threshold, 0)

    def _batch_loss(self, logits: torch.Tensor, y: torch.Tensor, row_weights: Any = None) -> torch.Tensor:
        """Return the batch's mean cross-entropy on raw logits, weighted when ``row_weights`` are given.

        ``row_weights`` (NumPy or torch, one per row) sum to 1, so the weighted sum of
        the rows' losses is their weighted mean.
        """
        if row_weights is None:
            return self._loss_fn(logits, y)
        weights = torch.as_tensor(row_weights, device=self._device, dtype=logits.dtype)
        # One loss per row, on the raw logits, which the weights turn into their mean.
        return (nn.functional.cross_entropy(logits, y, reduction="none") * weights).sum()

    def _losses_to_numpy(self, losses: list[Any]) -> np.ndarray:
        return torch.stack(losses).cpu().numpy().astype(np.float64)

    def _predict_proba_chunk(self, X: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            logits = self.module_(input_tensor(X).to(self._device))
            return torch.softmax(logits, dim=1).cpu().numpy()

    def _predict_log_proba_chunk(self, X: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            logits = self.module_(input_tensor(X).to(self._device))
            return torch.log_softmax(logits, dim=1).cpu().numpy()

    def _synchronize(self) -> None:
        if getattr(self, "_device", None) is not None and self._device.type == "cuda":
            torch.cuda.synchronize(self._device)
