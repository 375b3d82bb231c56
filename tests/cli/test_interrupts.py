"""An interrupted run leaves its results folder complete or absent, never half-written; the next run starts clean.

Each test starts ``loyalty run`` in its own process group, as a shell does,
and signals the whole group the way Ctrl-C or a job scheduler would: while
the results folder is being written (its hidden partial folder already holds
files), or while replications run in worker processes. After the
interrupted run, the next run into the same folder completes and leaves no
partial folder behind.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

import sim.outputs.folders
from sim.cli import app
from sim.outputs.folders import RunFolder

REPOSITORY = Path(__file__).resolve().parents[2]
COMPLETE = {
    "results.csv",
    "results.parquet",
    "summary.csv",
    "summary.parquet",
    "manifest.json",
    "report.md",
    "report.html",
    "market_share.png",
    "churn_retention.png",
    "profit.png",
    "loyalty_segments.png",
}
QUICK = ["--customers", "300", "--periods", "14", "-r", "2", "-j", "1"]


def start_run(out: Path, *sizes: str) -> subprocess.Popen:
    """``loyalty run baseline`` into ``out``, in a process group of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "run", "baseline", *sizes, "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPOSITORY,
        start_new_session=True,
    )


def partial_folders(out: Path) -> list[Path]:
    return sorted(out.glob(".*.partial-*")) if out.exists() else []


def wait_until_writing(process: subprocess.Popen, out: Path, timeout: float = 90.0) -> None:
    """Wait until the run's partial folder holds at least one file: it is writing its results."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the run ended before it wrote anything: {process.stderr.read()}"
        if any(any(folder.iterdir()) for folder in partial_folders(out) if folder.exists()):
            return
        time.sleep(0.01)
    raise AssertionError("the run never started writing its results")


def live_members(group: int) -> list[int]:
    """Processes of a process group that are still running (zombies awaiting their reaper do not count)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        state, pgid = fields[0], int(fields[2])
        if pgid == group and state != "Z":
            alive.append(int(entry.name))
    return alive


def assert_complete_or_absent(out: Path) -> None:
    """No partial folder; any results folder holds everything a finished run writes."""
    assert partial_folders(out) == []
    for folder in out.iterdir() if out.exists() else []:
        assert COMPLETE <= {p.name for p in folder.iterdir()}, f"{folder.name} is half-written"


@pytest.fixture
def next_run():
    """Run ``loyalty run`` again, small, in this process; it must complete and leave no partial folder.

    Yields a function of the results folder. The run command turns SIGTERM
    into an exit; the test process's own handler is put back afterwards.
    """
    previous = signal.getsignal(signal.SIGTERM)

    def again(out: Path) -> Path:
        before = set(out.iterdir()) if out.exists() else set()
        result = CliRunner().invoke(
            app, ["run", "baseline", "--customers", "200", "--periods", "3", "-r", "1", "-j", "1", "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        (new,) = set(out.iterdir()) - before
        assert COMPLETE <= {p.name for p in new.iterdir()}
        assert partial_folders(out) == []
        return new

    yield again
    signal.signal(signal.SIGTERM, previous)


@dataclass
class Interrupted:
    """A run signalled while writing its results: where it wrote, its process, and what it printed."""

    out: Path
    process: subprocess.Popen
    stderr: str


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory) -> dict[str, Interrupted]:
    """Three runs started at once, each signalled while writing its results: SIGINT, SIGTERM and SIGKILL."""
    root = tmp_path_factory.mktemp("interrupted")

    def interrupt_while_writing(signum: signal.Signals) -> Interrupted:
        out = root / signum.name
        process = start_run(out, *QUICK)
        wait_until_writing(process, out)
        os.killpg(process.pid, signum)
        _, stderr = process.communicate(timeout=60)
        return Interrupted(out, process, stderr)

    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = list(pool.map(interrupt_while_writing, (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)))
    return {run.out.name: run for run in runs}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_while_writing_leaves_the_folder_complete_or_absent(interrupted, next_run, signum):
    run = interrupted[signum.name]
    assert run.process.returncode in (0, 128 + signum), run.stderr  # 0: it had just finished
    assert "Traceback" not in run.stderr
    assert_complete_or_absent(run.out)
    next_run(run.out)
    assert_complete_or_absent(run.out)


def test_a_run_killed_outright_is_cleaned_up_by_the_next_run(interrupted, next_run):
    """SIGKILL cannot be caught: the partial folder stays, hidden, until the next run removes it."""
    run = interrupted["SIGKILL"]
    assert run.process.returncode == -signal.SIGKILL
    assert [p.name.split(".partial-", 1)[1].split("-")[0] for p in partial_folders(run.out)] == [str(run.process.pid)]
    assert [p for p in run.out.iterdir() if not p.name.startswith(".")] == []
    next_run(run.out)
    assert_complete_or_absent(run.out)


def test_ctrl_c_while_workers_run_replications_leaves_nothing_running_or_written(tmp_path):
    out = tmp_path / "results"
    process = start_run(out, "--customers", "20000", "-r", "4", "-j", "2")
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    deadline = time.monotonic() + 90
    while process.poll() is None and not children.read_text().split():  # the worker pool has started
        assert time.monotonic() < deadline, "no worker process ever started"
        time.sleep(0.01)
    time.sleep(0.5)
    os.killpg(process.pid, signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGINT
    deadline = time.monotonic() + 10
    while live_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live_members(process.pid) == [], "worker processes outlived the interrupted run"
    assert not out.exists() or list(out.iterdir()) == []


# --- defects in sim/run_folder.py --------------------------------------------------------------------------------


class _OneInstant(dt.datetime):
    """A clock stopped at one second, so that two runs finish 'at the same time'."""

    @classmethod
    def now(cls, tz=None):
        return dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=tz)


def test_two_folders_of_one_label_in_the_same_second_both_keep_their_results(tmp_path, monkeypatch):
    monkeypatch.setattr(sim.outputs.folders, "datetime", _OneInstant)
    first, second = RunFolder(tmp_path, "sweep"), RunFolder(tmp_path, "sweep")
    for folder, text in ((first, "first"), (second, "second")):
        with folder:
            folder.write("report.md", text)
    assert first.final != second.final
    assert {first.final.joinpath("report.md").read_text(), second.final.joinpath("report.md").read_text()} == {
        "first",
        "second",
    }
    assert partial_folders(tmp_path) == []


def test_a_folder_whose_final_rename_fails_leaves_no_partial_folder(tmp_path, monkeypatch):
    def refuse(source, target):
        raise OSError(errno.EXDEV, "Invalid cross-device link", str(source))

    monkeypatch.setattr(sim.outputs.folders.os, "rename", refuse)
    with pytest.raises(OSError):
        with RunFolder(tmp_path, "doomed") as folder:
            folder.write("report.md", "all of it")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


# --- hardening, round two: quiet at every moment, and nothing left running ---------------------------------------


def wait_for_workers(process: subprocess.Popen, timeout: float = 90.0) -> None:
    """Wait until the run has started a child process (the fork server that starts its workers)."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    deadline = time.monotonic() + timeout
    while process.poll() is None and not children.read_text().split():
        assert time.monotonic() < deadline, "no worker process ever started"
        time.sleep(0.005)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_while_the_command_starts_is_quiet(tmp_path, signum):
    """Ctrl-C while NumPy, pandas and Mesa still load: no KeyboardInterrupt traceback, status 130 (143 for SIGTERM)."""
    process = start_run(tmp_path / "results", *QUICK)
    maps = Path(f"/proc/{process.pid}/maps")
    deadline = time.monotonic() + 60
    while "numpy" not in maps.read_text():  # the command has taken over the signals and loads its libraries
        assert process.poll() is None and time.monotonic() < deadline, "the command never started loading"
        time.sleep(0.001)
    os.killpg(process.pid, signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.3])
def test_an_interrupt_as_the_workers_start_prints_no_fork_server_traceback(tmp_path, delay):
    """Ctrl-C just as the fork server starts the workers once printed a FileNotFoundError traceback."""
    process = start_run(tmp_path / "results", "--customers", "20000", "-r", "4", "-j", "2")
    wait_for_workers(process)
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGINT, stderr
    assert "Traceback" not in stderr and "Error" not in stderr, stderr
    deadline = time.monotonic() + 10
    while live_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live_members(process.pid) == []


def test_a_run_killed_outright_leaves_no_process_running(tmp_path):
    """SIGKILL of loyalty run once left the fork server, the resource tracker and a worker alive for minutes."""
    process = start_run(tmp_path / "results", "--customers", "100000", "-r", "4", "-j", "2")
    wait_for_workers(process)
    deadline = time.monotonic() + 60
    while len(live_members(process.pid)) < 4 and time.monotonic() < deadline:  # run, tracker, server, a worker
        time.sleep(0.05)
    time.sleep(1.0)  # the workers are busy with their replications
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while live_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live_members(process.pid) == [], "processes outlived the run they worked for"


def test_the_fork_server_hides_only_the_failures_of_a_pool_that_is_gone():
    script = (
        "import sys, sim.experiments.forkserver\n"
        "sys.excepthook(FileNotFoundError, FileNotFoundError(2, 'No such file or directory'), None)\n"
        "sys.excepthook(KeyboardInterrupt, KeyboardInterrupt(), None)\n"
        "sys.excepthook(ValueError, ValueError('a real failure'), None)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPOSITORY)
    assert "FileNotFoundError" not in result.stderr and "KeyboardInterrupt" not in result.stderr
    assert "ValueError: a real failure" in result.stderr
