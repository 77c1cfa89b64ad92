"""Tests of the CPU time that other processes and the hypervisor take during a benchmark."""

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
    contention_warnings,
    cpu_sample,
    describe_contention,
)

TICKS = os.sysconf("SC_CLK_TCK")


def write_stat(path: Path, user: int, system: int, idle: int, steal: int) -> Path:
    # The first line of /proc/stat: user nice system idle iowait irq softirq steal guest guest_nice.
    path.write_text(
        f"cpu  {user} 0 {system} {idle} 0 0 0 {steal} 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n", encoding="ascii"
    )
    return path


def test_sample_reads_busy_and_steal(tmp_path: Path):
    stat = write_stat(tmp_path / "stat", user=300, system=100, idle=5000, steal=50)

    sample = cpu_sample(str(stat))

    assert sample is not None
    assert sample.busy == pytest.approx(400 / TICKS)
    assert sample.steal == pytest.approx(50 / TICKS)
    assert sample.cpus == os.cpu_count()


@pytest.mark.parametrize("text", [None, "", "intr 1 2 3\n", "cpu 1 2 3\n"])
def test_sample_none_without_usable_stat(tmp_path: Path, text: str | None):
    stat = tmp_path / "stat"
    if text is not None:
        stat.write_text(text, encoding="ascii")

    assert cpu_sample(str(stat)) is None


def sample(wall: float, busy: float, own: float, steal: float = 0.0, cpus: int = 2) -> CpuSample:
    return CpuSample(wall=wall, busy=busy, steal=steal, own=own, cpus=cpus)


def test_own_time_not_counted_as_others():
    # 10 s on 2 CPUs: 12 s busy, of which this process used 9 s, so others used 3 s of 20.
    measured = contention(sample(100.0, 50.0, 4.0, steal=1.0), sample(110.0, 62.0, 13.0, steal=3.0))

    assert measured is not None
    assert measured["other_processes_share"] == pytest.approx(3 / 20)
    assert measured["steal_share"] == pytest.approx(2 / 20)
    assert measured["seconds"] == pytest.approx(10.0)
    assert measured["logical_cpus"] == 2


def test_counter_rounding_never_negative():
    # Busy time counted in ticks can lag the process's own time over a short interval.
    measured = contention(sample(0.0, 10.0, 1.0), sample(0.5, 10.9, 2.0))

    assert measured is not None
    assert measured["other_processes_share"] == 0.0


@pytest.mark.parametrize("after", [None, sample(100.0, 60.0, 5.0)])
def test_contention_unmeasured(after: CpuSample | None):
    assert contention(sample(100.0, 50.0, 4.0), after) is None
    assert contention(None, after) is None


@pytest.mark.parametrize(
    ("other", "steal", "expected"),
    [(0.05, 0.0, []), (0.3, 0.0, ["other processes used 30%"]), (0.0, 0.15, ["withheld 15%"])],
)
def test_warnings_follow_thresholds(other: float, steal: float, expected: list[str]):
    measured = {"seconds": 5.0, "logical_cpus": 2, "other_processes_share": other, "steal_share": steal}

    messages = contention_warnings(measured)

    assert len(messages) == len(expected)
    for message, fragment in zip(messages, expected, strict=True):
        assert fragment in message


def test_description_without_measurement():
    assert "not measured" in describe_contention(None)


@pytest.mark.skipif(cpu_sample() is None, reason="needs /proc/stat")
def test_busy_process_is_measured():
    before = cpu_sample()
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.5)
        after = cpu_sample()
    finally:
        spinner.kill()
        spinner.wait()

    measured = contention(before, after)

    assert measured is not None
    # One spinning process keeps one CPU busy; other load on the machine only adds to it.
    assert measured["other_processes_share"] >= 0.7 / measured["logical_cpus"]
