"""How long this process waited for a CPU while a benchmark ran, and the hypervisor's steal time.

A thread that is ready to run but finds no free CPU among those it may use waits
in the kernel's run queue. Linux reports, per thread, the time on a CPU and the
time spent waiting in ``/proc/self/task/TID/schedstat``. When other processes,
or more threads than CPUs, compete for this process's CPUs, the waiting grows
and the timings slow down. Busy CPUs that the process does not need, such as the
second core under ``--threads 1``, cause no waiting and so count for nothing.

In a virtual machine the host can also hold back a whole virtual CPU. The guest
cannot see that as waiting; it is the ``steal`` column of ``/proc/stat``, counted
for the whole machine.

A CPU quota of a container (cgroup throttling) also shows as waiting. Where the
files are missing (not Linux), or a kernel without scheduler statistics reports
zeros, the figures are None.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from pathlib import Path
from typing import Any

STAT_PATH = "/proc/stat"
TASKS_PATH = "/proc/self/task"

WAIT_SHARE_WARNING = 0.1
"""Share of its ready time that this process's threads, or its busiest thread, spent waiting for a CPU,
that gets a warning."""

BUSY_THREAD_SHARE = 0.1
"""A thread counts as busy when it was ready to run for at least this share of the wall-clock time."""

STEAL_SHARE_WARNING = 0.1
"""Share of the machine's CPU time taken by the hypervisor (steal) that gets a warning."""


@dataclasses.dataclass(frozen=True)
class CpuSample:
    """Counters at one moment: per-thread (run, wait) seconds, and the machine's steal seconds."""

    wall: float
    threads: dict[str, tuple[float, float]]
    steal: float | None
    cpus: int


def thread_times(tasks_path: str = TASKS_PATH) -> dict[str, tuple[float, float]] | None:
    """Return each thread's (seconds on a CPU, seconds waiting for one), or None if unreadable."""
    times = {}
    try:
        tids = os.listdir(tasks_path)
    except OSError:
        return None
    for tid in tids:
        try:
            fields = Path(tasks_path, tid, "schedstat").read_text(encoding="ascii").split()
        except OSError:
            # The thread ended since the folder was listed.
            continue
        if len(fields) >= 2:
            times[tid] = (int(fields[0]) / 1e9, int(fields[1]) / 1e9)
    return times or None


def steal_seconds(stat_path: str = STAT_PATH) -> float | None:
    """Return the machine's steal time from ``/proc/stat``, or None if unreadable."""
    try:
        with open(stat_path, encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    # cpu user nice system idle iowait irq softirq steal ... (proc(5)).
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    return int(fields[8]) / os.sysconf("SC_CLK_TCK")


def cpu_sample(tasks_path: str = TASKS_PATH, stat_path: str = STAT_PATH) -> CpuSample | None:
    """Read the counters now; return None where the per-thread counters are missing."""
    threads = thread_times(tasks_path)
    if threads is None:
        return None
    return CpuSample(
        wall=time.monotonic(), threads=threads, steal=steal_seconds(stat_path), cpus=os.cpu_count() or 1
    )


def contention(before: CpuSample | None, after: CpuSample | None) -> dict[str, Any] | None:
    """Return how much CPU time this process was denied between two samples, or None if unmeasured.

    The dict has these keys:

    - ``seconds``: the wall-clock time between the samples.
    - ``run_s`` and ``wait_s``: the threads' time on a CPU and waiting for one.
    - ``wait_share``: ``wait_s`` over the sum of both.
    - ``busiest_thread_wait_share``: the largest such share of one thread that was
      ready to run for at least ``BUSY_THREAD_SHARE`` of the time.
    - ``logical_cpus`` and ``steal_share``: steal over ``logical_cpus`` times
      ``seconds``, None without ``/proc/stat``.

    Threads that ended between the samples are left out, and threads that started
    count from their start.
    """
    if before is None or after is None or after.wall <= before.wall:
        return None
    seconds = after.wall - before.wall
    run = wait = busiest = 0.0
    for tid, (run_after, wait_after) in after.threads.items():
        run_before, wait_before = before.threads.get(tid, (0.0, 0.0))
        thread_run = max(0.0, run_after - run_before)
        thread_wait = max(0.0, wait_after - wait_before)
        run += thread_run
        wait += thread_wait
        # The main thread's long runs can hide waiting worker threads in the pooled share.
        if thread_run + thread_wait >= BUSY_THREAD_SHARE * seconds:
            busiest = max(busiest, thread_wait / (thread_run + thread_wait))
    if run == 0.0:
        # A kernel without scheduler statistics reports zeros.
        return None
    steal_share = None
    if before.steal is not None and after.steal is not None:
        steal_share = min(1.0, max(0.0, after.steal - before.steal) / (before.cpus * seconds))
    return {
        "seconds": seconds,
        "run_s": run,
        "wait_s": wait,
        "wait_share": wait / (run + wait),
        "busiest_thread_wait_share": busiest,
        "logical_cpus": before.cpus,
        "steal_share": steal_share,
    }


def largest_share(measured: dict[str, Any]) -> float:
    """Return the largest of the pooled wait, the busiest thread's wait and the steal share."""
    waiting = max(measured["wait_share"], measured["busiest_thread_wait_share"])
    return max(waiting, measured["steal_share"] or 0.0)


def _busy_thread_clause(measured: dict[str, Any]) -> str:
    """Name the busy thread that waited most, where it waited a larger share than all threads together.

    A busy thread is one ready to run for a tenth of the time or more (``BUSY_THREAD_SHARE``).
    One that waited less than the pooled share adds nothing, so it is not named.
    """
    pooled, busiest = measured["wait_share"], measured["busiest_thread_wait_share"]
    if busiest <= pooled or f"{busiest:.0%}" == f"{pooled:.0%}":
        return ""
    return f" (one busy thread {busiest:.0%})"


def describe_contention(measured: dict[str, Any] | None) -> str:
    """Return one sentence on the CPU time this process was denied, for the terminal and the report."""
    if measured is None:
        return "Waiting for a CPU: not measured (this system has no per-thread scheduler counters)."
    steal = "not measured" if measured["steal_share"] is None else f"{measured['steal_share']:.0%}"
    return (
        f"Waiting for a CPU: this process's threads waited {measured['wait_share']:.0%} of the time "
        f"they were ready to run{_busy_thread_clause(measured)}, "
        f"and the hypervisor held back {steal} of the machine's CPU time (steal), over "
        f"{measured['seconds']:.1f} s."
    )


def contention_warnings(measured: dict[str, Any] | None, *, measures_peak: bool) -> list[str]:
    """Warn when waiting for a CPU, or steal, was large enough to slow the timings.

    ``measures_peak`` adds that '% of peak' is unreliable too, for the commands
    that measure a matmul peak under the same load (compare and sweep).
    """
    if measured is None:
        return []
    peak = (
        ", and '% of peak' is unreliable because the peak was measured under the same load"
        if measures_peak
        else ""
    )
    messages = []
    pooled, busiest = measured["wait_share"], measured["busiest_thread_wait_share"]
    if max(pooled, busiest) > WAIT_SHARE_WARNING:
        messages.append(
            f"this process's threads waited for a CPU {pooled:.0%} of the time they were ready to "
            f"run{_busy_thread_clause(measured)}, because other processes, more threads than "
            "CPUs or a CPU quota held its CPUs, so the timings are probably slower than on a quiet "
            f"machine{peak}; stop other work or use fewer --threads, and rerun"
        )
    steal = measured["steal_share"]
    if steal is not None and steal > STEAL_SHARE_WARNING:
        messages.append(
            f"the hypervisor held back {steal:.0%} of the machine's CPU time (steal) while this ran, "
            f"so this virtual machine's host was busy and the timings are probably slowed{peak}; "
            "rerun later or on another machine"
        )
    return messages


def contention_label(measured: dict[str, Any] | None) -> str | None:
    """Return what probably slowed a measurement, such as ``CPU wait 45%`` or ``steal 30%``, else None.

    A measurement counts as slowed when its CPU waiting or the hypervisor's steal
    draws a contention warning. The larger of the two is named.
    """
    if measured is None or not contention_warnings(measured, measures_peak=False):
        return None
    share = largest_share(measured)
    steal = measured.get("steal_share") or 0.0
    percent = f"{share:.0%}"
    if percent == f"{WAIT_SHARE_WARNING:.0%}":
        # A share just above the limit would otherwise read as the limit itself, so it
        # is rounded up to a tenth of a percent.
        percent = f"{math.ceil(share * 1000) / 10:.1f}%"
    return f"steal {percent}" if steal >= share else f"CPU wait {percent}"


def max_run_contention(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Return the ``cpu_contention`` of the run with the largest waiting or steal share, or None."""
    measured = [run["cpu_contention"] for run in runs if run.get("cpu_contention")]
    return max(measured, key=largest_share, default=None)


def contention_share(measured: dict[str, Any] | None) -> float | None:
    """Return ``largest_share`` of a measurement, or None where it is unmeasured."""
    return None if not measured else largest_share(measured)
