"""The ``loyalty`` command line: ``sim.cli.main.app``, with the options its commands share in ``options``.

``main`` is the command's entry point. It takes over Ctrl-C and SIGTERM
before anything heavy loads, so that an interrupt while the command starts
(NumPy, pandas, Mesa and the model take a few seconds to import on a busy
machine) ends it quietly with status 130 or 143, as an interrupt later does.
``app`` is the Typer application itself, loaded on first use.
"""

from __future__ import annotations

import importlib
import signal
import sys
from typing import Any

INTERRUPTED = 128 + signal.SIGINT
TERMINATED = 128 + signal.SIGTERM


def main() -> None:
    """Run the ``loyalty`` command; an interrupt while it loads ends it quietly (130 for Ctrl-C, 143 for SIGTERM)."""

    def terminated(signum: int, frame: object) -> None:
        raise SystemExit(TERMINATED)

    signal.signal(signal.SIGTERM, terminated)
    try:
        app = importlib.import_module("sim.cli.main").app
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        sys.exit(INTERRUPTED)
    app()


def __getattr__(name: str) -> Any:
    if name == "app":
        return importlib.import_module("sim.cli.main").app
    raise AttributeError(f"module 'sim.cli' has no attribute {name!r}")


__all__ = ["app", "main"]
