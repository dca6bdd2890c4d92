"""A local pool's worker ends with the process that started it, even after ``kill -9``.

loky's workers notice a dead parent only when they next talk to it: a worker in the middle of a
task finishes it (minutes, for a long training), then waits up to 30 s more on a lock. A sweep
killed with ``kill -9`` (or by the out-of-memory killer) would leave its workers computing for
nobody. :func:`end_with_parent` is the pool's initializer, run in each worker as it starts:

- on Linux it asks the kernel to SIGKILL the worker the moment its parent dies
  (``prctl(PR_SET_PDEATHSIG)``). The kernel sends that signal when the *thread* that started the
  worker ends, so it is asked for only when the pool was started from the main thread, which
  lives as long as the process;
- everywhere else as well, a daemon thread checks ``os.getppid()`` every :data:`POLL_S` seconds
  and ends the worker once its parent is gone (an orphan's parent id becomes the reaper's).
  Windows keeps a dead parent's id, so there this check never fires.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

#: Seconds between two checks of the parent in a worker.
POLL_S = 0.5
#: prctl option of <linux/prctl.h>: the signal this process gets when its parent dies.
PR_SET_PDEATHSIG = 1


def end_with_parent(parent: int, kernel_signal: bool) -> None:
    """Make this worker process end when process ``parent`` does (see the module docstring).

    ``kernel_signal``: also ask Linux for SIGKILL on the parent's death (only right when the
    thread that started this worker is the parent's main thread).
    """
    if kernel_signal and sys.platform.startswith("linux"):
        _ask_for_sigkill()
    if os.getppid() != parent:  # the parent died before we could watch it
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="nnscratch-parent-watch", daemon=True).start()


def _ask_for_sigkill() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl here: the polling thread does the job, a little later
        pass


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_S)
    os._exit(1)  # nobody is left to take this worker's results


__all__ = ["POLL_S", "end_with_parent"]
