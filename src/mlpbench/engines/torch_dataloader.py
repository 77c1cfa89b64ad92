"""``TorchDataLoaderMLP``: the PyTorch engine fed by a textbook ``DataLoader`` loop."""

from __future__ import annotations

import base64
import json
import time
from typing import Any, Self

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from mlpbench.engines.loop import batch_row_weights
from mlpbench.engines.torch_engine import TorchMLP
from mlpbench.engines.torch_engine.model import input_tensor


class TorchDataLoaderMLP(TorchMLP):
    """``TorchMLP`` trained with ``for xb, yb in DataLoader(...)`` instead of in-memory batching.

    The model, the initial parameters, the optimizer and the learning-rate schedule
    are those of ``TorchMLP``, and so are the parameters: those below plus ``device``
    (``"cpu"``, ``"cuda"`` or ``"cuda:N"``). The batching differs: each epoch iterates a
    ``DataLoader(TensorDataset(X, y), batch_size, shuffle=True)`` whose generator is
    seeded with ``seed``, so the loader fetches every row separately and collates the
    rows into a batch with ``torch.stack``. That per-sample cost is what this engine
    exists to show. As a textbook loop it also calls ``zero_grad`` and leaves out the
    momentum zeroing of ``mlpbench.training.zeroing``, whose absence made the torch
    engine's later epochs about 1.1 times slower on one thread (no change on two).

    Because the loader draws its own permutations, this engine trains on other
    mini-batches than ``numpy`` and ``torch`` with the same seed, so its parameters
    after training are not expected to match theirs. Its shuffling is reproducible for a
    given seed, and a checkpoint stores the loader generator's state, so a resumed run
    draws the batches an uninterrupted one would (``batch_order_`` is not used here).

    The epoch clock covers the whole ``for`` loop: the loader's permutation, the
    per-row indexing and collation, and the steps. The dataset stays in CPU memory
    and each batch is copied to ``device``, as the textbook loop does.
    """

    engine_name = "torch-dataloader"

    def initialize(self, n_features: int, n_classes: int) -> Self:
        """Build fresh parameters as ``TorchMLP`` does, and a fresh loader generator from ``seed``."""
        super().initialize(n_features, n_classes)
        self.loader_generator_ = torch.Generator().manual_seed(self.seed)
        self.loader_: DataLoader | None = None
        return self

    def _get_batch_state(self) -> str | None:
        generator = getattr(self, "loader_generator_", None)
        if generator is None:
            return None
        state = base64.b64encode(generator.get_state().numpy().tobytes()).decode("ascii")
        return json.dumps({"torch_generator": state})

    def _set_batch_state(self, state: str | None) -> bool:
        self.loader_generator_ = None
        # A loader built before would go on drawing from the replaced generator; the next
        # fit builds one on the restored generator.
        self.loader_ = None
        fields = json.loads(state) if state is not None else {}
        if "torch_generator" not in fields:
            return False
        saved = np.frombuffer(base64.b64decode(fields["torch_generator"], validate=True), dtype=np.uint8)
        generator = torch.Generator()
        try:
            generator.set_state(torch.from_numpy(saved.copy()))
        except RuntimeError as error:
            # set_state raises RuntimeError for a state of the wrong size.
            raise ValueError(f"not a torch generator state: {error}") from error
        self.loader_generator_ = generator
        return True

    def _to_engine(self, X: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        self._sync_optimizer_settings()
        if getattr(self, "loader_generator_", None) is None:
            # Restored from a file without a loader state: start from the seed.
            self.loader_generator_ = torch.Generator().manual_seed(self.seed)
        dataset = TensorDataset(input_tensor(X), input_tensor(y))
        self.loader_ = DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=True,
            generator=self.loader_generator_,
        )
        return self.loader_, None

    def _train_epoch(
        self, X: Any, y: Any, lr: float, weights: np.ndarray | None = None
    ) -> tuple[float, list[Any], list[float]]:
        """Run one epoch over the DataLoader; return its wall time, the batch losses and sizes.

        With sample ``weights`` the loader also yields each row's weight, and a batch's
        size is the sum of its weights, as in ``EpochLoop._train_epoch``.
        """
        loader: DataLoader = X
        if weights is not None:
            loader = self._weighted_loader(loader, weights)
        for group in self._optimizer.param_groups:
            group["lr"] = lr
        losses: list[torch.Tensor] = []
        sizes: list[float] = []

        self._synchronize()
        start = time.perf_counter()
        for xb, yb, *weighted in loader:
            xb = xb.to(self._device, non_blocking=True)
            yb = yb.to(self._device, non_blocking=True)
            self._optimizer.zero_grad(set_to_none=True)
            if weighted:
                wb = weighted[0].numpy()
                loss = self._batch_loss(self.module_(xb), yb, batch_row_weights(wb, self.dtype))
                sizes.append(float(wb.sum()))
            else:
                loss = self._loss_fn(self.module_(xb), yb)
                sizes.append(len(yb))
            loss.backward()
            self._optimizer.step()
            losses.append(loss.detach())
        self._synchronize()
        seconds = time.perf_counter() - start

        return seconds, losses, sizes

    def _weighted_loader(self, loader: DataLoader, weights: np.ndarray) -> DataLoader:
        """Return a loader like ``loader`` whose batches end with each row's sample weight.

        It draws its order from the same generator, so weighting does not change the batches.
        """
        X_tensor, y_tensor = loader.dataset.tensors
        dataset = TensorDataset(X_tensor, y_tensor, torch.from_numpy(weights))
        return DataLoader(
            dataset, batch_size=loader.batch_size, shuffle=True, generator=self.loader_generator_
        )
