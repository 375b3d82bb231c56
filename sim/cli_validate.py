"""The ``loyalty validate-model`` command: the model's stylized-facts report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .cli import CORES, Customers, Out, Seed, Workers, _fail, _load, app


@app.command("validate-model")
def validate_model_command(
    fast: Annotated[
        bool, typer.Option("--fast", help="The small version the tests run (3,000 customers, 4 replications).")
    ] = False,
    replications: Annotated[
        Optional[int],
        typer.Option("--replications", "-r", min=2, help="Replications per experiment (default: 10; 4 with --fast)."),
    ] = None,
    seed: Seed = None,
    customers: Customers = None,
    scenario: Annotated[
        Optional[str],
        typer.Option("--scenario", help="Check the model on this scenario's market and customers (default: baseline)."),
    ] = None,
    only: Annotated[
        Optional[list[str]], typer.Option("--only", help="Check only this fact (repeatable); the report names them.")
    ] = None,
    workers: Workers = CORES,
    out: Out = Path("results"),
) -> None:
    """Run the stylized-facts suite and write a report: one row per fact, pass or fail, with intervals.

    Exits with status 1 when any fact fails.
    """
    from .report import to_html
    from .run_folder import RunFolder, exit_cleanly_on_sigterm
    from .validation import FACTS, plot_validation, reproduce_command, run_validation, terminal_table, validation_report

    unknown = [name for name in only or [] if name not in FACTS]
    if unknown:
        _fail(f"--only {unknown[0]}: no such fact; facts are {', '.join(FACTS)}")
    base = _load(scenario) if scenario is not None else None
    exit_cleanly_on_sigterm()
    validation = run_validation(
        fast, replications, 1 if seed is None else seed, workers, customers=customers, scenario=base, facts=only,
        progress=True,
    )
    with RunFolder(out, f"validation-{validation.scenario.name}") as folder:
        folder.write_table("facts", validation.table())
        folder.write_table("measurements", validation.measurements())
        figures = plot_validation(validation, folder.path)
        markdown = validation_report(validation, figures)
        folder.write_text("report.md", markdown)
        folder.write_text("report.html", to_html(markdown, "Stylized facts: does the model reproduce them?"))
        folder.write_manifest(
            scenario=validation.scenario.model_dump(mode="json"), seeds=validation.seeds, fast=validation.fast,
            reproduce=reproduce_command(validation),
            facts={f.fact: {"passed": f.passed, "value": f.value, "low": f.low, "high": f.high, "rule": f.rule,
                            "setup": f.setup, "scenarios": f.scenarios} for f in validation.facts},
        )
    passed = sum(f.passed for f in validation.facts)
    typer.echo(terminal_table(validation))
    typer.echo(f"\n{passed} of {len(validation.facts)} facts pass.")
    typer.echo(f"results: {folder.final}")
    if not validation.passed:
        raise typer.Exit(1)
