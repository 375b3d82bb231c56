"""The ``loyalty validate-model`` command: the model's stylized-facts report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.options import (
    CORES,
    Customers,
    Out,
    Scheduler,
    Seed,
    Workers,
    exit_cleanly_on_sigterm,
    fail,
    failing_on,
    load,
    writable_folder,
)
from sim.experiments.validation import FACTS, run_validation
from sim.outputs.reports.validation import publish_validation, terminal_table


def validate_model_command(
    fast: Annotated[
        bool, typer.Option("--fast", help="The small version the tests run (3,000 customers, 4 replications).")
    ] = False,
    replications: Annotated[
        int | None,
        typer.Option("--replications", "-r", min=2, help="Replications per experiment (default: 10; 4 with --fast)."),
    ] = None,
    seed: Seed = None,
    customers: Customers = None,
    scenario: Annotated[
        str | None,
        typer.Option("--scenario", help="Check the model on this scenario's market and customers (default: baseline)."),
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Check only this fact (repeatable); the report names them.")
    ] = None,
    workers: Workers = CORES,
    scheduler: Scheduler = None,
    out: Out = Path("results"),
) -> None:
    """Run the stylized-facts suite and write a report: one row per fact, pass or fail, with intervals.

    Exits with status 1 when any fact fails.
    """
    unknown = [name for name in only or [] if name not in FACTS]
    if unknown:
        fail(f"--only {unknown[0]}: no such fact; facts are {', '.join(FACTS)}")
    base = load(scenario) if scenario is not None else None
    writable_folder(out, f"validation-{base.name if base is not None else 'baseline'}")
    exit_cleanly_on_sigterm()
    with failing_on():
        validation = run_validation(
            fast,
            replications,
            1 if seed is None else seed,
            workers,
            scheduler=scheduler,
            customers=customers,
            scenario=base,
            facts=only,
            progress=True,
        )
    final = publish_validation(validation, out)
    passed = sum(f.passed for f in validation.facts)
    typer.echo(terminal_table(validation))
    typer.echo(f"\n{passed} of {len(validation.facts)} facts pass.")
    typer.echo(f"results: {final}")
    if not validation.passed:
        raise typer.Exit(1)
