"""Loaded by the fork server that starts worker processes, and by nothing else: it keeps a worker's failed start quiet.

A worker asked for just as the command that asked for it is interrupted
finds its pool's semaphores already gone and cannot start: the fork server
would print that ``FileNotFoundError`` (or the interrupt) as a traceback
under the command's own quiet exit. A worker that fails to start for any
other reason is still reported in full.
"""

from __future__ import annotations

import sys
from types import TracebackType

QUIET = (FileNotFoundError, KeyboardInterrupt, EOFError, BrokenPipeError, ConnectionError)
"""What a worker meets when the pool it was to join has shut down before it started."""

_report = sys.excepthook


def _quiet_when_the_pool_is_gone(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    if issubclass(kind, QUIET):
        return
    _report(kind, error, trace)


sys.excepthook = _quiet_when_the_pool_is_gone
