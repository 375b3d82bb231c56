"""The ``loyalty`` command: run, compare and check scenarios from the shell."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import pydantic
import typer

from .events import describe
from .parameters import Scenario
from .scenario_files import ScenarioError, find_scenario, list_scenarios, load_scenario

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(
    help="loyalty-sim: what keeps customers loyal, and what that loyalty is worth.\n\n"
    "Scenarios are TOML files (see scenarios/README.md); give a path or the name of a shipped one, "
    "e.g. 'baseline' or 'price_war'. Results go to a new folder under results/.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

CORES = os.cpu_count() or 1
Replications = Annotated[Optional[int], typer.Option("--replications", "-r", min=1, help="Replications (default: the scenario's).")]
Seed = Annotated[Optional[int], typer.Option("--seed", min=0, help="Seed of the first replication (default: the scenario's).")]
Customers = Annotated[Optional[int], typer.Option("--customers", min=1, help="Override the number of customers.")]
Periods = Annotated[Optional[int], typer.Option("--periods", min=1, help="Override the number of months.")]
Workers = Annotated[int, typer.Option("--workers", "-j", min=1, help="Processes running replications (default: all cores).")]
Out = Annotated[Path, typer.Option("--out", help="Folder that receives the results folder.")]


@app.callback()
def _before_any_command() -> None:
    # Commands write figures to files and never open a window. Chosen here, not on import, so that
    # a notebook or a test process that imports the package keeps its own backend.
    import matplotlib

    matplotlib.use("Agg")


@app.command("list")
def list_command() -> None:
    """List the shipped scenarios and the question each asks."""
    for path, scenario in list_scenarios():
        if isinstance(scenario, ScenarioError):
            typer.echo(f"{path.stem:<24} (invalid: {scenario})")
        else:
            typer.echo(f"{path.stem:<24} {scenario.description}")


@app.command()
def check(scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name.")]) -> None:
    """Validate a scenario file without running it."""
    loaded = _load(scenario)
    m = loaded.market
    typer.echo(
        f"{find_scenario(scenario)}: ok - {loaded.name}: {len(loaded.firms)} firms, {m.customers:,} customers, "
        f"{m.periods} months, {loaded.replications} replications, {len(loaded.events)} events"
    )
    for event in loaded.events:
        typer.echo(f"  {describe(event)}")


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name.")] = "baseline",
    replications: Replications = None,
    seed: Seed = None,
    customers: Customers = None,
    periods: Periods = None,
    workers: Workers = CORES,
    out: Out = Path("results"),
) -> None:
    """Run all replications of a scenario, write results, print a summary table."""
    from .plots import plot_run
    from .replications import run_replications
    from .report import run_report
    from .run_folder import exit_cleanly_on_sigterm
    from .summary import firm_summary, printable

    loaded = _load(scenario, replications=replications, seed=seed, customers=customers, periods=periods)
    exit_cleanly_on_sigterm()
    results = run_replications(loaded, loaded.seeds, workers=workers, progress=True)
    summary = firm_summary(results)
    final = _publish(
        out, loaded.name, results, {"summary": summary}, plot_run,
        lambda figures: run_report(loaded, summary, figures, loaded.seeds, [describe(e) for e in loaded.events]),
        loaded.name, scenario=loaded.model_dump(mode="json"), source=str(find_scenario(scenario)), seeds=loaded.seeds,
    )
    typer.echo(f"{loaded.name}: {len(loaded.seeds)} replications, {loaded.market.customers:,} customers, {loaded.market.periods} months")
    typer.echo(printable(summary).to_string())
    typer.echo(f"\nresults: {final}")


@app.command()
def compare(
    scenarios: Annotated[list[str], typer.Argument(help="Two or more scenarios; the first is the reference.")],
    replications: Replications = None,
    seed: Seed = None,
    customers: Customers = None,
    periods: Periods = None,
    workers: Workers = CORES,
    out: Out = Path("results"),
) -> None:
    """Run scenarios on the same seeds and compare churn, share and profit, with intervals."""
    import pandas as pd

    from .plots import plot_comparison
    from .replications import run_replications
    from .report import comparison_findings, comparison_report
    from .run_folder import exit_cleanly_on_sigterm
    from .summary import comparison

    if len(scenarios) < 2:
        _fail("compare needs at least two scenarios")
    first = _load(scenarios[0], replications=replications, seed=seed, customers=customers, periods=periods)
    loaded = [first] + [
        _load(name, replications=first.replications, seed=first.seed, customers=customers, periods=periods)
        for name in scenarios[1:]
    ]
    names = [s.name for s in loaded]
    if len(set(names)) != len(names):
        _fail(f"scenario names must differ to be compared: {', '.join(names)}")
    exit_cleanly_on_sigterm()
    results = pd.concat([run_replications(s, first.seeds, workers=workers, progress=True) for s in loaded], ignore_index=True)
    table = comparison(results, first.name)
    final = _publish(
        out, "-vs-".join(names), results, {"comparison": table}, plot_comparison,
        lambda figures: comparison_report(loaded, table, figures, first.seeds), " vs ".join(names),
        scenarios=[s.model_dump(mode="json") for s in loaded], sources=[str(find_scenario(n)) for n in scenarios],
        seeds=first.seeds,
    )
    typer.echo(f"{' vs '.join(names)}: {len(first.seeds)} replications each, common random numbers")
    for finding in comparison_findings(table, first.name):
        typer.echo(f"- {finding.replace('**', '')}")
    typer.echo(f"\nresults: {final}")


@app.command()
def lift(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name.")] = "baseline",
    firm: Annotated[str, typer.Option("--firm", help="The firm whose retention is raised.")] = "A",
    points: Annotated[Optional[float], typer.Option("--points", help="Gain in annual retention, percentage points (default 5).")] = None,
    relative: Annotated[Optional[float], typer.Option("--relative", help="Gain as a share of retention, e.g. 0.05.")] = None,
    via: Annotated[str, typer.Option("--via", help="direct (keep would-be leavers), service, barrier, recovery or care.")] = "direct",
    replications: Replications = None,
    seed: Seed = None,
    customers: Customers = None,
    periods: Periods = None,
    workers: Workers = CORES,
    out: Out = Path("results"),
) -> None:
    """What is a gain in retention worth? Raise one firm's retention and measure the profit."""
    import pandas as pd

    from .lift import LiftError, lift_findings, lift_table, retention_lift
    from .plots import plot_comparison
    from .report import lift_report
    from .run_folder import exit_cleanly_on_sigterm

    loaded = _load(scenario, replications=replications, seed=seed, customers=customers, periods=periods)
    exit_cleanly_on_sigterm()
    try:
        study = retention_lift(loaded, firm, points=points, relative=relative, via=via, workers=workers, progress=True)
    except LiftError as error:
        _fail(str(error))
    results = pd.concat([study.baseline, study.lifted], ignore_index=True)
    final = _publish(
        out, f"{loaded.name}-lift-{firm}-{via}", results, {"lift": lift_table(study)}, plot_comparison,
        lambda figures: lift_report(study, figures), f"{loaded.name}: retention lift for {firm}",
        scenario=loaded.model_dump(mode="json"), source=str(find_scenario(scenario)), seeds=study.seeds,
        lift={"firm": firm, "via": via, "lever": study.lever, "from": study.lever_before, "to": study.lever_after,
              "target_retention_pct": study.target_retention_pct, "search": study.search},
    )
    for finding in lift_findings(study):
        typer.echo(f"- {finding.replace('**', '')}")
    typer.echo(f"\nresults: {final}")


def _publish(
    out: Path,
    label: str,
    results: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    plot: Callable[[pd.DataFrame, Path], list[Path]],
    report: Callable[[list[Path]], str],
    title: str,
    **manifest: object,
) -> Path:
    """Write a complete results folder atomically: data, tables, figures, report, manifest."""
    from .report import to_html
    from .run_folder import RunFolder

    with RunFolder(out, label) as folder:
        folder.write_table("results", results)
        for stem, table in tables.items():
            folder.write_table(stem, table)
        figures = plot(results, folder.path)
        markdown = report(figures)
        folder.write_text("report.md", markdown)
        folder.write_text("report.html", to_html(markdown, title))
        folder.write_manifest(**manifest)
    return folder.final


def _load(name: str, **overrides: int | None) -> Scenario:
    """Load a scenario and apply command-line overrides; any mistake exits with status 2."""
    try:
        scenario = load_scenario(name)
    except ScenarioError as error:
        _fail(str(error))
    return _override(scenario, name, **overrides)


def _override(scenario: Scenario, name: str, **overrides: int | None) -> Scenario:
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
        _fail(f"{name}: {'.'.join(map(str, problem['loc']))}: {problem['msg']}")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


# Commands that live beside their machinery register themselves on ``app``.
from . import cli_app, cli_calibrate, cli_sweep, cli_validate  # noqa: E402,F401

if __name__ == "__main__":
    # Run as ``python -m sim.cli``: the command modules registered on ``sim.cli.app``, not on this copy.
    from sim.cli import app as registered

    registered()
