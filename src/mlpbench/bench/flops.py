"""FLOP counts of one training step and one epoch of the MLP.

A multiply-add counts as 2 FLOPs, and every other elementwise operation (add,
compare, multiply, ``exp``, ``log``) counts as 1. For layer sizes
``[n_0, n_1, ..., n_L]`` (``n_0`` features, ``n_L`` classes, ``L`` layers) and a
batch of ``B`` rows, layer ``l`` has fan-in ``i = n_(l-1)`` and fan-out ``o = n_l``:

=====================================  ===========  =========================
operation                              FLOPs        which layers
=====================================  ===========  =========================
forward ``X @ W``                      ``2*B*i*o``  all
forward bias add                       ``B*o``      all
forward ReLU                           ``B*o``      hidden (l < L)
backward ``dW = X.T @ dZ``             ``2*B*i*o``  all
backward ``db = sum(dZ)``              ``B*o``      all
backward ``dX = dZ @ W.T``             ``2*B*i*o``  l > 1 (the input needs no gradient)
backward ReLU mask ``dA * (A > 0)``    ``B*o``      hidden (l < L)
=====================================  ===========  =========================

The softmax cross-entropy and its gradient cost ``5*B*n_L`` by convention: one
FLOP each per logit for the row maximum, the subtraction, ``exp``, the row sum and
the final division. Per-row work (a ``log``, the label lookup) is left out. This
constant is a bookkeeping choice, not a measurement, and it is small next to the
matrix products.

The SGD update costs, per parameter (``P = sum(i*o + o)`` over all layers):
weight decay ``g + wd*p`` 2, momentum ``m*buf + g`` 2, and the update
``p - lr*g`` 2. So one step's update is ``6*P`` FLOPs with momentum and weight
decay, ``4*P`` with only one of them, and ``2*P`` with neither.

Example by hand, ``[784, 128, 10]`` at ``B = 64`` with momentum and weight decay:
layer 1 costs ``2*(2*64*784*128) + 4*(64*128)``, layer 2 costs
``3*(2*64*128*10) + 2*(64*10)``, the loss ``5*64*10``, and the update
``6*(784*128 + 128 + 128*10 + 10)``, which sums to 26,829,500 FLOPs.

An epoch over ``N`` samples runs ``N // B`` full batches and, when ``N % B`` is
not 0, one last batch of ``N % B`` rows, matching ``BatchOrder``. The update is
counted once per step whatever the batch size.
"""

from __future__ import annotations

from collections.abc import Sequence

SOFTMAX_CROSS_ENTROPY_FLOPS_PER_LOGIT = 5
"""Convention for the loss and its gradient: max, subtract, exp, sum and divide per logit."""

SGD_FLOPS_PER_PARAMETER_TERM = 2
"""FLOPs per parameter for each of weight decay, momentum and the update itself."""


def _validate(layer_sizes: Sequence[int], batch_size: int) -> list[int]:
    sizes = list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError(
            f"layer_sizes must list at least [n_features, n_classes], got {sizes}"
        )
    for size in sizes:
        if int(size) != size or size < 1:
            raise ValueError(f"layer sizes must be positive integers, got {sizes}")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    return [int(size) for size in sizes]


def parameter_count(layer_sizes: Sequence[int]) -> int:
    """Return the number of weights and biases, ``sum(i*o + o)`` over the layers."""
    sizes = _validate(layer_sizes, 1)
    return sum(i * o + o for i, o in zip(sizes[:-1], sizes[1:], strict=True))


def matmul_flops(layer_sizes: Sequence[int], batch_size: int) -> int:
    """Return the FLOPs of one step's matrix products only.

    Parameters
    ----------
    layer_sizes : ``[n_features, *hidden, n_classes]``.
    batch_size : rows in the batch.

    Returns
    -------
    int
        Forward ``X @ W`` and backward ``dW`` for every layer, plus ``dX`` for all
        layers but the first: ``2*B*i*o`` each.
    """
    sizes = _validate(layer_sizes, batch_size)
    total = 0
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        products = 2 if index == 0 else 3
        total += products * 2 * batch_size * fan_in * fan_out
    return total


def step_flops(
    layer_sizes: Sequence[int], batch_size: int, *, momentum: bool, weight_decay: bool
) -> int:
    """Return the FLOPs of one SGD step (forward, loss, backward, update) on one batch.

    Parameters
    ----------
    layer_sizes : ``[n_features, *hidden, n_classes]``.
    batch_size : rows in the batch.
    momentum, weight_decay : whether the optimizer applies them (each adds 2 FLOPs
        per parameter); their values may be given instead, and any value but 0 counts.

    Returns
    -------
    int
        The count defined in this module's docstring.
    """
    sizes = _validate(layer_sizes, batch_size)
    n_layers = len(sizes) - 1
    elementwise = 0
    for index, fan_out in enumerate(sizes[1:]):
        # Bias add forward and bias gradient backward.
        elementwise += 2 * batch_size * fan_out
        if index < n_layers - 1:
            # ReLU forward and the ReLU mask backward.
            elementwise += 2 * batch_size * fan_out

    loss = SOFTMAX_CROSS_ENTROPY_FLOPS_PER_LOGIT * batch_size * sizes[-1]

    # bool() first: int(0.9) would be 0, so a momentum passed as its value must count too.
    update_terms = 1 + int(bool(momentum)) + int(bool(weight_decay))
    update = update_terms * SGD_FLOPS_PER_PARAMETER_TERM * parameter_count(sizes)

    return matmul_flops(sizes, batch_size) + elementwise + loss + update


def epoch_flops(
    layer_sizes: Sequence[int],
    n_samples: int,
    batch_size: int,
    *,
    momentum: bool,
    weight_decay: bool,
) -> int:
    """Return the FLOPs of one epoch: ``N // B`` full steps plus one step of ``N % B`` rows.

    A ``batch_size`` larger than ``n_samples`` gives one step over all samples.

    Parameters
    ----------
    layer_sizes : ``[n_features, *hidden, n_classes]``.
    n_samples : training rows ``N``.
    batch_size : rows per full batch ``B``.
    momentum, weight_decay : as in ``step_flops``.
    """
    _validate(layer_sizes, batch_size)
    if int(n_samples) != n_samples or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples}")
    full_batches, remainder = divmod(int(n_samples), int(batch_size))
    total = 0
    if full_batches:
        total += full_batches * step_flops(
            layer_sizes, batch_size, momentum=momentum, weight_decay=weight_decay
        )
    if remainder:
        total += step_flops(layer_sizes, remainder, momentum=momentum, weight_decay=weight_decay)
    return total
