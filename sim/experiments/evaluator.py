"""One way to run many independent simulations: in this process, in worker processes, or on a Dask cluster.

Every study asks an ``Evaluator`` for its runs and never builds a pool of
its own: replications, the retention lift, sweeps, sensitivity, calibration
and validation all run on the same three implementations.

- ``InProcess``: one call after the other, here (what a test or a debugger wants).
- ``ProcessPool``: worker processes forked from a server that has already
  imported the package; the default for several workers on this machine.
- ``DaskCluster``: a Dask ``LocalCluster`` of this machine's cores, or an
  existing cluster given by its scheduler's address; the only module of the
  package that imports Dask.

A run is a call ``function(*args)`` of a function defined at the top level
of a module, so that any worker can import it. Every run is seeded by its
arguments, so it gives the same numbers wherever it runs.

    >>> with evaluator(workers=2) as ev:                                # doctest: +SKIP
    ...     frames = ev.map(run_one, [(scenario, seed) for seed in range(10)])

An evaluator is a context manager that may be entered again while open
(a study given a running evaluator uses it and leaves it running), so one
cluster can serve several studies in a row.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import select
import signal
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from sim.engine import compiling

if TYPE_CHECKING:
    from distributed import Client


class EvaluatorError(ValueError):
    """An evaluator that cannot start (no scheduler answers at an address); one line for the user."""


@dataclass(frozen=True)
class Failure:
    """A run that raised, after its retries: the error in one line (``"ValueError: ..."``)."""

    error: str


class Progress(Protocol):
    """Anything that counts finished runs, such as a ``tqdm`` bar."""

    def update(self, n: int = 1) -> object:
        """Count ``n`` more runs done."""


class Evaluator(ABC):
    """Runs calls of one function over many argument tuples, wherever its workers are.

    Subclasses start and stop their workers in ``start`` and ``stop`` and
    run calls in ``_runs``. Entering the evaluator starts it; leaving the
    outermost ``with`` stops it.
    """

    runs_here: bool = False
    """Whether calls run in this process (so they may be closures, lambdas or notebook functions)."""
    ships_code: bool = False
    """Whether functions defined in a notebook or an interactive session reach the workers (pickled by value)."""

    def __init__(self) -> None:
        self._depth = 0

    @property
    @abstractmethod
    def workers(self) -> int:
        """How many calls run at once."""

    @property
    def description(self) -> str:
        """Where the runs go, in a few words: 'this process', '4 worker processes', 'the cluster at ...'."""
        return type(self).__name__

    def start(self) -> None:  # noqa: B027 - nothing to start by default
        """Start the workers (called on entering the outermost ``with``)."""

    def stop(self) -> None:  # noqa: B027 - nothing to stop by default
        """Stop the workers (called on leaving the outermost ``with``)."""

    def __enter__(self) -> Evaluator:
        if self._depth == 0:
            self.start()
        self._depth += 1
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.stop()

    def map(self, function: Callable[..., Any], calls: Sequence[tuple], *, progress: Progress | None = None) -> list:
        """``[function(*args) for args in calls]``, run by the workers; results in the order of ``calls``.

        The first call that raises stops the whole map with its exception.
        """
        results: list[Any] = [None] * len(calls)
        with self:
            for index, result in self._runs(function, list(calls), retries=0, capture=False):
                results[index] = result
                if progress is not None:
                    progress.update()
        return results

    def as_completed(
        self, function: Callable[..., Any], calls: Sequence[tuple], *, retries: int = 0
    ) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, result)`` as calls finish; a call that still raises after ``retries`` gives a ``Failure``."""
        with self:
            yield from self._runs(function, list(calls), retries=retries, capture=True)

    @abstractmethod
    def _runs(
        self, function: Callable[..., Any], calls: list[tuple], *, retries: int, capture: bool
    ) -> Iterator[tuple[int, Any]]:
        """Run the calls; yield ``(index, result or Failure)``; with ``capture`` false, raise the first error."""


class InProcess(Evaluator):
    """Every call in this process, one after the other."""

    runs_here = True
    ships_code = True

    @property
    def workers(self) -> int:
        """One: this process."""
        return 1

    @property
    def description(self) -> str:
        """'this process'."""
        return "this process"

    def _runs(
        self, function: Callable[..., Any], calls: list[tuple], *, retries: int, capture: bool
    ) -> Iterator[tuple[int, Any]]:
        for index, args in enumerate(calls):
            for attempt in range(retries + 1):
                try:
                    result = function(*args)
                    break
                except Exception as error:
                    if not capture:
                        raise
                    if attempt == retries:
                        result = Failure(error_line(error))
            yield index, result


class ProcessPool(Evaluator):
    """Worker processes of this machine, forked from a server that has already imported the package.

    Args:
        workers: number of worker processes.
    """

    def __init__(self, workers: int) -> None:
        super().__init__()
        self._workers = max(1, int(workers))
        self._pool: ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        """The number of worker processes."""
        return self._workers

    @property
    def description(self) -> str:
        """'N worker processes'."""
        return f"{self._workers} worker process{'es' * (self._workers > 1)}"

    def start(self) -> None:
        """Start the pool (its processes start as calls arrive)."""
        # Workers live as long as the pool: every run releases its model from Mesa's registry
        # (``LoyaltyModel.release``), so that a worker does not grow with the runs it makes.
        self._pool = ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=_process_context(),
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )

    def stop(self) -> None:
        """Stop the workers; calls not yet started are cancelled."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _runs(
        self, function: Callable[..., Any], calls: list[tuple], *, retries: int, capture: bool
    ) -> Iterator[tuple[int, Any]]:
        assert self._pool is not None, "enter the evaluator before running calls"
        pending: dict[Future, tuple[int, int]] = {
            self._pool.submit(function, *args): (index, 0) for index, args in enumerate(calls)
        }
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index, attempt = pending.pop(future)
                    error = future.exception()
                    if error is None:
                        yield index, future.result()
                    elif not capture:
                        raise error
                    elif attempt < retries:
                        pending[self._pool.submit(function, *calls[index])] = (index, attempt + 1)
                    else:
                        yield index, Failure(error_line(error))
        finally:
            for future in pending:
                future.cancel()


class DaskCluster(Evaluator):
    """A Dask cluster: an existing one given by its scheduler's address, or a new ``LocalCluster`` here.

    Args:
        workers: processes of a local cluster (default: all cores), one thread
            each; ignored with ``scheduler``.
        scheduler: address of a running scheduler (``tcp://host:8786``) or a
            connected ``distributed.Client``, used as it is and left open.
        quiet: keep Dask's log lines (worker start-up, task errors, shutdown)
            off the terminal; failures are reported by the study itself.

    A local cluster's scheduler and workers listen on 127.0.0.1 only, on free
    ports, with no dashboard.
    """

    ships_code = True

    def __init__(self, workers: int | None = None, scheduler: str | Client | None = None, quiet: bool = True) -> None:
        super().__init__()
        self._local_workers = max(1, workers or os.cpu_count() or 1)
        self.scheduler = scheduler
        self.quiet = quiet
        self.client: Client | None = None
        self._stack: contextlib.ExitStack | None = None

    @property
    def workers(self) -> int:
        """Worker threads of the cluster (of the local cluster to be started, before it runs)."""
        if self.client is None:
            return self._local_workers if self.scheduler is None else 1
        return max(1, sum(self.client.nthreads().values()))

    @property
    def description(self) -> str:
        """'the cluster at ADDRESS' or 'a local cluster of N workers'."""
        if self.scheduler is not None:
            address = self.scheduler if isinstance(self.scheduler, str) else self.scheduler.scheduler.address
            return f"the cluster at {address}"
        return f"a local cluster of {self._local_workers} worker{'s' * (self._local_workers > 1)}"

    def start(self) -> None:
        """Connect to the scheduler, or start a local cluster."""
        self._stack = contextlib.ExitStack()
        try:
            self.client = self._stack.enter_context(dask_client(self._local_workers, self.scheduler, self.quiet))
        except BaseException:
            self._stack.close()
            raise

    def stop(self) -> None:
        """Close the connection, and the local cluster if this evaluator started one."""
        if self._stack is not None:
            self._stack.close()
        self._stack = None
        self.client = None

    def _runs(
        self, function: Callable[..., Any], calls: list[tuple], *, retries: int, capture: bool
    ) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        assert self.client is not None, "enter the evaluator before running calls"
        run = uuid.uuid4().hex[:8]
        name = getattr(function, "__name__", "run")
        futures = {
            self.client.submit(function, *args, retries=retries, pure=False, key=f"{name}-{run}-{index}"): index
            for index, args in enumerate(calls)
        }
        try:
            for future in as_completed(futures):
                index = futures[future]
                if future.status == "finished":
                    yield index, future.result()
                elif not capture:
                    future.result()  # raises the call's own error
                else:
                    yield index, Failure(_future_error(future))
        finally:
            unfinished = [f for f in futures if f.status == "pending"]
            if unfinished:
                with contextlib.suppress(Exception):
                    self.client.cancel(unfinished)


def evaluator(
    workers: int | None = 1, scheduler: str | Client | None = None, *, prefer: str = "processes"
) -> Evaluator:
    """The evaluator for a number of workers or a scheduler's address.

    Args:
        workers: calls run at once on this machine (``None``: one per core).
        scheduler: address of a running Dask scheduler (or a ``Client``): the
            runs go to that cluster, whatever ``workers`` says.
        prefer: ``"processes"``: this process for one worker, a process pool
            (quick to start) for several; ``"dask"``: a local Dask cluster of
            ``workers`` processes, however many.
    """
    if scheduler is not None:
        return DaskCluster(scheduler=scheduler)
    if prefer == "dask":
        return DaskCluster(workers=workers)
    count = workers or os.cpu_count() or 1
    return InProcess() if count <= 1 else ProcessPool(count)


def error_line(error: BaseException) -> str:
    """An exception in one line: its type and the first line of its message."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _future_error(future: Any) -> str:
    try:
        error = future.exception()
    except Exception as problem:  # noqa: BLE001 - a cancelled future has no exception to give
        error = problem
    return f"task {future.status}" if error is None else error_line(error)


def _process_context() -> multiprocessing.context.BaseContext:
    """Start workers from a fork server that has already imported the package.

    Forking the caller itself is unsafe once it runs threads (NumPy's BLAS
    starts some), and plain spawning re-imports everything for every pool. A
    script that runs replications in several processes needs the usual
    ``if __name__ == "__main__":`` guard. Chosen explicitly because importing
    Mesa sets the global start method to spawn.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sim.experiments.forkserver", "sim.experiments.replications"])
    # Start the server deaf to Ctrl-C, so that an interrupt while it is still importing the
    # package does not print its traceback; this process raises the interrupt once it has started.
    with _ctrl_c_held_back(), _without_slow_allocation():
        multiprocessing.forkserver.ensure_running()
    return context


def _start_worker(parent: int) -> None:
    """In a worker: die on Ctrl-C without a traceback, die with the process that started the pool, use one core.

    The main process reports an interrupt. A main process killed outright
    (SIGKILL, or the machine's out-of-memory killer) cannot stop its workers:
    each watches it and ends the moment it is gone, instead of running its
    replication to the end and keeping the fork server and the resource
    tracker alive with it.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # held back while the fork server started
    compiling.one_thread()  # the pool has a worker per core: a large market's passes stay on this one
    die_with(parent)


def die_with(parent: int) -> None:
    """End this process as soon as process ``parent`` ends (a daemon thread waits for it)."""
    try:
        handle = os.pidfd_open(parent)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd on this system: look every half second
        handle = None

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])
        else:
            while process_alive(parent):
                time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name=f"die-with-{parent}", daemon=True).start()


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (this one always does)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


ENVIRON = "distributed.nanny.pre-spawn-environ"
"""Dask's setting of the environment its worker processes start with."""
SLOW_ALLOCATION = ("MALLOC_TRIM_THRESHOLD_",)
"""Variables of that environment that slow a run down: Dask asks the C allocator to hand freed memory back to the
system above 64 KiB, so that every period's temporary arrays are mapped afresh (a 10,000-customer run takes half as
long again)."""


def worker_environment() -> dict[str, Any]:
    """Dask's environment for new worker processes, less ``SLOW_ALLOCATION`` (the allocator's own default then holds).

    The other settings stay: one BLAS thread per worker, as a worker runs one
    simulation at a time.
    """
    import dask

    environ = dict(dask.config.get(ENVIRON, default={}) or {})
    return {name: value for name, value in environ.items() if name not in SLOW_ALLOCATION}


@contextlib.contextmanager
def _without_slow_allocation() -> Iterator[None]:
    """Start processes without ``SLOW_ALLOCATION`` in their environment; this process's is as it was afterwards.

    A Dask cluster started with Dask's own settings writes them into the
    environment of the process that starts it, for good, and every process
    started from it later would inherit them.
    """
    saved = {name: os.environ.pop(name) for name in SLOW_ALLOCATION if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


@contextlib.contextmanager
def dask_client(
    workers: int | None = None, scheduler: str | Client | None = None, quiet: bool = True
) -> Iterator[Client]:
    """A Dask client: on an existing cluster, or on a new ``LocalCluster`` of this machine's cores.

    Args:
        workers: processes of the local cluster (default: all cores); one
            thread each. Ignored with ``scheduler``.
        scheduler: address of a running scheduler (``tcp://host:8786``) or a
            connected ``Client``, used as it is and left open.
        quiet: keep Dask's log lines off the terminal.

    Raises:
        EvaluatorError: no scheduler answers at the address.
    """
    import dask
    from distributed import Client, LocalCluster

    loggers = [logging.getLogger(name) for name in ("distributed", "tornado", "asyncio")]
    levels = [logger.level for logger in loggers]
    if quiet:
        for logger in loggers:
            logger.setLevel(logging.CRITICAL)
    try:
        if isinstance(scheduler, Client):
            yield scheduler
        elif scheduler is not None:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as error:
                raise EvaluatorError(f"--scheduler {scheduler}: no Dask scheduler answers there ({error})") from None
            with client:
                yield client
        else:
            count = max(1, workers or os.cpu_count() or 1)
            with _ctrl_c_held_back(), dask.config.set({ENVIRON: worker_environment()}), _without_slow_allocation():
                cluster = LocalCluster(
                    n_workers=count,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",
                    scheduler_kwargs={"dashboard": False},
                    silence_logs=logging.CRITICAL if quiet else logging.WARNING,
                )
            with cluster, Client(cluster) as client:
                yield client
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@contextlib.contextmanager
def _ctrl_c_held_back() -> Iterator[None]:
    """Hold Ctrl-C back while worker processes start, so that they start deaf to it; raise it here afterwards.

    A Ctrl-C in a terminal reaches every process of the foreground group. The
    workers should not each stop with a traceback: this process alone catches
    it, keeps what is finished and closes the pool or cluster, which stops
    them. SIGINT is blocked, not ignored: the processes started meanwhile
    inherit the block, and a Ctrl-C that comes meanwhile is not lost but
    delivered to this process the moment the block ends.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
