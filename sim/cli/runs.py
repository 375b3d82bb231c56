"""``loyalty list``, ``check``, ``run``, ``compare`` and ``lift``: scenarios and what a retention gain is worth."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from sim.cli.options import (
    CORES,
    Customers,
    Out,
    Periods,
    Replications,
    Scheduler,
    Seed,
    Workers,
    enough_memory,
    exit_cleanly_on_sigterm,
    fail,
    failing_on,
    load,
    source_of,
    warn_of_what_never_happens,
    writable_folder,
)
from sim.engine.events import describe
from sim.engine.scenario_files import ScenarioError, find_scenario, list_scenarios
from sim.experiments.evaluator import evaluator
from sim.experiments.intervals import too_few_for_intervals
from sim.experiments.lift import LiftError, lift_table, retention_lift
from sim.experiments.replications import run_replications
from sim.experiments.summary import comparison, firm_summary
from sim.outputs.figures.runs import plot_comparison, plot_run
from sim.outputs.folders import publish
from sim.outputs.reports.lift import lift_findings, lift_report
from sim.outputs.reports.runs import comparison_findings, comparison_report, run_report
from sim.outputs.terminal import summary_table, terminal_width


def list_command() -> None:
    """List the shipped scenarios and the question each asks."""
    for path, scenario in list_scenarios():
        if isinstance(scenario, ScenarioError):
            typer.echo(f"{path.stem:<24} (invalid: {scenario})")
        else:
            typer.echo(f"{path.stem:<24} {scenario.description}")


def check(scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name.")]) -> None:
    """Validate a scenario file without running it."""
    loaded = load(scenario)
    m = loaded.market
    typer.echo(
        f"{find_scenario(scenario)}: ok - {loaded.name}: {len(loaded.firms)} firms, {m.customers:,} customers, "
        f"{m.periods} months, {loaded.replications} replications, {len(loaded.events)} events"
    )
    for event in loaded.events:
        typer.echo(f"  {describe(event)}")
    warn_of_what_never_happens(loaded)


def run(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name.")] = "baseline",
    replications: Replications = None,
    seed: Seed = None,
    customers: Customers = None,
    periods: Periods = None,
    workers: Workers = CORES,
    scheduler: Scheduler = None,
    out: Out = Path("results"),
) -> None:
    """Run all replications of a scenario, write results, print a summary table."""
    loaded = load(scenario, replications=replications, seed=seed, customers=customers, periods=periods)
    writable_folder(out, loaded.name)
    enough_memory(loaded, min(workers, loaded.replications))
    warn_of_what_never_happens(loaded)
    exit_cleanly_on_sigterm()
    with failing_on():
        results = run_replications(loaded, loaded.seeds, workers=workers, scheduler=scheduler, progress=True)
    summary = firm_summary(results)
    final = publish(
        out,
        loaded.name,
        tables={"results": results, "summary": summary},
        figures=lambda folder: plot_run(results, folder),
        report=lambda figures: run_report(loaded, summary, figures, loaded.seeds, [describe(e) for e in loaded.events]),
        title=loaded.name,
        scenario=loaded.model_dump(mode="json"),
        source=source_of(scenario),
        seeds=loaded.seeds,
    )
    m = loaded.market
    typer.echo(f"{loaded.name}: {len(loaded.seeds)} replications, {m.customers:,} customers, {m.periods} months")
    typer.echo(summary_table(summary))
    note = too_few_for_intervals(len(loaded.seeds))
    if note:
        typer.echo("\n" + textwrap.fill(f"note: {note}", terminal_width()))
    typer.echo(f"\nresults: {final}")


def compare(
    scenarios: Annotated[list[str], typer.Argument(help="Two or more scenarios; the first is the reference.")],
    replications: Replications = None,
    seed: Seed = None,
    customers: Customers = None,
    periods: Periods = None,
    workers: Workers = CORES,
    scheduler: Scheduler = None,
    out: Out = Path("results"),
) -> None:
    """Run scenarios on the same seeds and compare churn, share and profit, with intervals."""
    if len(scenarios) < 2:
        fail("compare needs at least two scenarios")
    first = load(scenarios[0], replications=replications, seed=seed, customers=customers, periods=periods)
    loaded = [first] + [
        load(name, replications=first.replications, seed=first.seed, customers=customers, periods=periods)
        for name in scenarios[1:]
    ]
    names = [s.name for s in loaded]
    if len(set(names)) != len(names):
        fail(f"scenario names must differ to be compared: {', '.join(names)}")
    writable_folder(out, "-vs-".join(names))
    enough_memory(max(loaded, key=lambda s: s.market.customers), min(workers, first.replications))
    warn_of_what_never_happens(*loaded)
    exit_cleanly_on_sigterm()
    runner = evaluator(min(workers, len(first.seeds)), scheduler)
    with failing_on(), runner:
        results = pd.concat(
            [run_replications(s, first.seeds, runner=runner, progress=True) for s in loaded], ignore_index=True
        )
    table = comparison(results, first.name)
    final = publish(
        out,
        "-vs-".join(names),
        tables={"results": results, "comparison": table},
        figures=lambda folder: plot_comparison(results, folder),
        report=lambda figures: comparison_report(loaded, table, figures, first.seeds),
        title=" vs ".join(names),
        scenarios=[s.model_dump(mode="json") for s in loaded],
        sources=[source_of(n) for n in scenarios],
        seeds=first.seeds,
    )
    typer.echo(f"{' vs '.join(names)}: {len(first.seeds)} replications each, common random numbers")
    for finding in comparison_findings(table, first.name):
        typer.echo(f"- {finding.replace('**', '')}")
    note = too_few_for_intervals(len(first.seeds))
    if note:
        typer.echo(f"\nnote: {note}")
    typer.echo(f"\nresults: {final}")


def lift(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name.")] = "baseline",
    firm: Annotated[str, typer.Option("--firm", help="The firm whose retention is raised.")] = "A",
    points: Annotated[
        float | None, typer.Option("--points", help="Gain in 12-month retention, percentage points (default 5).")
    ] = None,
    relative: Annotated[
        float | None, typer.Option("--relative", help="Gain as a share of retention, e.g. 0.05.")
    ] = None,
    via: Annotated[
        str,
        typer.Option(
            "--via",
            help="direct (a save desk keeps would-be leavers), hazard (fewer leave the market for outside reasons), "
            "service, barrier, recovery or care.",
        ),
    ] = "direct",
    replications: Replications = None,
    seed: Seed = None,
    customers: Customers = None,
    periods: Periods = None,
    workers: Workers = CORES,
    scheduler: Scheduler = None,
    out: Out = Path("results"),
) -> None:
    """What is a gain in retention worth? Raise one firm's retention and measure the profit."""
    loaded = load(scenario, replications=replications, seed=seed, customers=customers, periods=periods)
    writable_folder(out, f"{loaded.name}-lift-{firm}-{via}")
    enough_memory(loaded, min(workers, loaded.replications))
    warn_of_what_never_happens(loaded)
    exit_cleanly_on_sigterm()
    with failing_on(LiftError):
        study = retention_lift(
            loaded, firm, points=points, relative=relative, via=via, workers=workers, scheduler=scheduler, progress=True
        )
    results = pd.concat([study.baseline, study.lifted], ignore_index=True)
    final = publish(
        out,
        f"{loaded.name}-lift-{firm}-{via}",
        tables={"results": results, "lift": lift_table(study)},
        figures=lambda folder: plot_comparison(results, folder),
        report=lambda figures: lift_report(study, figures),
        title=f"{loaded.name}: retention lift for {firm}",
        scenario=loaded.model_dump(mode="json"),
        source=source_of(scenario),
        seeds=study.seeds,
        lift={
            "firm": firm,
            "via": via,
            "lever": study.lever,
            "from": study.lever_before,
            "to": study.lever_after,
            "target_retention_pct": study.target_retention_pct,
            "search": study.search,
        },
    )
    for finding in lift_findings(study):
        typer.echo(f"- {finding.replace('**', '')}")
    note = too_few_for_intervals(len(study.seeds))
    if note:
        typer.echo(f"\nnote: {note}")
    typer.echo(f"\nresults: {final}")
