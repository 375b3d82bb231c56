"""Small markets shared by the tests, and a check of every figure any test saves."""

import signal

import matplotlib.figure
import pytest

from sim import FirmLevers, Market, Population, Scenario

# A test run started in the background by a script inherits Ctrl-C (SIGINT) ignored, and so would every command
# the tests start; the interrupt tests need the commands to hear it as a terminal delivers it. A handler of our
# own here gives the commands the default disposition again (an ignored signal stays ignored across exec).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def small_market(customers: int = 400, periods: int = 24, **population) -> Scenario:
    """The baseline's three firms in a small market."""
    return Scenario(
        name="small", market=Market(customers=customers, periods=periods), population=Population(**population)
    )


def with_firm(scenario: Scenario, index: int, **levers) -> Scenario:
    """A copy of ``scenario`` with some levers of one firm changed."""
    firms = list(scenario.firms)
    firms[index] = firms[index].model_copy(update=levers)
    return scenario.model_copy(update={"firms": [FirmLevers.model_validate(f.model_dump()) for f in firms]})


@pytest.fixture(scope="session")
def cluster():
    """One two-worker local Dask cluster on 127.0.0.1, shared by the sweep and sensitivity tests."""
    import logging

    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            scheduler_kwargs={"dashboard": False},
            silence_logs=logging.CRITICAL,
        ) as local,
        Client(local) as client,
    ):
        yield client


@pytest.fixture(scope="session")
def dask_scheduler():
    """A real Dask cluster started as a user starts one: ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1.

    Yields the scheduler's address once two single-threaded workers have joined it; ends both processes after.
    """
    import shutil
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    from distributed import Client

    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet
    )
    workers = subprocess.Popen(
        [dask, "worker", address, "--nworkers", "2", "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
        **quiet,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout="2s") as client:
                    client.wait_for_workers(2, timeout=30)
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for process in (workers, scheduler):
            process.terminate()
        for process in (workers, scheduler):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(autouse=True)
def every_figure_is_checked_at_its_saved_size(monkeypatch):
    """Every figure a test saves is checked as saved: no two tick labels of an axis overlap, no text leaves it."""
    from sim.outputs.figures.style import overlapping_labels, texts_outside

    save = matplotlib.figure.Figure.savefig

    def checked(figure, *args, **kwargs):
        result = save(figure, *args, **kwargs)
        problems = overlapping_labels(figure) + texts_outside(figure)
        assert not problems, f"a figure saved as {args[0] if args else ''!s:.80}: " + "; ".join(problems)
        return result

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", checked)
