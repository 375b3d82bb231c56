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

Before anything runs, a command asks ``check_results_folder`` and
``check_output_file`` whether its outputs can be written: a folder that is a
file, that cannot be created or written, a file that is one of the command's
inputs, or one that exists already (without ``force``) is refused as an
``OutputError``, in one line, while nothing has been computed yet.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import mesa
import numpy
import pandas as pd

from sim.engine.model import package_version
from sim.experiments.evaluator import process_alive
from sim.outputs.reports.markdown import to_html

LONGEST_LABEL_BYTES = 96
"""Longest label a results folder's name starts with, in UTF-8 bytes (a file name may have 255)."""

Content = str | bytes | Callable[[Path], object]
"""What ``write_atomically`` writes: text (UTF-8), bytes, or a function that writes the file at the path it is given."""


class OutputError(ValueError):
    """An output that cannot or must not be written; the message is one line for the user."""


def check_results_folder(root: Path | str, label: str, option: str = "--out") -> None:
    """Refuse, before anything runs, a folder that cannot receive a results folder labelled ``label``.

    The folder (and any folder above it that is missing) is created for a
    moment, a hidden folder named as the partial results folder will be is
    made and removed in it, and whatever did not exist before is removed
    again: so a folder that is a file, that cannot be created or written, or
    a name the file system refuses, is found while nothing has been computed.

    Raises:
        OutputError: in one line naming the option, the folder and what is wrong.
    """
    root = Path(root)
    shown = f"{option} {root}"
    _check_folder_path(root, shown)
    created: list[Path] = []
    try:
        for folder in reversed([root, *root.parents]):
            if not folder.exists():
                folder.mkdir()
                created.append(folder)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        probe = root / f".{safe_name(label)}-{stamp}-99.partial-{os.getpid()}-probe123"
        probe.mkdir()
        probe.rmdir()
    except OSError as error:
        raise OutputError(f"{shown}: cannot write there: {error.strerror or error}") from None
    finally:
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                folder.rmdir()


def check_output_file(
    path: Path | str, option: str, *, force: bool = False, inputs: Iterable[tuple[str, Path | str]] = ()
) -> Path:
    """Refuse, before anything runs, a file that must not or cannot be written.

    Never one of the command's ``inputs`` (even with ``force``); not a file
    that exists unless ``force``; not in a folder that is missing, that is a
    file, or where a file cannot be created (a hidden file is created and
    removed there to find out).

    Args:
        path: the file to write.
        option: the option that named it, for the message (``--out``).
        force: whether an existing file may be replaced.
        inputs: (what each input is, such as ``"the scenario file"``, its path).

    Returns:
        The path.

    Raises:
        OutputError: in one line naming the option, the file and what is wrong.
    """
    path = Path(path)
    shown = f"{option} {path}"
    if path.is_dir():
        raise OutputError(f"{shown}: is a folder; give the name of the file to write")
    for what, source in inputs:
        if _same_file(path, Path(source)):
            raise OutputError(f"{shown}: is {what} this command reads; write to another file")
    _check_folder_path(path.parent, shown, must_exist=True)
    if path.exists() and not force:
        raise OutputError(f"{shown}: already exists; give --force to replace it")
    probe = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        probe.unlink()
    except FileExistsError:
        pass  # a partial file of this very process: writable
    except OSError as error:
        raise OutputError(f"{shown}: cannot write there: {error.strerror or error}") from None
    return path


def _check_folder_path(folder: Path, shown: str, must_exist: bool = False) -> None:
    """Refuse a folder path that is, or lies under, a file (or, with ``must_exist``, that does not exist)."""
    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                raise OutputError(f"{shown}: {above} is a file, not a folder")
            break
        if must_exist:
            raise OutputError(f"{shown}: no such folder {folder}")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


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


def safe_name(label: str) -> str:
    """A label as a folder name: letters, digits, ``-`` and ``_`` (``run`` when nothing is left).

    A label longer than ``LONGEST_LABEL_BYTES`` in UTF-8 is cut there and
    ends in eight hex digits of its hash, so that two long labels that start
    alike still name different folders, and no name is too long for the file
    system.
    """
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in label).strip("-") or "run"
    if len(name.encode("utf-8")) <= LONGEST_LABEL_BYTES:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    cut = name.encode("utf-8")[: LONGEST_LABEL_BYTES - 9].decode("utf-8", errors="ignore").rstrip("-")
    return f"{cut}-{digest}"
