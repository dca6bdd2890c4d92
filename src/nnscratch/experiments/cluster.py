"""The Dask backend of :func:`~nnscratch.experiments.parallel.run_tasks`.

``--cluster tcp://HOST:PORT`` on the command line, or a ``[cluster]`` table in the experiment file::

    [cluster]
    address = "tcp://10.0.0.5:8786"   # the scheduler (tls://... between machines: docs/distributed.md)
    timeout = 30                      # seconds to wait for the scheduler to answer
    retries = 0                       # extra attempts for a task that *raises*

Each task is one ``client.submit`` whose key is the task's stable hash, collected with
``distributed.as_completed`` so results stream back as they finish. A worker that dies mid-task
(killed, out of memory, machine lost) is not an error for us: the scheduler hands its tasks to the
remaining workers (up to ``distributed.scheduler.allowed-failures`` deaths per task, 3 by default)
and the sweep completes. ``retries`` is for exceptions raised by the task itself; tasks are pure and
seeded, so a retry only helps with transient failures (a full disk, a flaky network file system).

What the cluster cannot do is our error, :class:`ClusterError`, never a Dask traceback: an address
where no Dask scheduler answers within ``timeout`` seconds (nothing listening, another service, a
worker's port; ``Client`` alone would wait for ever on a port that accepts and stays silent), a
scheduler lost mid-run (the client cancels every running task at that moment), and a task that
killed ``allowed-failures + 1`` workers (``KilledWorker``). Every result received before is already
in the run folder, so rerunning the same command resumes.

``distributed`` is an optional extra: ``pip install nnscratch[dask]``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import CancelledError
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from nnscratch.base.errors import ClusterError, ConfigError, MissingDependencyError

from .store import TaskSpec
from .tasks import execute_task

# a host name, an IPv4 address or a bracketed IPv6 address, then a port
_ADDRESS = re.compile(r"^(tcp|tls|ws|wss|ucx)://([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$")
_TABLE_KEYS = ("address", "timeout", "retries")


def resolve_cluster(option: str | None, table: Any) -> ClusterSpec | None:
    """The cluster a run uses: ``--cluster`` if given, else the file's ``[cluster]`` table, else none.

    ``table`` is the ``[cluster]`` table as a dict or a pydantic model; a table without an address
    means "run locally".
    """
    if option:
        return ClusterSpec.parse(option)
    if table is None:
        return None
    if hasattr(table, "model_dump"):
        table = table.model_dump(exclude_none=True)
    if not isinstance(table, Mapping) or table.get("address") is None:
        return None
    return ClusterSpec.parse({k: v for k, v in table.items() if v is not None})


def require_distributed() -> Any:
    """Import and return ``distributed``, or raise :class:`MissingDependencyError` saying how to get it."""
    try:
        import distributed
    except ImportError as exc:
        raise MissingDependencyError(
            "running tasks on a Dask cluster needs the optional Dask extra: pip install nnscratch[dask] "
            f"(it installs dask[distributed]). Received: ImportError: {exc}"
        ) from exc
    return distributed


def check_address(address: Any, name: str = "cluster address") -> str:
    """Return ``address`` if it looks like ``tcp://HOST:PORT`` (or tls://, ws://, wss://, ucx://)."""
    match = _ADDRESS.match(address.strip()) if isinstance(address, str) else None
    if match is None:
        raise ConfigError(
            f"{name} must be a Dask scheduler address such as 'tcp://192.168.1.10:8786' or "
            f"'tls://scheduler.lan:8786'. Received: {address!r}"
        )
    if not 1 <= int(match.group(3)) <= 65535:  # refused here, not after waiting for the timeout
        raise ConfigError(f"{name} must have a port from 1 to 65535. Received: {address!r}")
    return address.strip()


@dataclass(frozen=True)
class ClusterSpec:
    """Where and how to run tasks on Dask: a scheduler ``address`` or an already connected ``client``."""

    address: str | None = None
    client: Any = None
    timeout: float = 30.0
    retries: int = 0

    @classmethod
    def parse(cls, value: Any) -> ClusterSpec:
        """Build a spec from an address string, a ``[cluster]`` table, a spec or a ``distributed.Client``."""
        if isinstance(value, ClusterSpec):
            return value
        if isinstance(value, str):
            return cls(address=check_address(value))
        if isinstance(value, Mapping):
            return cls._from_table(value)
        if hasattr(value, "submit") and hasattr(value, "scheduler"):  # a distributed.Client
            return cls(client=value)
        raise ConfigError(
            "cluster must be a scheduler address ('tcp://HOST:PORT'), a [cluster] table or a "
            f"distributed.Client. Received: cluster of type {type(value).__name__}"
        )

    @classmethod
    def _from_table(cls, table: Mapping[str, Any]) -> ClusterSpec:
        unknown = sorted(set(table) - set(_TABLE_KEYS))
        if unknown:
            raise ConfigError(
                f"[cluster] has unknown key(s) {unknown}; expected only {list(_TABLE_KEYS)}. "
                f"Received: {dict(table)!r}"
            )
        if "address" not in table:
            raise ConfigError(f"[cluster] needs an address = 'tcp://HOST:PORT'. Received: {dict(table)!r}")
        timeout = table.get("timeout", 30.0)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < math.inf:
            raise ConfigError(
                f"[cluster] timeout must be a positive number of seconds. Received: timeout={timeout!r}"
            )
        retries = table.get("retries", 0)
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError(f"[cluster] retries must be an int >= 0. Received: {retries!r}")
        address = check_address(table["address"], "[cluster] address")
        return cls(address=address, timeout=float(timeout), retries=retries)

    def describe(self) -> str:
        if self.client is not None:
            return str(getattr(self.client.scheduler, "address", "client"))
        return str(self.address)

    def connect(self) -> tuple[Any, bool]:
        """A connected client and whether we own it (and so must close it)."""
        if self.client is not None:
            return self.client, False
        distributed = require_distributed()
        deadline = time.monotonic() + self.timeout
        try:
            security = distributed.Security()  # the TLS settings of the Dask config, as Client reads them
            _probe(str(self.address), self.timeout, security.get_connection_args("client"))
            left = max(1.0, deadline - time.monotonic())
            client = distributed.Client(self.address, timeout=left, security=security, set_as_default=False)
        except Exception as exc:  # anything on the way: a reply that is not Dask's can be a MemoryError
            raise self._unreachable(exc) from exc
        return client, True

    def _unreachable(self, exc: Exception) -> ClusterError:
        if isinstance(exc, ClusterError):
            return exc
        hint = (
            " A tls:// address needs this machine's certificate: set"
            " DASK_DISTRIBUTED__COMM__TLS__CA_FILE, DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT and"
            " DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY."
            if str(self.address).startswith("tls://")
            else ""
        )
        return ClusterError(
            f"could not connect to the Dask scheduler at {self.address} within {self.timeout:g} s. "
            f"Expected a running `dask scheduler` reachable from here (see docs/distributed.md).{hint} "
            f"Received: {type(exc).__name__}: {exc}"
        )


def _probe(address: str, timeout: float, connection_args: dict[str, Any]) -> None:
    """Ask ``address`` who it is; raise unless a Dask scheduler answers within ``timeout`` seconds.

    ``distributed.Client`` waits for the handshake of an open port with no time limit, so a port
    held by another service would hang it for good. The question is asked in a thread with its
    own event loop (the caller may be inside one, as in Jupyter) and abandoned at the deadline.
    """
    outcome: list[Any] = []

    def ask() -> None:
        try:
            outcome.append(
                asyncio.run(asyncio.wait_for(_identity(address, timeout, connection_args), timeout))
            )
        except BaseException as exc:  # handed to the caller's thread
            outcome.append(exc)

    thread = threading.Thread(target=ask, name="nnscratch-dask-probe", daemon=True)
    thread.start()
    thread.join(timeout + 0.5)  # the hard deadline: a hung handshake is left behind, not waited for
    if not outcome:
        raise TimeoutError(f"no Dask handshake from {address} within {timeout:g} s")
    if isinstance(outcome[0], BaseException):
        if isinstance(outcome[0], asyncio.TimeoutError | TimeoutError):
            raise TimeoutError(
                f"no Dask handshake from {address} within {timeout:g} s: is it a Dask scheduler's port?"
            ) from outcome[0]
        raise outcome[0]
    identity = outcome[0]
    kind = identity.get("type") if isinstance(identity, dict) else None
    if kind != "Scheduler":
        raise ConnectionError(
            f"{address} is a Dask {kind or 'server'}, not the scheduler: give the scheduler's address "
            f"(`dask scheduler` prints it)"
        )


async def _identity(address: str, timeout: float, connection_args: dict[str, Any]) -> Any:
    from distributed.comm import connect

    comm = None
    try:
        comm = await connect(address, timeout=timeout, **connection_args)  # includes Dask's handshake
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    except (OSError, TypeError, ValueError, asyncio.CancelledError):  # unreachable, refused, bad TLS settings
        raise
    except Exception as exc:  # bytes that are not Dask's can fail in any way when decoded
        raise ConnectionError(
            f"{address} answered, but not as a Dask scheduler does ({type(exc).__name__}: {exc})"
        ) from exc
    finally:
        if comm is not None:
            comm.abort()


def stream_dask(fn: Any, pending: Sequence[tuple[int, TaskSpec]], spec: ClusterSpec) -> _DaskStream:
    """Connect now (so a bad address fails before anything starts) and stream ``(index, result)``."""
    client, owned = spec.connect() if pending else (None, False)
    return _DaskStream(client, owned, _stream(client, fn, pending, spec), spec.timeout)


class _DaskStream:
    """An iterator of ``(index, result)`` whose ``close`` also closes the client we opened."""

    def __init__(
        self, client: Any, owned: bool, gen: Iterator[tuple[int, dict[str, Any]]], timeout: float
    ) -> None:
        self._client, self._owned, self._gen, self._timeout = client, owned, gen, timeout

    def __iter__(self) -> _DaskStream:
        return self

    def __next__(self) -> tuple[int, dict[str, Any]]:
        return next(self._gen)

    def close(self) -> None:
        try:
            self._gen.close()
        finally:
            if self._owned:
                self._owned = False
                lost = self._client.status != "running"
                with _quiet("distributed.client", lost):
                    self._client.close(timeout=self._timeout)  # a lost scheduler does not hold us longer


@contextmanager
def _quiet(logger: str, enabled: bool) -> Iterator[None]:
    """Drop ``logger``'s records while closing a client that lost its scheduler: our ClusterError
    already says so, and its reconnect loop, stopped by the close, logs a failure and tracebacks."""
    if not enabled:
        yield
        return

    def drop(_record: logging.LogRecord) -> bool:
        return False

    target = logging.getLogger(logger)
    target.addFilter(drop)
    try:
        yield
    finally:
        target.removeFilter(drop)


def _stream(
    client: Any, fn: Any, pending: Sequence[tuple[int, TaskSpec]], spec: ClusterSpec
) -> Iterator[tuple[int, dict[str, Any]]]:
    if not pending:
        return
    from distributed import KilledWorker, as_completed

    futures, tasks = [], dict(pending)
    try:
        index_of: dict[str, int] = {}
        for index, task in pending:
            key = f"nnscratch-task-{task.key}"
            index_of[key] = index
            futures.append(
                client.submit(
                    execute_task, fn, task.config, task.fold, task.seed,
                    key=key, pure=True, retries=spec.retries or None,
                )
            )  # fmt: skip
        for future in as_completed(futures, loop=client.loop):
            try:
                result = future.result()
            except KilledWorker as exc:
                task = tasks[index_of[future.key]]
                raise ClusterError(
                    f"task {index_of[future.key]} (fold {task.fold}, seed {task.seed}) killed the Dask "
                    f"worker it ran on {exc.allowed_failures + 1} time(s), the most that "
                    "distributed.scheduler.allowed-failures allows: it may need more memory than a worker "
                    f"has, or crash in native code; the workers' logs say more. Received: KilledWorker: {exc}"
                ) from exc
            except CancelledError as exc:  # the client cancels every future the moment it loses the scheduler
                raise ClusterError(
                    f"lost the connection to the Dask scheduler at {spec.describe()} (it stopped, or the "
                    f"network failed) and with it the running tasks. Received: {type(exc).__name__}: {exc}"
                ) from exc
            except RuntimeError as exc:  # the task's own errors are other types and pass unchanged
                if "deserializ" not in str(exc):
                    raise
                raise ClusterError(
                    "the Dask scheduler or a worker could not load the task: install the same nnscratch "
                    "(pip install nnscratch[dask]) on the scheduler and on every worker machine. "
                    f"Received: {exc}"
                ) from exc
            yield index_of[future.key], result
    finally:
        unfinished = [f for f in futures if not f.done()]
        if unfinished and client.status == "running":  # stopped early (error, Ctrl-C): free the cluster
            client.cancel(unfinished)
