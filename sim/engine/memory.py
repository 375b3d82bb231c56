"""How much memory a run needs, and how much this machine and this process have: checked before anything is built.

A market's customers are NumPy arrays of a few dozen numbers each: building a
market and running it takes about ``BYTES_PER_CUSTOMER`` bytes a customer
(traced at 970 bytes a customer at 20,000 and 40,000 customers; a million
customers peak at about 1 GB resident). ``check_memory`` compares what the
runs that go at once need with the least of what is left: the memory the
machine has available, what a container's limit (cgroup) leaves, and what
this process's own limits (``ulimit -v``, ``ulimit -d``) leave; each worker
process has the same limits as this one.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

BYTES_PER_CUSTOMER = 1_200
"""Memory a run takes per customer, with a fifth of headroom over what is measured (see the module docstring)."""
PROCESS_BYTES = 200 * 2**20
"""Memory of one more worker process before it builds anything (the interpreter, NumPy, pandas, Mesa)."""
GIB = 2**30


class MemoryShortageError(ValueError):
    """Runs that would not fit in the memory there is; the message is one line for the user."""


def run_bytes(customers: int) -> int:
    """Memory one run of a market of ``customers`` needs, in bytes."""
    return int(customers) * BYTES_PER_CUSTOMER


def available_memory() -> tuple[int | None, int | None]:
    """Bytes left to this machine, and to one process; ``None`` where there is no such bound or it cannot be read.

    The machine's is the least of what it has available and a container's
    limit leaves; a process's, what its address-space and data limits leave.
    """
    machine = [value for value in (_meminfo_available(), _cgroup_left()) if value is not None]
    limits = (_rlimit_left(resource.RLIMIT_AS, field=0), _rlimit_left(resource.RLIMIT_DATA, field=5))
    process = [value for value in limits if value is not None]
    return (min(machine) if machine else None), (min(process) if process else None)


def check_memory(customers: int, at_once: int = 1, what: str = "--customers") -> None:
    """Refuse runs of ``customers`` customers, ``at_once`` of them at the same time, that would not fit in memory.

    Raises:
        MemoryShortageError: naming the size needed and what is available.
    """
    one = run_bytes(customers)
    machine, process = available_memory()
    if process is not None and one > process:
        raise MemoryShortageError(
            f"{what} {customers:,}: a run needs about {gib(one)} of memory, and a process here may use "
            f"{gib(process)} more (its limit, ulimit -v or -d); use fewer customers, or raise the limit"
        )
    together = at_once * one + (at_once - 1) * PROCESS_BYTES
    if machine is not None and together > machine:
        runs = f"{at_once} runs at once need about {gib(together)}" if at_once > 1 else f"a run needs about {gib(one)}"
        advice = " or fewer workers (--workers)" if at_once > 1 else ""
        raise MemoryShortageError(
            f"{what} {customers:,}: {runs} of memory, and this machine has {gib(machine)} available; "
            f"use fewer customers{advice}"
        )


def gib(size: float) -> str:
    """A size in bytes as gibibytes: ``4.0 GiB``, ``0.25 GiB``."""
    return f"{size / GIB:.2g} GiB" if size < GIB else f"{size / GIB:,.1f} GiB"


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_left() -> int | None:
    """What a container's memory limit leaves (cgroup v2, then v1), or None without a limit."""
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:
            return max(int(limit) - usage, 0)
    return None


def _rlimit_left(which: int, field: int) -> int | None:
    """What a process limit leaves above what this process uses of it now, or None without a limit.

    ``field`` is the use's field of ``/proc/self/statm``: 0 the address space, 5 the data.
    """
    soft, _ = resource.getrlimit(which)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[field])
    except (OSError, ValueError, IndexError):
        return soft
    return max(soft - pages * os.sysconf("SC_PAGE_SIZE"), 0)
