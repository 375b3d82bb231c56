"""The store of a sweep's finished tasks: one Parquet file a task, written as it finishes.

``sim.experiments.sweep`` asks for a store by the sweep's key and keeps every
finished task in it; a sweep run again with the same key loads what is there
and computes only the rest. ``opener(root)`` gives the function the sweep
calls to open its store under ``root``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiments.evaluator import process_alive
from sim.experiments.sweep import StoreOpener
from sim.outputs.folders import write_atomically


def opener(root: Path | str) -> StoreOpener:
    """The function that opens a sweep's store under ``root`` (``results/.sweeps`` for the command line)."""

    def open_store(key: str, facts: dict[str, Any]) -> SweepStore:
        return SweepStore(root, key, facts).open()

    return open_store


class SweepStore:
    """Finished tasks of one sweep, one Parquet file each, written atomically as they finish.

    The folder is named for everything that decides the numbers (scenario,
    design points, seeds, package version, task function), so a store is
    only ever reused by the very same sweep.
    """

    def __init__(self, root: Path | str, key: str, facts: dict[str, Any]) -> None:
        self.path = Path(root) / key
        self.tasks = self.path / "tasks"
        self.facts = facts

    def open(self) -> SweepStore:
        """Create the folder (with ``sweep.json``, what it holds) and remove files of interrupted writes."""
        self.tasks.mkdir(parents=True, exist_ok=True)
        if not (self.path / "sweep.json").exists():
            write_atomically(self.path / "sweep.json", json.dumps(self.facts, indent=2, default=str) + "\n")
        for partial in self.tasks.glob(".*.partial-*"):
            pid = partial.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not process_alive(int(pid)):
                partial.unlink(missing_ok=True)
        return self

    def file(self, point: int, seed: int) -> Path:
        """The file that holds a task's outcome."""
        return self.tasks / f"p{point:06d}-s{seed}.parquet"

    def load(self, point: int, seed: int) -> pd.DataFrame | None:
        """The stored outcome of a task, or ``None`` if it has not finished (or cannot be read)."""
        path = self.file(point, seed)
        if not path.exists():
            return None
        try:
            return pd.read_parquet(path)
        except Exception:  # noqa: BLE001 - an unreadable file is a task to run again
            return None

    def save(self, point: int, seed: int, outcome: pd.DataFrame) -> None:
        """Write a task's outcome: to a hidden temporary file, then renamed into place."""
        clean = outcome.copy()
        clean.attrs = {}
        write_atomically(self.file(point, seed), lambda partial: clean.to_parquet(partial, index=False))
