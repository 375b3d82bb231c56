"""Compiling the engine's kernels, and keeping what was compiled only while the equations are unchanged.

``kernel`` compiles a function of the engine for the machine it runs on and
keeps the compiled code on disk, so that a process that runs a model (a
study's worker, a test, the command line) loads it instead of compiling it
again. The compiled code inlines the equations of ``sim.behaviour``, which
live in other files than the kernel's: the code is kept in a folder named by
a digest of every file of the equations and the engine, so that a change to
any equation compiles afresh rather than reusing code compiled from the old.
The folder lies under ``NUMBA_CACHE_DIR`` where that is set, else beside the
package's compiled Python files, else in the temporary folder; folders of
earlier sources beside it are removed a week after they were last written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numba
import numpy as np
from numba import types
from numba.core import cgutils, config
from numba.extending import intrinsic

PACKAGE = Path(__file__).resolve().parent.parent
SOURCES = ("behaviour", "engine")


def digest() -> str:
    """A digest of every source file the kernels are made from."""
    h = hashlib.sha256(numba.__version__.encode())
    for folder in SOURCES:
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            h.update(path.relative_to(PACKAGE).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def cache_folder() -> Path:
    """Where compiled kernels are kept for the present sources."""
    name = f"kernels-{digest()}"
    candidates = []
    if os.environ.get("NUMBA_CACHE_DIR"):
        candidates.append(Path(os.environ["NUMBA_CACHE_DIR"]) / "loyalty-sim" / name)
    candidates += [PACKAGE / "engine" / "__pycache__" / name, Path(tempfile.gettempdir()) / "loyalty-sim" / name]
    for folder in candidates:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            forget_old(folder)
            return folder
    return candidates[-1]


def forget_old(folder: Path, days: float = 7.0) -> None:
    """Remove the folders of code compiled from other sources beside ``folder``, ``days`` after their last write."""
    now = time.time()
    for old in folder.parent.glob("kernels-*"):
        try:
            if old != folder and now - old.stat().st_mtime > days * 86400:
                shutil.rmtree(old)
        except OSError:
            pass  # another process removed it, or may not


FOLDER = cache_folder()


def kernel(function, parallel: bool = False):
    """``function`` compiled (``numba.njit``) and kept on disk for the present sources.

    With ``parallel`` its ``numba.prange`` loops run on several threads
    (see ``blocks``). The compiled code lets go of Python's lock while it
    runs, so that the other threads of the process (a study worker's own
    communication, above all) never wait for a month to end, nor it for them.
    """
    saved = config.CACHE_DIR
    config.CACHE_DIR = str(FOLDER)
    try:
        return numba.njit(cache=True, nogil=True, parallel=parallel)(function)
    finally:
        config.CACHE_DIR = saved


PARALLEL_FROM = 5_000
"""Customers from which one model's passes over its customers use every core, when it may (``blocks``)."""

BLOCK = 8_192
"""Customers per block of a pass that runs on several threads."""


_one_thread = False
_threads_used = False  # whether a pass of this process has been cut into blocks: its threads may have started


def one_thread() -> None:
    """Keep every pass of this process's models on its one thread (``blocks``): the process is one of many workers."""
    global _one_thread
    _one_thread = True


def _forked() -> None:
    """In a child forked from a process whose passes used threads: keep to one thread.

    The threads of the compiled code and of the draws are the parent's and do
    not exist in the child, and the compiled code's threading (GNU OpenMP)
    ends a forked child that uses it: the child's models run on its one
    thread, with the same results.
    """
    if _threads_used:
        one_thread()


os.register_at_fork(after_in_child=_forked)


def threads() -> int:
    """How many threads a pass cut into ``blocks`` runs on: numba's, for the compiled passes and the draws alike."""
    return numba.get_num_threads()


def blocks(customers: int) -> np.ndarray | None:
    """Where to cut ``customers`` into blocks for a pass on several threads, or ``None`` to stay on this one.

    A pass uses several threads when the market has ``PARALLEL_FROM``
    customers or more, the machine more than one core for compiled code, and
    the caller is the process's main thread: a study runs its models one per
    core, in workers' threads, and the compiled code's threads must not be
    started from two threads at once. Every pass gives the same numbers
    however it is cut (each customer's month and segment read only its own
    row, and the sums over customers are taken in one thread, in order), so
    this changes the time a run takes, never its results. A process that
    runs one of many simulations at a time (a study's worker process) says
    so with ``one_thread``.
    """
    if customers < PARALLEL_FROM or _one_thread or threading.current_thread() is not threading.main_thread():
        return None
    if threads() < 2:
        return None
    global _threads_used
    _threads_used = True
    # Blocks of at most BLOCK customers, as many as a multiple of the threads and alike to a customer, so that no
    # thread waits long for another at the pass's end.
    count = threads() * -(-customers // (BLOCK * threads()))
    return np.arange(count + 1, dtype=np.int64) * customers // count


def bound(compiled, *args):
    """A callable that runs ``compiled`` on arguments of the types of ``args``, without the dispatch on each call.

    The compiled function is asked once which code serves these types (it
    compiles or loads it if need be); later calls go straight to that code,
    which saves the dispatch's look at every argument on each call (one
    customer's month, called for every customer). Arguments of other types
    must not be passed.
    """
    signature = tuple(compiled.typeof_pyval(a) for a in args)
    compiled.compile(signature)
    return compiled.overloads[signature].entry_point


@intrinsic
def memory_at(typingctx, address):
    """In compiled code: the memory at ``address``, a whole number (an array's ``ctypes.data``), for ``numba.carray``.

    Handing compiled code the addresses of many arrays in one array of
    whole numbers costs one argument instead of one each; the caller keeps
    the arrays alive and vouches for their types and shapes.
    """
    if not isinstance(address, types.Integer):
        return None

    def pointer(context, builder, signature, arguments):
        return builder.inttoptr(arguments[0], cgutils.voidptr_t)

    return types.voidptr(address), pointer
