"""CPU time that other processes and the hypervisor took while a benchmark ran.

Timings on a shared machine are only as good as the share of the CPU the
benchmark had. Linux counts the busy time of every CPU in ``/proc/stat``, and the
time a virtual machine waited for its host in its ``steal`` column. Subtracting
this process's own CPU time (``os.times``) from the busy time leaves what other
processes used. Both are reported as shares of the machine's capacity: the
logical CPUs times the wall-clock time. On systems without ``/proc/stat`` nothing
is measured.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

STAT_PATH = "/proc/stat"

OTHER_SHARE_WARNING = 0.2
"""Share of the machine's CPU time used by other processes that gets a warning."""

STEAL_SHARE_WARNING = 0.1
"""Share of the machine's CPU time taken by the hypervisor (steal) that gets a warning."""


@dataclasses.dataclass(frozen=True)
class CpuSample:
    """Cumulative CPU counters at one moment, in seconds."""

    wall: float
    busy: float
    steal: float
    own: float
    cpus: int


def cpu_sample(stat_path: str = STAT_PATH) -> CpuSample | None:
    """Read the machine's and this process's CPU time; return None where ``/proc/stat`` is missing."""
    try:
        with open(stat_path, encoding="ascii") as stat:
            first = stat.readline().split()
    except OSError:
        return None
    if not first or first[0] != "cpu" or len(first) < 9:
        return None
    # The first eight fields, as proc(5) lists them. Guest time is left out because the
    # kernel's account_guest_time (kernel/sched/cputime.c) adds it to user as well.
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in first[1:9])
    ticks = os.sysconf("SC_CLK_TCK")
    times = os.times()
    return CpuSample(
        wall=time.monotonic(),
        busy=(user + nice + system + irq + softirq) / ticks,
        steal=steal / ticks,
        own=times.user + times.system,
        cpus=os.cpu_count() or 1,
    )


def contention(before: CpuSample | None, after: CpuSample | None) -> dict[str, Any] | None:
    """Return the shares of CPU time that others took between two samples, or None if unmeasured.

    The dict has ``seconds`` (wall-clock time), ``logical_cpus``,
    ``other_processes_share`` (busy time not spent by this process) and
    ``steal_share``, each share a fraction of ``logical_cpus * seconds``.
    """
    if before is None or after is None or after.wall <= before.wall:
        return None
    capacity = before.cpus * (after.wall - before.wall)
    # The counters advance in clock ticks (SC_CLK_TCK per second), so over a short
    # interval the difference can come out slightly negative.
    others = max(0.0, (after.busy - before.busy) - (after.own - before.own))
    steal = max(0.0, after.steal - before.steal)
    return {
        "seconds": after.wall - before.wall,
        "logical_cpus": before.cpus,
        "other_processes_share": min(1.0, others / capacity),
        "steal_share": min(1.0, steal / capacity),
    }


def describe_contention(measured: dict[str, Any] | None) -> str:
    """Return one sentence on the CPU time others took, for the terminal and the report."""
    if measured is None:
        return "CPU time taken by other processes: not measured (no /proc/stat on this system)."
    return (
        f"CPU time taken by others while this ran: other processes "
        f"{measured['other_processes_share']:.0%}, the hypervisor (steal) "
        f"{measured['steal_share']:.0%}, of {measured['logical_cpus']} logical CPU(s) over "
        f"{measured['seconds']:.1f} s."
    )


def contention_warnings(measured: dict[str, Any] | None) -> list[str]:
    """Warn when other processes or the hypervisor took enough CPU time to slow the timings."""
    if measured is None:
        return []
    messages = []
    cpus = measured["logical_cpus"]
    if measured["other_processes_share"] > OTHER_SHARE_WARNING:
        messages.append(
            f"other processes used {measured['other_processes_share']:.0%} of the CPU time of "
            f"the {cpus} logical CPU(s) while this ran, so the timings are probably slower and "
            "less steady than on a quiet machine; stop other work and rerun"
        )
    if measured["steal_share"] > STEAL_SHARE_WARNING:
        messages.append(
            f"the hypervisor withheld {measured['steal_share']:.0%} of the CPU time (steal) while "
            "this ran, so this virtual machine's host was busy and the timings are probably "
            "slowed; rerun later or on another machine"
        )
    return messages
