"""The researcher's commands: the model's ODD description, and customer histories with a known truth.

``loyalty describe`` writes the ODD protocol for a scenario; ``loyalty export`` every customer's history in one run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.options import (
    Customers,
    Out,
    Periods,
    Seed,
    enough_memory,
    exit_cleanly_on_sigterm,
    failing_on,
    load,
    source_of,
    warn_of_what_never_happens,
    writable_file,
    writable_folder,
)
from sim.engine.scenario_files import find_scenario
from sim.experiments.export import customer_histories
from sim.outputs.figures.export import plot_export
from sim.outputs.folders import publish, write_atomically
from sim.outputs.odd import describe as odd_description
from sim.outputs.reports.export import export_report


def describe(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name.")] = "baseline",
    out: Annotated[
        Path | None, typer.Option("--out", help="Markdown file to write (default: print to the terminal).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out file.")] = False,
) -> None:
    """Write the model's ODD protocol (Grimm et al. 2020) for a scenario, generated from the code, in Markdown."""
    loaded = load(scenario)
    source = find_scenario(scenario)
    if out is not None:
        writable_file(out, "--out", force=force, scenarios=(scenario,))
    try:
        display = source.relative_to(Path.cwd())
    except ValueError:
        display = source
    text = odd_description(loaded, source=str(display))
    if out is None:
        typer.echo(text, nl=False)
        return
    write_atomically(out, text)
    typer.echo(f"{out}: the ODD description of {loaded.name}, {len(text.splitlines()):,} lines")


def export(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name.")] = "baseline",
    seed: Seed = None,
    customers: Customers = None,
    periods: Periods = None,
    out: Out = Path("results"),
) -> None:
    """Run a scenario once and write every customer's spells with each firm, its traits and cohort tables.

    Data with a known truth, for testing churn and lifetime-value estimators: tidy CSV and Parquet with a
    data dictionary, month by month.
    """
    loaded = load(scenario, seed=seed, customers=customers, periods=periods)
    writable_folder(out, f"{loaded.name}-export")
    enough_memory(loaded)
    warn_of_what_never_happens(loaded)
    exit_cleanly_on_sigterm()
    with failing_on():
        histories = customer_histories(loaded, loaded.seed, progress=True)
    final = publish(
        out,
        f"{loaded.name}-export",
        tables={
            "spells": histories.spells,
            "customers": histories.customers,
            "cohorts": histories.cohorts,
            "events": histories.events,
            "dictionary": histories.dictionary(),
        },
        figures=lambda folder: plot_export(histories.cohorts, folder),
        report=lambda figures: export_report(histories, figures),
        title=f"Customer histories: {loaded.name}",
        scenario=loaded.model_dump(mode="json"),
        source=source_of(scenario),
        seeds=[loaded.seed],
    )
    spells = histories.spells
    typer.echo(
        f"{loaded.name}, seed {loaded.seed}: {len(histories.customers):,} customers, {len(spells):,} spells "
        f"({int(spells.censored.sum()):,} censored), {histories.cohorts.cohort_month.nunique()} months of joiners"
    )
    typer.echo(f"results: {final}")
