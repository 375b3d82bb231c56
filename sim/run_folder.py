"""Results folders that appear whole or not at all.

A run writes into a hidden ``.NAME.partial-PID-XXXX`` folder beside its final
place and renames it to ``NAME`` only when everything is written; an error or
an interruption removes the partial folder. A folder left behind by a process
that was killed outright is cleaned up by the next run.
"""

from __future__ import annotations

import errno
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

import pandas as pd

from .model import package_version


class RunFolder:
    """A results folder under ``root``, named ``LABEL-YYYYmmdd-HHMMSS``, written atomically.

    Use as a context manager; write files under ``folder.path`` (or with the
    helpers) and the finished folder is at ``folder.final`` after the block.
    """

    def __init__(self, root: Path | str, label: str) -> None:
        self.root = Path(root)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        name = f"{_safe(label)}-{stamp}"
        self.final = self.root / name
        self.path = self.root / f".{name}.partial-{os.getpid()}"

    def __enter__(self) -> RunFolder:
        self.root.mkdir(parents=True, exist_ok=True)
        remove_abandoned(self.root)
        # A unique partial folder, even for two runs of one process in the same second.
        self.path = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.partial-{os.getpid()}-", dir=self.root))
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if kind is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        try:
            self.final = _rename_to_free_name(self.path, self.final)
        except BaseException:
            shutil.rmtree(self.path, ignore_errors=True)
            raise

    def write_text(self, name: str, text: str) -> Path:
        """Write a text file into the folder."""
        target = self.path / name
        target.write_text(text, encoding="utf-8")
        return target

    def write_table(self, stem: str, table: pd.DataFrame) -> list[Path]:
        """Write ``stem.csv`` and ``stem.parquet``."""
        csv, parquet = self.path / f"{stem}.csv", self.path / f"{stem}.parquet"
        table.to_csv(csv, index=False)
        clean = table.copy()
        clean.attrs = {}
        clean.to_parquet(parquet, index=False)
        return [csv, parquet]

    def write_manifest(self, **facts: object) -> Path:
        """Write ``manifest.json``: what produced this folder, and how to reproduce it."""
        import mesa
        import numpy

        manifest = {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "package": "loyalty-sim",
            "version": package_version(),
            "command": " ".join(["loyalty", *sys.argv[1:]]) if sys.argv else "",
            "python": platform.python_version(),
            "mesa": mesa.__version__,
            "numpy": numpy.__version__,
            **facts,
        }
        return self.write_text("manifest.json", json.dumps(manifest, indent=2, default=str) + "\n")


def remove_abandoned(root: Path) -> None:
    """Delete partial folders whose writing process no longer exists."""
    for partial in root.glob(".*.partial-*"):
        pid = partial.name.rsplit(".partial-", 1)[-1].split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(partial, ignore_errors=True)


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that partial folders are removed as on Ctrl-C."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def _rename_to_free_name(source: Path, target: Path) -> Path:
    """Rename ``source`` to ``target``, or ``target-2``, ``target-3``, ... when another run took the name first."""
    base, suffix = target, 1
    while True:
        try:
            os.rename(source, target)
            return target
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        suffix += 1
        target = base.with_name(f"{base.name}-{suffix}")


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


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in label).strip("-") or "run"
