"""What the kernel counts for a process tree: CPU time and peak resident memory (Linux /proc)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuTimes:
    """CPU seconds in user space and in the kernel on behalf of a process tree."""

    user_s: float
    system_s: float

    @property
    def total_s(self) -> float:
        return self.user_s + self.system_s

    def __sub__(self, earlier: CpuTimes) -> CpuTimes:
        return CpuTimes(self.user_s - earlier.user_s, self.system_s - earlier.system_s)


@dataclass(frozen=True)
class _Stat:
    ppid: int
    # utime and stime of every thread, plus cutime and cstime: children waited for.
    user_ticks: int
    system_ticks: int


def _stat(pid: int) -> _Stat | None:
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces and parentheses: fields follow its last ")".
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return _Stat(ppid=int(fields[1]), user_ticks=utime + cutime, system_ticks=stime + cstime)


def _tree(root: int) -> list[int]:
    """``root`` and every live descendant."""
    parents: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                parents.setdefault(stat.ppid, []).append(int(entry.name))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(parents.get(pid, []))
    return found


def thread_cpu_s(pid: int) -> dict[int, float]:
    """CPU seconds (user and system) of each live thread of ``pid``, by thread id."""
    found: dict[int, float] = {}
    for task in (_PROC / str(pid) / "task").iterdir():
        try:
            text = (task / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        found[int(task.name)] = thread_cpu_from_stat(text)
    return found


def thread_cpu_from_stat(text: str) -> float:
    """CPU seconds of one /proc/<pid>/task/<tid>/stat line (utime + stime)."""
    fields = text[text.rindex(")") + 2 :].split()  # the name may hold spaces and ")"
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S


def tree_cpu(root: int) -> CpuTimes:
    """CPU time (utime and stime) used so far by ``root`` and its whole process tree,
    children that have ended included."""
    user = system = 0
    for pid in _tree(root):
        stat = _stat(pid)
        if stat is not None:
            user += stat.user_ticks
            system += stat.system_ticks
    return CpuTimes(user / _TICKS_PER_S, system / _TICKS_PER_S)


def tree_peak_rss_kib(root: int) -> int:
    """The sum of VmHWM (peak resident set) over ``root`` and its live descendants."""
    total = 0
    for pid in _tree(root):
        try:
            status = (_PROC / str(pid) / "status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total


def cores_busy_s() -> dict[int, float]:
    """CPU seconds each core has spent on processes so far (user, nice and system time of
    /proc/stat; interrupts and idle left out)."""
    busy: dict[int, float] = {}
    for line in (_PROC / "stat").read_text().splitlines():
        name, *fields = line.split()
        if name.startswith("cpu") and name[3:].isdigit():
            user, nice, system = (int(f) for f in fields[:3])
            busy[int(name[3:])] = (user + nice + system) / _TICKS_PER_S
    return busy


def own_cpu_s() -> float:
    """CPU seconds used so far by this process (all its threads)."""
    times = os.times()
    return times.user + times.system
