"""Time and memory bounds for one load: ``with bounded() as used: ...; used.seconds, used.megabytes``.

Time is this process's CPU time (``time.process_time``): the loaders are single-threaded, and on a
shared machine wall time also counts other processes' work (``used.wall`` keeps it for reports).

Memory is the peak resident size above the size at the start, read from ``/proc/self/status``
after resetting the peak through ``/proc/self/clear_refs`` (Linux; no slowdown). Elsewhere it is
tracemalloc's peak of Python allocations (which slows sympy-heavy code several times over).
A hang is stopped by an alarm (where there is SIGALRM), well after the bound.
"""

from __future__ import annotations

import contextlib
import re
import signal
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SECONDS, MEGABYTES = 2.0, 300.0
_STATUS, _CLEAR = Path("/proc/self/status"), Path("/proc/self/clear_refs")


@dataclass
class Used:
    seconds: float = 0.0
    megabytes: float = 0.0
    wall: float = 0.0


def _rss_kib(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+)", _STATUS.read_text()).group(1))


def _can_reset_peak() -> bool:
    try:
        _CLEAR.write_text("5")
        return True
    except OSError:
        return False


RESET_PEAK = _can_reset_peak()


@contextlib.contextmanager
def measured(stop_after: float = 20.0) -> Iterator[Used]:
    """Measure the block's wall time and peak memory into the yielded :class:`Used`."""
    used = Used()

    def on_alarm(signum, frame):
        raise TimeoutError(f"still running after {stop_after} s")

    alarm = hasattr(signal, "setitimer")
    if alarm:
        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, stop_after)
    if RESET_PEAK:
        _CLEAR.write_text("5")
        base = _rss_kib("VmRSS")
    else:
        tracemalloc.start()
    start, wall = time.process_time(), time.perf_counter()
    try:
        yield used
    finally:
        used.seconds, used.wall = time.process_time() - start, time.perf_counter() - wall
        if RESET_PEAK:
            used.megabytes = max(0, _rss_kib("VmHWM") - base) / 1024
        else:
            used.megabytes = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def bounded() -> Iterator[Used]:
    """:func:`measured`, then fail if the block took 2 s or more, or 300 MB or more."""
    with measured() as used:
        yield used
    assert used.seconds < SECONDS and used.megabytes < MEGABYTES, (
        f"{used.seconds:.2f} s, {used.megabytes:.0f} MB"
    )
