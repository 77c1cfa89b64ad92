"""Tests of the benchmark building blocks: FLOP counts, matmul peak, environment,
statistics, memory and plots."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from mlpbench.bench.environment import collect_environment, shipping_package
from mlpbench.bench.flops import epoch_flops, matmul_flops, step_flops
from mlpbench.bench.memory import current_rss_bytes, peak_rss_bytes
from mlpbench.bench.peak import PeakResult, measure_matmul_peak, measure_torch_matmul_peak
from mlpbench.bench.plots import plot_accuracy, plot_epoch_times, plot_loss_curves, plot_sweep
from mlpbench.bench.stats import later_epoch_slowdown, spread_warning, summarize

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --- FLOP counts -------------------------------------------------------------


def test_step_flops_one_hidden_layer():
    batch = 64
    # Layer 1, 784 -> 128 (first layer: no input gradient).
    forward_matmul_1 = 2 * 64 * 784 * 128  # 12,845,056
    bias_1 = 64 * 128  # 8,192
    relu_1 = 64 * 128
    grad_weight_1 = 2 * 64 * 784 * 128
    grad_bias_1 = 64 * 128
    relu_mask_1 = 64 * 128
    layer_1 = forward_matmul_1 + bias_1 + relu_1 + grad_weight_1 + grad_bias_1 + relu_mask_1
    assert layer_1 == 25_722_880

    # Layer 2, 128 -> 10 (output layer: no ReLU, but an input gradient).
    forward_matmul_2 = 2 * 64 * 128 * 10  # 163,840
    bias_2 = 64 * 10
    grad_weight_2 = 2 * 64 * 128 * 10
    grad_input_2 = 2 * 64 * 128 * 10
    grad_bias_2 = 64 * 10
    layer_2 = forward_matmul_2 + bias_2 + grad_weight_2 + grad_input_2 + grad_bias_2
    assert layer_2 == 492_800

    # Softmax cross-entropy: 5 FLOPs per logit by convention.
    loss = 5 * 64 * 10

    # SGD with momentum and weight decay: 6 FLOPs per parameter.
    parameters = (784 * 128 + 128) + (128 * 10 + 10)  # 101,770
    update = 6 * parameters

    expected = layer_1 + layer_2 + loss + update
    assert expected == 26_829_500
    assert step_flops([784, 128, 10], batch, momentum=True, weight_decay=True) == expected


def test_step_flops_optimizer_terms():
    parameters = (784 * 128 + 128) + (128 * 10 + 10)
    with_both = step_flops([784, 128, 10], 64, momentum=True, weight_decay=True)
    momentum_only = step_flops([784, 128, 10], 64, momentum=True, weight_decay=False)
    plain = step_flops([784, 128, 10], 64, momentum=False, weight_decay=False)
    assert with_both - momentum_only == 2 * parameters
    assert momentum_only - plain == 2 * parameters


def test_step_flops_counts_optimizer_values_as_switches():
    # The values themselves, as a user would pass them, count like True: int(0.9) is 0.
    from_values = step_flops([784, 128, 10], 64, momentum=0.9, weight_decay=1e-4)
    assert from_values == step_flops([784, 128, 10], 64, momentum=True, weight_decay=True)
    assert step_flops([784, 128, 10], 64, momentum=0.0, weight_decay=0) == step_flops(
        [784, 128, 10], 64, momentum=False, weight_decay=False
    )


def test_step_flops_no_hidden_layer():
    # Softmax regression 4 -> 3 at batch 2, plain SGD.
    forward_matmul = 2 * 2 * 4 * 3  # 48
    bias = 2 * 3  # 6
    grad_weight = 2 * 2 * 4 * 3  # 48, and no input gradient
    grad_bias = 2 * 3  # 6
    loss = 5 * 2 * 3  # 30
    update = 2 * (4 * 3 + 3)  # 30
    expected = forward_matmul + bias + grad_weight + grad_bias + loss + update
    assert expected == 168
    assert step_flops([4, 3], 2, momentum=False, weight_decay=False) == expected


def test_matmul_flops_one_hidden_layer():
    # Layer 1: forward and dW; layer 2: forward, dW and dX.
    expected = 2 * (2 * 64 * 784 * 128) + 3 * (2 * 64 * 128 * 10)
    assert matmul_flops([784, 128, 10], 64) == expected


def test_epoch_flops_partial_batch():
    sizes = [20, 16, 8, 5]
    full_step = step_flops(sizes, 32, momentum=True, weight_decay=False)
    partial_step = step_flops(sizes, 100 % 32, momentum=True, weight_decay=False)
    expected = 3 * full_step + partial_step
    assert epoch_flops(sizes, 100, 32, momentum=True, weight_decay=False) == expected


def test_epoch_flops_exact_and_oversized_batch():
    sizes = [20, 16, 5]
    one_step = step_flops(sizes, 25, momentum=False, weight_decay=True)
    assert epoch_flops(sizes, 100, 25, momentum=False, weight_decay=True) == 4 * one_step
    whole = step_flops(sizes, 100, momentum=False, weight_decay=True)
    assert epoch_flops(sizes, 100, 500, momentum=False, weight_decay=True) == whole


@pytest.mark.parametrize(
    "sizes, batch",
    [([784], 64), ([784, 0, 10], 64), ([784, 10], 0)],
)
def test_step_flops_rejects_invalid(sizes, batch):
    with pytest.raises(ValueError):
        step_flops(sizes, batch, momentum=True, weight_decay=True)


# --- Matrix-multiply peak ----------------------------------------------------


@pytest.mark.parametrize("measure", [measure_matmul_peak, measure_torch_matmul_peak])
def test_peak_positive_and_bounded(measure):
    if measure is measure_torch_matmul_peak:
        import torch  # import outside the timed call; the function excludes it too

        assert torch.get_num_threads() >= 1
    start = time.perf_counter()
    result = measure("float32", threads=1, size=256, min_seconds=0.2, max_seconds=2.0)
    wall_seconds = time.perf_counter() - start

    assert isinstance(result, PeakResult)
    assert math.isfinite(result.gflops)
    assert result.gflops > 0
    assert result.median_gflops <= result.gflops
    assert result.repeats >= 1
    assert result.threads == 1
    # A bound on the function's time limit, not a speed goal.
    assert wall_seconds < 6.0
    assert json.loads(json.dumps(result.to_dict()))["size"] == result.size


@pytest.mark.parametrize("measure", [measure_matmul_peak, measure_torch_matmul_peak])
def test_peak_flops_per_product(measure, monkeypatch):
    import mlpbench.bench.peak

    # Every product "takes" 4 ms, so a 200 x 200 product (2 * 200**3 = 16 MFLOP) runs at 4 GFLOP/s.
    def four_milliseconds(call):
        call()
        return 0.004

    monkeypatch.setattr(mlpbench.bench.peak, "_time_call", four_milliseconds)

    result = measure("float64", threads=1, size=200, min_seconds=0.01, max_seconds=1.0)

    assert result.size == 200
    assert result.gflops == pytest.approx(4.0, rel=1e-12)
    assert result.median_gflops == pytest.approx(4.0, rel=1e-12)
    assert result.seconds == pytest.approx(0.004 * result.repeats)


def _durations_from(monkeypatch, durations: list[float]) -> None:
    """Make the peak's timed calls "take" the given seconds in turn, then 4 ms each."""
    import mlpbench.bench.peak

    remaining = list(durations)

    def timed(call):
        call()
        return remaining.pop(0) if remaining else 0.004

    monkeypatch.setattr(mlpbench.bench.peak, "_time_call", timed)


def test_peak_keeps_size_after_stall(monkeypatch):
    # Five probe calls, then a first full-size call of 1 s, over the 0.3 s call budget.
    _durations_from(monkeypatch, [0.004] * 5 + [1.0])

    result = measure_matmul_peak("float64", threads=1, size=200, min_seconds=0.01, max_seconds=3.0)

    assert result.size == 200


def test_peak_is_fastest_call(monkeypatch):
    # Five probe calls and the warm-up, then timed calls of 2, 4 and 8 ms: a 200 x 200
    # float64 product (16 MFLOP) then runs at 8, 4 and 2 GFLOP/s.
    _durations_from(monkeypatch, [0.004] * 6 + [0.002, 0.004, 0.008])

    result = measure_matmul_peak("float64", threads=1, size=200, min_seconds=0.01, max_seconds=3.0)

    assert result.repeats == 3
    assert result.gflops == pytest.approx(8.0, rel=1e-12)
    assert result.median_gflops == pytest.approx(4.0, rel=1e-12)


def test_peak_shrinks_after_two_stalls(monkeypatch):
    _durations_from(monkeypatch, [0.004] * 5 + [1.0, 1.0])

    result = measure_matmul_peak("float64", threads=1, size=200, min_seconds=0.01, max_seconds=3.0)

    # 200 * (0.8 * 0.3 / 1.0) ** (1 / 3) is 124, capped at half the side.
    assert result.size == 100


def test_peak_shrinks_size_for_small_budget():
    # One float64 2048 product is 17 GFLOP; a 5 ms per-call budget forces a smaller size.
    result = measure_matmul_peak("float64", threads=1, size=2048, min_seconds=0.0, max_seconds=0.05)
    assert result.size < 2048
    assert result.dtype == "float64"


def test_torch_peak_restores_thread_count():
    import torch

    before = torch.get_num_threads()
    measure_torch_matmul_peak("float64", threads=1, size=64, min_seconds=0.01, max_seconds=1.0)
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    "kwargs",
    [
        {"dtype": "float16"},
        {"threads": 0},
        {"size": 0},
        {"min_seconds": 5.0, "max_seconds": 1.0},
    ],
)
def test_peak_rejects_invalid(kwargs):
    with pytest.raises(ValueError):
        measure_matmul_peak(**kwargs)


# --- Environment -------------------------------------------------------------


def test_environment_serializable():
    environment = collect_environment(threads=1)
    text = json.dumps(environment)
    loaded = json.loads(text)
    assert loaded["numpy"] == np.__version__
    assert loaded["threads"] == 1
    assert len(loaded["blas"]) >= 1
    assert loaded["blas"][0]["num_threads"] == 1
    assert loaded["cpu"]["logical_cores"] >= 1
    assert loaded["timestamp_utc"].endswith("+00:00")


def test_environment_names_each_engines_blas():
    import torch

    environment = collect_environment(threads=1)

    # NumPy's own copy of OpenBLAS is the one the numpy engine calls.
    numpy_blas = [pool for pool in environment["blas"] if pool["package"] == "numpy"]
    assert len(numpy_blas) == 1
    assert numpy_blas[0]["file"] in {Path(path).name for path in _loaded_libraries()}
    # PyTorch's BLAS is read from its build configuration, as torch reports it.
    assert environment["torch"]["blas"]
    assert f"BLAS_INFO={environment['torch']['blas']}" in torch.__config__.show()
    assert environment["torch"]["num_interop_threads"] == torch.get_num_interop_threads()


def _loaded_libraries():
    with open("/proc/self/maps", encoding="utf-8") as handle:
        return {line.split()[-1] for line in handle if "/" in line.split()[-1]}


@pytest.mark.parametrize(
    ("path", "package"),
    [
        ("/v/lib/python3.11/site-packages/numpy.libs/libscipy_openblas64_-32a4b2a6.so", "numpy"),
        ("/v/lib/python3.11/site-packages/scipy.libs/libscipy_openblas-6cdc3b4a.so", "scipy"),
        ("/v/lib/python3.11/site-packages/torch/lib/libgomp.so.1", "torch"),
        ("/usr/lib/python3/dist-packages/numpy/core/libopenblas.so", "numpy"),
        ("/usr/lib/x86_64-linux-gnu/libopenblas.so.0", None),
        ("/v/site-packages/libstray.so", None),
    ],
)
def test_shipping_package(path, package):
    assert shipping_package(Path(path)) == package


# --- Statistics --------------------------------------------------------------


def test_summarize_known_values():
    summary = summarize([5.0, 1.0, 4.0, 2.0, 3.0])
    assert summary["n"] == 5
    assert summary["median"] == 3.0
    assert summary["q1"] == 2.0
    assert summary["q3"] == 4.0
    assert summary["iqr"] == 2.0
    assert summary["relative_spread"] == pytest.approx(2.0 / 3.0)
    assert summary["min"] == 1.0
    assert summary["max"] == 5.0
    assert summary["mean"] == 3.0
    assert summary["values"] == [5.0, 1.0, 4.0, 2.0, 3.0]


def test_summarize_skewed_values():
    # One slow value: the median stays at the middle value, the mean moves.
    summary = summarize([1.0, 1.0, 2.0, 2.0, 14.0])
    assert summary["median"] == 2.0
    assert summary["mean"] == 4.0
    assert summary["q1"] == 1.0
    assert summary["q3"] == 2.0
    assert summary["relative_spread"] == 0.5


def test_summarize_rejects_empty_and_nan():
    with pytest.raises(ValueError):
        summarize([])
    with pytest.raises(ValueError):
        summarize([1.0, float("nan")])


def test_spread_warning_spread_and_tight():
    spread = summarize([1.0, 1.5, 2.0, 2.5, 3.0])
    tight = summarize([1.00, 1.01, 1.02, 0.99, 1.00])
    message = spread_warning(spread)
    assert message is not None
    assert "50%" in message
    assert spread_warning(tight) is None



def test_spread_warning_names_steady_slowdown():
    # scikit-learn at batch 64 on Fashion-MNIST: each run's second epoch is slower.
    runs = [[0.714, 0.833], [0.715, 0.838], [0.668, 0.770], [0.646, 0.756]]
    summary = summarize([seconds for run in runs for seconds in run])
    slowdown = later_epoch_slowdown(runs)

    message = spread_warning(summary, slowdown=slowdown)

    assert slowdown == pytest.approx(1.1685, abs=1e-4)
    assert message.startswith("timings vary by 11% (IQR/median), probably because training itself slowed")
    assert "median 1.17 times the first" in message
    assert "machine may be busy" not in message


@pytest.mark.parametrize(
    "runs",
    [
        [[0.7, 0.83], [0.7, 0.70], [0.6, 0.75]],  # one run without the slowdown
        [[0.7, 0.83], [0.6, 0.75]],  # two runs: chance does this too often
        [[0.7], [0.9], [0.8]],  # one epoch per run
        [[0.9, 0.7], [0.9, 0.6], [0.8, 0.7]],  # later epochs faster
    ],
)
def test_later_epoch_slowdown_not_found(runs):
    assert later_epoch_slowdown(runs) is None


def test_spread_warning_blames_machine_without_slowdown():
    summary = summarize([1.0, 1.5, 2.0, 2.5, 3.0])

    assert "so the machine may be busy" in spread_warning(summary)


# --- Memory ------------------------------------------------------------------


def test_peak_rss_grows_with_allocation():
    before_peak = peak_rss_bytes()
    before_current = current_rss_bytes()
    array = np.ones(50 * 1024 * 1024 // 8)  # 50 MiB, every page written
    during_current = current_rss_bytes()
    after_peak = peak_rss_bytes()

    assert before_peak > 0
    assert after_peak >= before_peak
    assert during_current - before_current >= 40 * 1024 * 1024
    # Both in bytes, so the peak is about the current size or above. The kernel's RSS
    # counters are batched per CPU, so the two readings can differ by a few pages.
    assert after_peak >= 0.9 * during_current
    assert array[-1] == 1.0


# --- Plots -------------------------------------------------------------------


def _assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 0
    assert image.shape[1] > 0
    # Only the finished PNG remains; no temporary file is left beside it.
    assert [entry.name for entry in path.parent.iterdir()] == [path.name]


def test_plot_loss_curves_with_empty_engine(tmp_path):
    path = plot_loss_curves(
        {"numpy": [2.3, 1.1, 0.7], "torch": [2.3, 1.0, 0.65], "failed": []},
        tmp_path / "loss.png",
    )
    assert path == tmp_path / "loss.png"
    _assert_png(path)


def test_plot_loss_curves_all_empty(tmp_path):
    _assert_png(plot_loss_curves({"numpy": []}, tmp_path / "loss.png"))


def test_plot_epoch_times_with_empty_engine(tmp_path):
    path = plot_epoch_times(
        {"numpy": [1.2, 1.0, 1.1], "torch": [0.4, 0.5, 0.45], "failed": []},
        tmp_path / "times.png",
    )
    _assert_png(path)


def test_plot_epoch_times_all_empty(tmp_path):
    _assert_png(plot_epoch_times({}, tmp_path / "times.png"))


def _drawn_figure(monkeypatch, plot, *arguments, **keywords):
    """Run ``plot`` and return the Figure it saved, drawn so that its ticks are final."""
    import mlpbench.bench.plots

    saved = []
    original = mlpbench.bench.plots._save

    def keep(figure, path):
        saved.append(figure)
        return original(figure, path)

    monkeypatch.setattr(mlpbench.bench.plots, "_save", keep)
    plot(*arguments, **keywords)
    (figure,) = saved
    figure.canvas.draw()
    return figure


def test_loss_plot_labels_log_axis_plainly(tmp_path, monkeypatch):
    curves = {"numpy": [0.62, 0.584], "torch": [0.62, 0.584]}
    axes = _drawn_figure(monkeypatch, plot_loss_curves, curves, tmp_path / "loss.png").axes[0]

    assert axes.get_yscale() == "log"
    assert axes.get_ylabel() == "mean training loss (log scale)"
    labels = [label.get_text() for label in axes.get_yticklabels(minor=True) if label.get_text()]
    assert labels, "a range inside one decade needs labelled minor ticks"
    assert all("10^" not in label and "e-" not in label for label in labels), labels
    assert [tick.get_text() for tick in axes.get_xticklabels()] == ["1", "2"]


def test_log_axis_within_decade_labels_2_3_5(tmp_path, monkeypatch):
    # 15 to 150 contains one power of ten, so minor ticks carry labels, but only some.
    curves = {"numpy": [150.0, 90.0, 40.0, 15.0]}
    axes = _drawn_figure(monkeypatch, plot_loss_curves, curves, tmp_path / "loss.png").axes[0]

    labels = [label.get_text() for label in axes.get_yticklabels(minor=True) if label.get_text()]
    assert {"20", "30", "50"} <= set(labels), labels
    assert not {"40", "60", "70", "80", "90"} & set(labels), labels


def test_epoch_time_whiskers_skip_outlier(tmp_path, monkeypatch):
    times = {"torch-dataloader": [0.014] * 5 + [1.85]}
    axes = _drawn_figure(monkeypatch, plot_epoch_times, times, tmp_path / "times.png").axes[0]

    # One slow epoch among six leaves the 75th percentile, and so the axis, near 14 ms.
    assert axes.get_ylabel() == "milliseconds per epoch"
    assert axes.get_ylim()[1] < 100


def test_epoch_time_axis_in_seconds_above_one(tmp_path, monkeypatch):
    times = {"numpy": [1.2, 1.3, 1.25], "torch": [0.4, 0.5, 0.45]}
    axes = _drawn_figure(monkeypatch, plot_epoch_times, times, tmp_path / "times.png").axes[0]

    assert axes.get_ylabel() == "seconds per epoch"
    assert 1.25 < axes.get_ylim()[1] < 2


def test_plot_accuracy_with_empty_engine(tmp_path):
    path = plot_accuracy(
        {"numpy": [0.97, 0.975, 0.972], "torch": [0.971], "failed": []},
        tmp_path / "accuracy.png",
    )
    _assert_png(path)


def test_plot_accuracy_rejects_percentages(tmp_path):
    with pytest.raises(ValueError, match="divide percentages by 100"):
        plot_accuracy({"numpy": [97.0]}, tmp_path / "accuracy.png")
    assert list(tmp_path.iterdir()) == []


def test_plot_sweep_with_peak_line(tmp_path):
    points = [
        {"engine": "numpy", "batch_size": 32, "gflops": 10.0},
        {"engine": "numpy", "batch_size": 128, "gflops": 30.0},
        {"engine": "torch", "batch_size": 32, "gflops": 15.0},
        {"engine": "torch", "batch_size": 128, "gflops": 40.0},
        {"engine": "failed", "batch_size": 32, "gflops": None},
    ]
    path = plot_sweep(
        points,
        "batch_size",
        "gflops",
        "engine",
        tmp_path / "sweep.png",
        hline=100.0,
        hline_label="measured peak",
        title="Throughput",
        ylabel="GFLOP/s",
    )
    _assert_png(path)


def test_plot_sweep_labels_log_axes_plainly(tmp_path, monkeypatch):
    points = [
        {"engine": "numpy", "batch_size": 16, "seconds": 0.062},
        {"engine": "numpy", "batch_size": 1024, "seconds": 0.03},
        {"engine": "torch", "batch_size": 16, "seconds": 0.143},
        {"engine": "torch", "batch_size": 1024, "seconds": 0.034},
    ]
    arguments = (points, "batch_size", "seconds", "engine", tmp_path / "sweep.png")
    axes = _drawn_figure(monkeypatch, plot_sweep, *arguments).axes[0]

    assert axes.get_xlabel() == "batch_size (log scale)"
    assert axes.get_ylabel() == "seconds (log scale)"
    labels = [label.get_text() for label in axes.get_yticklabels(minor=True) if label.get_text()]
    labels += [label.get_text() for label in axes.get_yticklabels() if label.get_text()]
    assert labels
    assert all("10^" not in label and "times" not in label for label in labels), labels


def test_sweep_plot_legend_fits_with_long_labels(tmp_path, monkeypatch):
    # Two engines, the peak line and the ring of slowed points, as a busy sweep draws them.
    points = [
        {"engine": engine, "batch_size": batch, "gflops": scale * batch / 10, "slowed": batch == 256}
        for engine, scale in (("numpy", 1.0), ("torch", 0.7))
        for batch in (16, 64, 256, 1024)
    ]
    arguments = (points, "batch_size", "gflops", "engine", tmp_path / "sweep.png")
    figure = _drawn_figure(
        monkeypatch,
        plot_sweep,
        *arguments,
        hline=15.9,
        hline_label="NumPy matmul peak (1024x1024): 15.9 GFLOP/s",
        flag="slowed",
        flag_label="CPU wait or steal: probably slowed",
    )

    legend = figure.legends[0].get_window_extent()
    page = figure.bbox
    assert len(figure.legends[0].get_texts()) == 4
    assert page.x0 <= legend.x0, (legend, page)
    assert legend.x1 <= page.x1, (legend, page)


def test_sweep_plot_labels_minor_ticks(tmp_path, monkeypatch):
    # 15 to 230 GFLOP/s holds only one power of ten, 100, so minor ticks need labels too.
    points = [
        {"engine": "numpy", "batch_size": 16, "gflops": 60.0},
        {"engine": "torch", "batch_size": 16, "gflops": 15.0},
        {"engine": "torch", "batch_size": 1024, "gflops": 150.0},
    ]
    arguments = (points, "batch_size", "gflops", "engine", tmp_path / "sweep.png")
    axes = _drawn_figure(monkeypatch, plot_sweep, *arguments, hline=230.0).axes[0]

    labels = [label.get_text() for label in axes.get_yticklabels(minor=True) if label.get_text()]
    labels += [label.get_text() for label in axes.get_yticklabels() if label.get_text()]
    assert "20" in labels
    assert "100" in labels


def test_plot_sweep_draws_whiskers_from_spread_columns(tmp_path, monkeypatch):
    points = [
        {"engine": "numpy", "batch_size": 16, "seconds": 0.06, "q1": 0.05, "q3": 0.08},
        {"engine": "numpy", "batch_size": 64, "seconds": 0.03, "q1": 0.028, "q3": 0.031},
        # A row without quartiles (an older file) keeps its point and gets no whisker.
        {"engine": "torch", "batch_size": 16, "seconds": 0.14},
    ]
    arguments = (points, "batch_size", "seconds", "engine", tmp_path / "sweep.png")
    axes = _drawn_figure(monkeypatch, plot_sweep, *arguments, spread=("q1", "q3")).axes[0]

    from matplotlib.collections import LineCollection

    (bars,) = [item for item in axes.collections if isinstance(item, LineCollection)]
    ends = sorted((float(segment[0][1]), float(segment[1][1])) for segment in bars.get_segments())
    assert [end for pair in ends for end in pair] == pytest.approx([0.028, 0.031, 0.05, 0.08])
    # The row without quartiles keeps its point on the torch line.
    torch_line = next(line for line in axes.get_lines() if line.get_label() == "torch")
    assert list(torch_line.get_xdata()) == [16.0]
    assert list(torch_line.get_ydata()) == [0.14]


def test_plot_sweep_rings_flagged_points(tmp_path, monkeypatch):
    points = [
        {"engine": "numpy", "batch_size": 16, "seconds": 0.06, "slowed": False},
        {"engine": "numpy", "batch_size": 1024, "seconds": 0.14, "slowed": True},
        # A failed run has no time, so it gets no ring either.
        {"engine": "torch", "batch_size": 1024, "seconds": None, "slowed": True},
    ]
    arguments = (points, "batch_size", "seconds", "engine", tmp_path / "sweep.png")
    figure = _drawn_figure(monkeypatch, plot_sweep, *arguments, flag="slowed", flag_label="probably slowed")
    axes = figure.axes[0]

    from matplotlib.collections import PathCollection

    (rings,) = [item for item in axes.collections if isinstance(item, PathCollection)]
    assert rings.get_offsets().tolist() == [[1024.0, 0.14]]
    assert rings.get_label() == "probably slowed"


def test_plot_sweep_no_rows(tmp_path):
    _assert_png(plot_sweep([], "batch_size", "seconds", "engine", tmp_path / "sweep.png"))


def test_plot_sweep_loglog_rejects_zero(tmp_path):
    points = [{"engine": "numpy", "batch_size": 0, "seconds": 1.0}]
    with pytest.raises(ValueError, match="loglog=False"):
        plot_sweep(points, "batch_size", "seconds", "engine", tmp_path / "sweep.png")
    linear = plot_sweep(
        points, "batch_size", "seconds", "engine", tmp_path / "sweep.png", loglog=False
    )
    _assert_png(linear)
