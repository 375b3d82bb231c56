"""What the ``loyalty`` commands share: their options, loading a scenario with overrides, one-line errors.

Every command module imports this one and nothing of the package's command
line else, so that the commands never import each other.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Annotated, NoReturn

import pydantic
import typer

from sim.engine.events import never_happen
from sim.engine.memory import MemoryShortageError, check_memory
from sim.engine.parameters import Scenario
from sim.engine.scenario_files import ScenarioError, find_scenario, load_scenario, scenario_chain
from sim.experiments.evaluator import EvaluatorError
from sim.outputs.folders import OutputError, check_output_file, check_results_folder

CORES = os.cpu_count() or 1
Replications = Annotated[
    int | None, typer.Option("--replications", "-r", min=1, help="Replications (default: the scenario's).")
]
Seed = Annotated[
    int | None, typer.Option("--seed", min=0, help="Seed of the first replication (default: the scenario's).")
]
Customers = Annotated[int | None, typer.Option("--customers", min=1, help="Override the number of customers.")]
Periods = Annotated[int | None, typer.Option("--periods", min=1, help="Override the number of months.")]
Workers = Annotated[
    int, typer.Option("--workers", "-j", min=1, help="Processes running replications (default: all cores).")
]
Out = Annotated[Path, typer.Option("--out", help="Folder that receives the results folder.")]
Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Address of a running Dask scheduler (e.g. tcp://10.0.0.5:8786) to run on instead of this machine.",
    ),
]
Retries = Annotated[int, typer.Option("--retries", min=0, help="Times a failing run is retried before it is reported.")]
Fresh = Annotated[
    bool, typer.Option("--fresh", help="Forget stored runs of this very sweep and compute everything again.")
]
Force = Annotated[bool, typer.Option("--force", help="Replace the output file if it exists (never an input).")]
DaskWorkers = Annotated[
    int, typer.Option("--workers", "-j", min=1, help="Dask worker processes of the local cluster (default: all cores).")
]


def load(name: str, **overrides: int | None) -> Scenario:
    """Load a scenario and apply command-line overrides; any mistake exits with status 2."""
    try:
        scenario = load_scenario(name)
    except ScenarioError as error:
        fail(str(error))
    return override(scenario, name, **overrides)


def override(scenario: Scenario, name: str, **overrides: int | None) -> Scenario:
    """Apply command-line overrides (``customers``, ``periods``, ``replications``, ``seed``); a bad value exits 2."""
    raw = scenario.model_dump()
    for key, value in overrides.items():
        if value is None:
            continue
        if key in ("customers", "periods"):
            raw["market"][key] = value
        else:
            raw[key] = value
    try:
        return Scenario.model_validate(raw)
    except pydantic.ValidationError as error:
        problem = error.errors()[0]
        fail(f"{name}: {'.'.join(map(str, problem['loc']))}: {problem['msg']}")


def warn_of_what_never_happens(*scenarios: Scenario) -> None:
    """Say on standard error, a line each, which events and entries fall after a run's last month."""
    for scenario in scenarios:
        for line in never_happen(scenario):
            typer.echo(f"warning: {line}", err=True)


def writable_folder(out: Path, label: str) -> None:
    """Refuse, before anything runs, an ``--out`` folder that cannot receive the results folder (exit 2)."""
    with failing_on(OutputError):
        check_results_folder(out, label)


def writable_file(path: Path, option: str, *, force: bool, scenarios: tuple[str, ...] = (), read: tuple = ()) -> None:
    """Refuse, before anything runs, a file that is an input, exists (without ``--force``) or cannot be written.

    Args:
        path: the file to write.
        option: the option that named it.
        force: whether an existing file may be replaced.
        scenarios: the scenarios the command reads; every file of their ``extends`` chains is an input.
        read: more inputs, as (what it is, path).
    """
    inputs = [
        ("the scenario file" if i == 0 else "a scenario file", file)
        for name in scenarios
        for i, file in enumerate(scenario_chain(name))
    ]
    with failing_on(OutputError):
        check_output_file(path, option, force=force, inputs=[*inputs, *read])


def fail(message: str) -> NoReturn:
    """Print ``error: MESSAGE`` on standard error and exit with status 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def enough_memory(scenario: Scenario, at_once: int = 1) -> None:
    """Refuse, before anything is built, runs of ``scenario`` that would not fit in memory, ``at_once`` at a time."""
    with failing_on(MemoryShortageError):
        check_memory(scenario.market.customers, max(1, at_once))


@contextlib.contextmanager
def failing_on(*errors: type[Exception]) -> Iterator[None]:
    """A ``with`` block in which the given errors (and an evaluator that cannot start) exit with one line, status 2.

    Running out of memory, here or in a worker process, is one line too.
    """
    try:
        yield
    except (EvaluatorError, *errors) as error:
        fail(str(error))
    except MemoryError:
        fail("ran out of memory while running: use fewer customers (--customers) or fewer workers (--workers)")
    except BrokenProcessPool:
        fail(
            "a worker process died while running (the system may have run out of memory and ended it): use fewer "
            "customers (--customers) or fewer workers (--workers)"
        )


def command_line() -> str:
    """The command as typed, for reports and manifests: ``loyalty run baseline -r 3``."""
    return " ".join(["loyalty", *(shlex.quote(a) for a in sys.argv[1:])])


def source_of(name: str) -> str:
    """The file a scenario name or path stands for."""
    return str(find_scenario(name))


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that partial folders are removed as on Ctrl-C."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
