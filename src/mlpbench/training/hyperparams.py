"""Validation of the hyperparameters that every engine accepts."""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mlpbench.training.schedule import SCHEDULES

DTYPES = ("float32", "float64")

MAX_SEED = 2**32 - 1
"""The largest seed that every engine accepts: scikit-learn's RandomState takes no larger one."""


def validate_hyperparameters(
    *,
    hidden: int | Sequence[int],
    epochs: int,
    batch_size: int,
    lr: float,
    momentum: float,
    weight_decay: float,
    schedule: str,
    dtype: str,
    seed: int = 0,
) -> None:
    """Raise ValueError naming the first invalid value and the accepted range."""
    _check_hidden(hidden)
    check_int("epochs", epochs, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    for name, value in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{name} must be a number, got {value!r} of type {type(value).__name__}")
    if not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive finite number, got {lr}")
    if not math.isfinite(momentum) or not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    if not math.isfinite(weight_decay) or weight_decay < 0:
        raise ValueError(f"weight_decay must be zero or positive, got {weight_decay}")
    if _is_dtype(dtype) and np.dtype(dtype).name in DTYPES and lr > float(np.finfo(dtype).max):
        raise ValueError(f"lr {lr} is too large to represent in {np.dtype(dtype).name}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    if not _is_dtype(dtype) or np.dtype(dtype).name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    # NumPy's SeedSequence and RandomState and torch.Generator take no negative seed.
    check_int("seed", seed, minimum=0)
    if seed > MAX_SEED:
        raise ValueError(f"seed must be at most 2**32 - 1 = {MAX_SEED}, got {seed}")


HYPERPARAMETERS = tuple(inspect.signature(validate_hyperparameters).parameters)
"""The settings that ``validate_hyperparameters`` checks, in the order of its arguments."""


def validate_some_hyperparameters(values: Mapping[str, Any], valid: Mapping[str, Any]) -> None:
    """Check the hyperparameters in ``values`` as ``validate_hyperparameters`` does.

    ``valid`` supplies the ones that ``values`` lacks, and must contain only valid
    values, so that an error names a setting of ``values``.
    """
    settings = {name: values[name] if name in values else valid[name] for name in HYPERPARAMETERS}
    validate_hyperparameters(**settings)


def _check_hidden(hidden: object) -> None:
    """Raise ValueError unless ``hidden`` is a positive integer (one layer) or a sequence of them."""
    if isinstance(hidden, np.ndarray) and hidden.ndim == 0:
        hidden = hidden.item()
    # A single integer is one hidden layer, as hidden_layer_sizes=100 is in scikit-learn.
    if isinstance(hidden, int | np.integer) and not isinstance(hidden, bool):
        if hidden <= 0:
            raise ValueError(
                f"hidden must be a positive layer size or a list of them, got {hidden!r}; "
                "use an empty list for no hidden layer"
            )
        return
    if isinstance(hidden, str | bool | float) or not isinstance(hidden, Sequence | np.ndarray):
        raise ValueError(
            f"hidden must be a list of layer sizes or one integer, such as [256, 128] or 64, got {hidden!r}"
        )
    for size in hidden:
        if isinstance(size, bool) or not isinstance(size, int | np.integer) or size <= 0:
            raise ValueError(
                f"hidden layer sizes must be positive integers, got {list(hidden)}; "
                "use an empty list for no hidden layer"
            )


def _is_dtype(value: object) -> bool:
    # np.dtype(None) is float64, which would let dtype=None through.
    if value is None:
        return False
    try:
        np.dtype(value)  # type: ignore[call-overload]
    except TypeError:
        return False
    return True


def check_int(name: str, value: object, *, minimum: int) -> None:
    """Raise ValueError unless ``value`` is an integer (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
