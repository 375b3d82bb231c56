"""Results folders that appear whole or not at all, and the one atomic write.

A run writes into a hidden ``.NAME.partial-PID-XXXX`` folder beside its final
place and renames it to ``NAME`` only when everything is written; an error or
an interruption removes the partial folder. A folder left behind by a process
that was killed outright is cleaned up by the next run. Single files (a task
of a sweep, a calibrated scenario, a cohort table) are written the same way
by ``write_atomically``: to a hidden partial file beside them, then renamed.

``publish`` is the one way a command writes its results folder: data tables,
figures, the report in Markdown and HTML, and the manifest that says how to
reproduce them.
"""

from __future__ import annotations

import errno
import json
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import mesa
import numpy
import pandas as pd

from sim.engine.model import package_version
from sim.outputs.reports.markdown import to_html

Content = str | bytes | Callable[[Path], object]
"""What ``write_atomically`` writes: text (UTF-8), bytes, or a function that writes the file at the path it is given."""


def write_atomically(path: Path | str, content: Content) -> Path:
    """Write a file through a hidden temporary file beside it and a rename, so it is never seen half written.

    Args:
        path: the file to write.
        content: text, bytes, or a writer ``f(partial_path)`` (e.g. ``table.to_parquet``).

    Returns:
        The path written.
    """
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        if isinstance(content, str):
            partial.write_text(content, encoding="utf-8")
        elif isinstance(content, bytes):
            partial.write_bytes(content)
        else:
            content(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def publish(
    out: Path | str,
    label: str,
    *,
    tables: Mapping[str, pd.DataFrame],
    report: Callable[[list[Path]], str],
    title: str,
    figures: Callable[[Path], list[Path]] | None = None,
    files: Mapping[str, str | bytes] | None = None,
    **manifest: object,
) -> Path:
    """Write a complete results folder atomically: tables, figures, report, extra files and manifest.

    Args:
        out: the folder that receives the results folder.
        label: the start of the results folder's name (a timestamp follows).
        tables: stem -> table, each written as CSV and Parquet.
        report: the Markdown report, given the figures written.
        title: the HTML report's title.
        figures: draws the figures into the folder it is given; returns their paths.
        files: more files, name -> content.
        **manifest: facts for ``manifest.json`` (scenario, seeds, ...).

    Returns:
        The finished folder.
    """
    with RunFolder(out, label) as folder:
        for stem, table in tables.items():
            folder.write_table(stem, table)
        for name, content in (files or {}).items():
            folder.write(name, content)
        drawn = figures(folder.path) if figures is not None else []
        markdown = report(drawn)
        folder.write("report.md", markdown)
        folder.write("report.html", to_html(markdown, title))
        folder.write_manifest(**manifest)
    return folder.final


class RunFolder:
    """A results folder under ``root``, named ``LABEL-YYYYmmdd-HHMMSS``, written atomically.

    Use as a context manager; write files under ``folder.path`` (or with the
    helpers) and the finished folder is at ``folder.final`` after the block.
    """

    def __init__(self, root: Path | str, label: str) -> None:
        self.root = Path(root)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        name = f"{safe_name(label)}-{stamp}"
        self.final = self.root / name
        self.path = self.root / f".{name}.partial-{os.getpid()}"

    def __enter__(self) -> RunFolder:
        self.root.mkdir(parents=True, exist_ok=True)
        remove_abandoned(self.root)
        # A unique partial folder, even for two runs of one process in the same second.
        self.path = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.partial-{os.getpid()}-", dir=self.root))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        try:
            self.final = _rename_to_free_name(self.path, self.final)
        except BaseException:
            shutil.rmtree(self.path, ignore_errors=True)
            raise

    def write(self, name: str, content: str | bytes) -> Path:
        """Write a file into the folder: text (UTF-8) or bytes."""
        target = self.path / name
        if isinstance(content, str):
            target.write_text(content, encoding="utf-8")
        else:
            target.write_bytes(content)
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
        manifest = {
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "package": "loyalty-sim",
            "version": package_version(),
            "command": " ".join(["loyalty", *sys.argv[1:]]) if sys.argv else "",
            "python": platform.python_version(),
            "mesa": mesa.__version__,
            "numpy": numpy.__version__,
            **facts,
        }
        return self.write("manifest.json", json.dumps(manifest, indent=2, default=str) + "\n")


def remove_abandoned(root: Path) -> None:
    """Delete partial folders whose writing process no longer exists."""
    for partial in root.glob(".*.partial-*"):
        pid = partial.name.rsplit(".partial-", 1)[-1].split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(partial, ignore_errors=True)


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


def safe_name(label: str) -> str:
    """A label as a folder name: letters, digits, ``-`` and ``_`` (``run`` when nothing is left)."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in label).strip("-") or "run"
