"""The NumPy engine's SGD update (momentum and weight decay) against hand-computed numbers."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from mlpbench.engines.numpy_engine.sgd import SGD
from mlpbench.training.zeroing import VANISHING_MARGIN, zeroing_period


def test_momentum_and_weight_decay_two_steps() -> None:
    p = np.array([1.0, -2.0])
    optimizer = SGD(momentum=0.9, weight_decay=0.1)

    # Step 1:
    #   g   = [0.5, 1.0] + 0.1 * [1.0, -2.0] = [0.6, 0.8]
    #   buf = g
    #   p   = [1.0, -2.0] - 0.5 * [0.6, 0.8] = [0.7, -2.4]
    optimizer.step([p], [np.array([0.5, 1.0])], lr=0.5)

    np.testing.assert_allclose(p, [0.7, -2.4], rtol=1e-14)
    np.testing.assert_allclose(optimizer.buffers[0], [0.6, 0.8], rtol=1e-14)

    # Step 2:
    #   g   = [-1.0, 0.25] + 0.1 * [0.7, -2.4] = [-0.93, 0.01]
    #   buf = 0.9 * [0.6, 0.8] + g = [-0.39, 0.73]
    #   p   = [0.7, -2.4] - 0.5 * buf = [0.895, -2.765]
    optimizer.step([p], [np.array([-1.0, 0.25])], lr=0.5)

    np.testing.assert_allclose(optimizer.buffers[0], [-0.39, 0.73], rtol=1e-13)
    np.testing.assert_allclose(p, [0.895, -2.765], rtol=1e-14)


def test_plain_sgd_step() -> None:
    p = np.array([1.0, -2.0])
    optimizer = SGD(momentum=0.0, weight_decay=0.0)

    optimizer.step([p], [np.array([0.5, 1.0])], lr=0.5)
    optimizer.step([p], [np.array([-1.0, 0.25])], lr=0.5)

    # p = [1.0, -2.0] - 0.5 * [0.5, 1.0] - 0.5 * [-1.0, 0.25]
    np.testing.assert_allclose(p, [1.25, -2.625], rtol=1e-15)
    assert optimizer.buffers is None


def test_weight_decay_without_momentum() -> None:
    p = np.array([2.0])
    optimizer = SGD(momentum=0.0, weight_decay=0.5)

    optimizer.step([p], [np.array([1.0])], lr=0.1)

    # g = 1.0 + 0.5 * 2.0 = 2.0, then p = 2.0 - 0.1 * 2.0
    np.testing.assert_allclose(p, [1.8], rtol=1e-15)


def test_momentum_buffer_is_a_copy() -> None:
    """The engine reuses gradient arrays between steps, so the buffer must not alias them."""
    p = np.array([1.0, -2.0])
    grad = np.array([0.5, 1.0])
    optimizer = SGD(momentum=0.9, weight_decay=0.0)

    optimizer.step([p], [grad], lr=0.5)
    grad[:] = 100.0  # what the next backward pass does to a reused gradient array

    np.testing.assert_array_equal(optimizer.buffers[0], [0.5, 1.0])
    assert not np.shares_memory(optimizer.buffers[0], grad)


def test_shape_change_between_steps() -> None:
    """A second parameter list of other shapes (a new model) gets a fresh scratch space."""
    optimizer = SGD(momentum=0.0, weight_decay=0.1)
    p_small = np.array([1.0])
    p_large = np.array([1.0, 2.0, 3.0])

    optimizer.step([p_small], [np.array([0.0])], lr=1.0)
    optimizer.step([p_large], [np.zeros(3)], lr=1.0)

    # p = p - 1.0 * (0 + 0.1 * p) = 0.9 * p
    np.testing.assert_allclose(p_small, [0.9], rtol=1e-15)
    np.testing.assert_allclose(p_large, [0.9, 1.8, 2.7], rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum", [0.1, 0.9])
def test_decaying_momentum_never_turns_subnormal(dtype: type, momentum: float) -> None:
    # Zero gradients leave only the decay: buf *= momentum per step. Without the zeroing, a
    # value of 1 would cross into the subnormal range after log(tiny) / log(momentum) steps.
    tiny = np.finfo(dtype).tiny
    steps = int(np.log(tiny) / np.log(momentum)) + 50
    optimizer = SGD(momentum=momentum)
    p = np.zeros(3, dtype=dtype)
    optimizer.step([p], [np.array([1.0, -1.0, 0.0], dtype=dtype)], lr=0.5)

    for _ in range(steps):
        optimizer.step([p], [np.zeros(3, dtype=dtype)], lr=0.5)
        buf = optimizer.buffers[0]
        assert not np.any((buf != 0) & (np.abs(buf) < tiny)), buf

    np.testing.assert_array_equal(optimizer.buffers[0], 0)


def test_zeroing_keeps_values_above_the_margin() -> None:
    # A value at the margin must survive a whole period of decay (and so stays normal).
    tiny = np.finfo(np.float32).tiny
    period = zeroing_period(0.9, np.float32)
    margin_value = np.float32(tiny * VANISHING_MARGIN * 1.01)
    buf = np.array([margin_value, margin_value / 2, 0.5, -margin_value / 2], dtype=np.float32)
    optimizer = SGD(momentum=0.9)
    optimizer.buffers = [buf]

    for _ in range(period):
        optimizer.zero_vanishing_momentum()

    np.testing.assert_array_equal(buf, [margin_value, 0, 0.5, 0])
    assert margin_value * np.float32(0.9) ** period >= tiny


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum", [0.1, 2**-0.5, 0.9, 0.9899, 0.9985, 0.9996])
def test_margin_value_stays_normal_for_period(dtype: type, momentum: float) -> None:
    # Multiplied by the momentum rounded to the dtype, with each product rounded, as
    # training does. A period computed from the exact momentum lets these momenta run
    # one or two steps past tiny in float32.
    tiny = np.finfo(dtype).tiny
    value = dtype(tiny * VANISHING_MARGIN)
    factor = dtype(momentum)

    for _ in range(zeroing_period(momentum, dtype)):
        value = value * factor

    assert value >= tiny


def test_zeroing_period_for_momentum() -> None:
    assert zeroing_period(0.9, np.float32) == 203
    assert zeroing_period(0.5, np.float64) == 31
    assert zeroing_period(1e-9, np.float32) == 1
    # 1 - 1e-8 rounds to 1 in float32, so the buffer does not decay there.
    assert zeroing_period(1 - 1e-8, np.float32) is None
    assert zeroing_period(1 - 1e-8, np.float64) > 10**9


def test_start_epoch_zeroes_at_next_step() -> None:
    tiny_value = np.float32(np.finfo(np.float32).tiny * 4)
    optimizer = SGD(momentum=0.9)
    optimizer.buffers = [np.array([tiny_value, 1.0], dtype=np.float32)]
    optimizer.zero_vanishing_momentum()
    assert optimizer.buffers[0][0] == tiny_value

    optimizer.start_epoch()
    optimizer.zero_vanishing_momentum()

    np.testing.assert_array_equal(optimizer.buffers[0], [0, 1])
    assert optimizer.zeroing.steps_since_zeroing == 0


def test_sgd_pickled_without_zeroing_state_steps() -> None:
    optimizer = SGD(momentum=0.9)
    p = np.ones(3)
    optimizer.step([p], [np.full(3, 0.5)], lr=0.1)
    # An SGD pickled before the zeroing existed has no schedule.
    del optimizer._zeroing
    restored = pickle.loads(pickle.dumps(optimizer))

    restored.step([p], [np.full(3, 0.5)], lr=0.1)

    np.testing.assert_allclose(restored.buffers[0], 0.95)
