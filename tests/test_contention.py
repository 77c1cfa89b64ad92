"""Tests of the CPU time a benchmark's threads waited for, and of the hypervisor's steal time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlpbench.bench.contention import (
    CpuSample,
    contention,
    contention_label,
    contention_warnings,
    cpu_sample,
    describe_contention,
    largest_share,
    steal_seconds,
    thread_times,
)

TICKS = os.sysconf("SC_CLK_TCK")
MEASURABLE = cpu_sample() is not None


def write_tasks(folder: Path, times: dict[str, tuple[int, int]]) -> Path:
    """Write a /proc/self/task-like folder, where TID/schedstat contains 'run_ns wait_ns timeslices'."""
    for tid, (run, wait) in times.items():
        (folder / tid).mkdir(parents=True)
        (folder / tid / "schedstat").write_text(f"{run} {wait} 7\n", encoding="ascii")
    return folder


def test_thread_times_read_each_thread(tmp_path: Path):
    tasks = write_tasks(tmp_path / "task", {"101": (3_000_000_000, 500_000_000), "102": (1_000_000_000, 0)})

    assert thread_times(str(tasks)) == {"101": (3.0, 0.5), "102": (1.0, 0.0)}


def test_thread_times_none_without_folder(tmp_path: Path):
    assert thread_times(str(tmp_path / "absent")) is None
    assert cpu_sample(str(tmp_path / "absent")) is None


def test_steal_read_from_eighth_field(tmp_path: Path):
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal guest guest_nice
    stat.write_text("cpu  300 0 100 5000 0 0 0 50 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n", encoding="ascii")

    assert steal_seconds(str(stat)) == pytest.approx(50 / TICKS)


@pytest.mark.parametrize("text", [None, "", "intr 1 2 3\n", "cpu 1 2 3\n"])
def test_steal_none_without_usable_stat(tmp_path: Path, text: str | None):
    stat = tmp_path / "stat"
    if text is not None:
        stat.write_text(text, encoding="ascii")

    assert steal_seconds(str(stat)) is None


def sample(wall: float, threads: dict[str, tuple[float, float]], steal: float | None = 0.0) -> CpuSample:
    return CpuSample(wall=wall, threads=threads, steal=steal, cpus=2)


def test_waiting_summed_over_threads():
    before = sample(100.0, {"1": (10.0, 1.0), "2": (5.0, 0.5), "gone": (9.0, 9.0)}, steal=1.0)
    # Thread 1 ran 6 s and waited 2 s, thread 2 ran 4 s, thread 3 started and waited 2 s,
    # and the ended thread counts for nothing.
    after = sample(110.0, {"1": (16.0, 3.0), "2": (9.0, 0.5), "3": (0.0, 2.0)}, steal=3.0)

    measured = contention(before, after)

    assert measured is not None
    assert measured["run_s"] == pytest.approx(10.0)
    assert measured["wait_s"] == pytest.approx(4.0)
    assert measured["wait_share"] == pytest.approx(4.0 / 14.0)
    # Thread 3 was ready for 2 s, at least a tenth of the 10 s, and waited all of it.
    assert measured["busiest_thread_wait_share"] == pytest.approx(1.0)
    assert measured["steal_share"] == pytest.approx(2.0 / 20.0)
    assert measured["seconds"] == pytest.approx(10.0)


def test_steal_unmeasured_without_stat():
    before = sample(0.0, {"1": (0.0, 0.0)}, steal=None)

    measured = contention(before, sample(1.0, {"1": (1.0, 0.0)}, steal=None))

    assert measured is not None
    assert measured["steal_share"] is None
    assert "held back not measured" in describe_contention(measured)


def test_busiest_thread_ignores_short_lived_threads():
    before = sample(0.0, {"main": (0.0, 0.0)})
    # The worker waited 30% of its 5 s; the helper thread waited all of its 0.5 s, under a tenth of 10 s.
    after = sample(10.0, {"main": (9.5, 0.5), "worker": (3.5, 1.5), "helper": (0.0, 0.5)})

    measured = contention(before, after)

    assert measured is not None
    assert measured["busiest_thread_wait_share"] == pytest.approx(0.3)
    assert measured["wait_share"] == pytest.approx(2.5 / 15.5)


@pytest.mark.parametrize(
    ("wait", "busiest", "steal", "largest"),
    [(0.05, 0.2, 0.1, 0.2), (0.3, 0.1, None, 0.3), (0.0, 0.01, 0.4, 0.4)],
)
def test_largest_share_of_three(wait: float, busiest: float, steal: float | None, largest: float):
    measured = {"wait_share": wait, "busiest_thread_wait_share": busiest, "steal_share": steal}

    assert largest_share(measured) == largest


def test_zero_counters_mean_unmeasured():
    # What a kernel without scheduler statistics reports.
    assert contention(sample(0.0, {"1": (0.0, 0.0)}), sample(5.0, {"1": (0.0, 0.0)})) is None


@pytest.mark.parametrize("after", [None, sample(90.0, {"1": (1.0, 0.0)})])
def test_contention_unmeasured(after: CpuSample | None):
    assert contention(sample(100.0, {"1": (0.0, 0.0)}), after) is None
    assert contention(None, after) is None
    assert "not measured" in describe_contention(None)


@pytest.mark.parametrize(
    ("wait", "busiest", "clause"),
    [(0.04, 0.02, ""), (0.30, 0.302, ""), (0.06, 0.15, " (one busy thread 15%)")],
    ids=["below-pooled", "same-percent", "above-pooled"],
)
def test_busy_thread_named_only_above_pooled_share(wait: float, busiest: float, clause: str):
    # A busy thread that waited less than all threads together adds nothing, and read as a contradiction.
    measured = {"seconds": 5.0, "run_s": 1.0, "wait_s": 1.0, "wait_share": wait, "logical_cpus": 2}
    measured.update(busiest_thread_wait_share=busiest, steal_share=0.0)

    line = describe_contention(measured)

    assert f"waited {wait:.0%} of the time they were ready to run{clause}, and the hypervisor" in line


@pytest.mark.parametrize(
    ("wait", "busiest", "steal", "expected"),
    [
        (0.05, 0.08, 0.0, []),
        (0.3, 0.3, None, ["waited for a CPU 30%"]),
        (0.06, 0.15, 0.0, ["6% of the time they were ready to run (one busy thread 15%)"]),
        (0.0, 0.0, 0.15, ["held back 15%"]),
    ],
)
def test_warnings_follow_thresholds(wait: float, busiest: float, steal: float | None, expected: list[str]):
    measured = {"seconds": 5.0, "run_s": 1.0, "wait_s": 1.0, "wait_share": wait, "logical_cpus": 2}
    measured.update(busiest_thread_wait_share=busiest, steal_share=steal)

    messages = contention_warnings(measured, measures_peak=True)

    assert len(messages) == len(expected)
    for message, fragment in zip(messages, expected, strict=True):
        assert fragment in message
        # The peak is measured in the same process under the same load.
        assert "'% of peak' is unreliable because the peak was measured under the same load" in message


def spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def spin_beside(own_cpu: int, spinner_cpu: int, seconds: float) -> dict | None:
    """Spin on ``own_cpu`` while another process spins on ``spinner_cpu``; return the contention."""
    allowed = os.sched_getaffinity(0)
    command = [sys.executable, "-c", "while True: pass"]
    spinner = subprocess.Popen(command)
    try:
        os.sched_setaffinity(spinner.pid, {spinner_cpu})
        os.sched_setaffinity(0, {own_cpu})
        time.sleep(0.2)
        before = cpu_sample()
        spin(seconds)
        after = cpu_sample()
    finally:
        os.sched_setaffinity(0, allowed)
        spinner.kill()
        spinner.wait()
    return contention(before, after)


LINUX_AFFINITY = MEASURABLE and hasattr(os, "sched_setaffinity")


@pytest.mark.skipif(not LINUX_AFFINITY, reason="needs Linux counters and CPU affinity")
def test_shared_cpu_makes_threads_wait():
    cpu = min(os.sched_getaffinity(0))

    measured = spin_beside(cpu, cpu, 1.5)

    assert measured is not None
    # Two busy threads on one CPU: each waits about half the time.
    assert measured["wait_share"] > 0.25
    assert contention_warnings(measured, measures_peak=True)


@pytest.mark.parametrize(
    ("wait", "steal", "expected"),
    [
        (0.45, 0.0, "CPU wait 45%"),
        # Just above the 10% limit: one decimal, so that it does not read as the limit.
        (0.104, 0.0, "CPU wait 10.4%"),
        (0.1001, 0.0, "CPU wait 10.1%"),
        (0.02, 0.3, "steal 30%"),
        (0.05, 0.0, None),
    ],
)
def test_contention_label(wait: float, steal: float, expected: str | None):
    measured = {"wait_share": wait, "busiest_thread_wait_share": wait, "steal_share": steal}

    assert contention_label(measured) == expected
