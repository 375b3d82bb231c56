"""The ``loyalty sweep`` and ``loyalty sensitivity`` commands: many versions of a market, on Dask.

Both run their tasks on a Dask ``LocalCluster`` of this machine's cores, or
on an existing cluster (``--scheduler ADDRESS``), keep every finished run in
``OUT/.sweeps/`` so that an interrupted command resumes where it stopped, and
publish one results folder atomically when everything is done.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Annotated

import typer

from sim.cli.options import (
    CORES,
    Customers,
    DaskWorkers,
    Fresh,
    Out,
    Periods,
    Replications,
    Retries,
    Scheduler,
    Seed,
    command_line,
    enough_memory,
    exit_cleanly_on_sigterm,
    fail,
    override,
    source_of,
    warn_of_what_never_happens,
    writable_folder,
)
from sim.engine.parameters import Scenario
from sim.engine.scenario_files import ScenarioError
from sim.experiments.designs import make_design
from sim.experiments.evaluator import EvaluatorError
from sim.experiments.fields import parse_vary
from sim.experiments.sensitivity import DEFAULT_OUTCOMES, sensitivity
from sim.experiments.sweep import (
    SweepError,
    SweepFailed,
    SweepSpec,
    focus_firm,
    load_sweep_file,
    run_task,
    sweep,
    sweep_key,
)
from sim.outputs.reports.sensitivity import publish_sensitivity, sensitivity_findings
from sim.outputs.reports.sweep import publish_sweep, sweep_findings
from sim.outputs.store import opener

Firm = Annotated[
    str | None,
    typer.Option(
        "--firm",
        help="The firm the report speaks of (default: the firm of the first varied lever, else the first firm).",
    ),
]


def sweep_command(
    scenario: Annotated[
        str, typer.Argument(help="Scenario file or shipped name; its [sweep] table is used unless --vary is given.")
    ],
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            help="PATH=LOW:HIGH:N (a grid of N values), PATH=LOW:HIGH (a range, for lhs and sobol) or "
            "PATH=V1,V2,...; PATH is market.NAME, population.NAME or firms.FIRM.NAME. Repeat for more fields.",
        ),
    ] = None,
    design: Annotated[
        str | None,
        typer.Option(
            "--design", help="grid, lhs (Latin hypercube) or sobol (default: the [sweep] table's, else grid)."
        ),
    ] = None,
    samples: Annotated[
        int | None, typer.Option("--samples", help="Points of an lhs or sobol design (default 16).")
    ] = None,
    firm: Firm = None,
    replications: Replications = None,
    seed: Seed = None,
    customers: Customers = None,
    periods: Periods = None,
    workers: DaskWorkers = CORES,
    scheduler: Scheduler = None,
    retries: Retries = 2,
    fresh: Fresh = False,
    out: Out = Path("results"),
) -> None:
    """Run a scenario over ranges of its fields (grid, Latin hypercube or Sobol) with common random numbers.

    Every design point runs with the same seeds. Finished runs are kept in
    OUT/.sweeps/, so an interrupted sweep run again resumes where it stopped.
    Writes one tidy table of inputs and outcomes, response curves or heat
    maps, and a report.
    """
    loaded, spec = _load_with_sweep(
        scenario, replications=replications, seed=seed, customers=customers, periods=periods
    )
    try:
        pairs = dict(parse_vary(text) for text in vary) if vary else None
        chosen = pairs if pairs is not None else (spec.vary if spec else {})
        source = "--vary" if pairs is not None else (spec.source if spec else "--vary")
        kind = design or (spec.design if spec else "grid")
        count = samples if samples is not None else (spec.samples if spec else None)
        plan = make_design(loaded, chosen, kind, count, source=source)
        if firm is not None and firm not in [f.name for f in loaded.firms]:
            raise SweepError(f"--firm {firm}: must be one of {', '.join(f.name for f in loaded.firms)}")
        firm = firm or (spec.firm if spec else None)
    except (SweepError, EvaluatorError) as error:
        fail(str(error))
    writable_folder(out, f"{loaded.name}-sweep")
    enough_memory(loaded, workers if scheduler is None else 1)
    seeds = loaded.seeds
    where = f"the cluster at {scheduler}" if scheduler else f"a local cluster of {workers} worker{'s' * (workers > 1)}"
    typer.echo(
        f"{loaded.name}: {plan.text()} x {len(seeds)} replication{'s' * (len(seeds) > 1)} = "
        f"{len(plan.points) * len(seeds):,} runs "
        f"of {loaded.market.customers:,} customers over {loaded.market.periods} months, on {where}"
    )
    store = out / ".sweeps"
    if fresh:
        _forget(loaded, plan, seeds, store)
    exit_cleanly_on_sigterm()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # failures are reported below
            table = sweep(
                loaded,
                design=plan,
                seeds=seeds,
                workers=workers,
                scheduler=scheduler,
                store=opener(store),
                retries=retries,
                progress=True,
            )
    except (SweepError, EvaluatorError) as error:
        fail(str(error))
    except SweepFailed as error:
        _report_failures(error.failures)
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    except (KeyboardInterrupt, SystemExit) as stop:
        _interrupted(store, stop)
    counts = table.attrs["tasks"]
    typer.echo(
        f"{counts['computed']:,} runs computed, {counts['stored']:,} taken from the store, {counts['failed']:,} failed"
    )
    firm = focus_firm(table, firm)
    for finding in sweep_findings(table, firm):
        typer.echo(f"- {finding.replace('**', '')}")
    final = publish_sweep(table, out, firm, command=command_line(), source=source_of(scenario))
    if counts["failed"]:
        _report_failures(table.attrs["failures"])
        typer.echo(
            f"{counts['failed']} of {counts['total']} runs failed after {retries} retries; they are listed in "
            f"{final / 'failures.csv'} and left out of every number. Run the same command again to retry them.",
            err=True,
        )
    typer.echo(f"\nresults: {final}")


def sensitivity_command(
    scenario: Annotated[
        str,
        typer.Argument(
            help="Scenario file or shipped name; its [sweep.vary] ranges are the factors unless --factor is given."
        ),
    ],
    factor: Annotated[
        list[str] | None,
        typer.Option(
            "--factor",
            help="PATH=LOW:HIGH, a lever (firms.A.price) or customer trait (population.price_sensitivity) and "
            "its range. Repeat for each factor.",
        ),
    ] = None,
    samples: Annotated[
        int,
        typer.Option(
            "--samples", "-n", min=2, help="Base samples N (a power of 2); the design has N x (factors + 2) points."
        ),
    ] = 64,
    outcome: Annotated[
        list[str] | None,
        typer.Option(
            "--outcome",
            help="Outcome to analyse: churn, retention, discounted_profit, profit, share, satisfaction, "
            "true_loyal or spurious_loyal. Repeat for more (default: churn, retention, discounted_profit).",
        ),
    ] = None,
    firm: Firm = None,
    replications: Annotated[
        int,
        typer.Option(
            "--replications", "-r", min=1, help="Replications per point, averaged; the same seeds at every point."
        ),
    ] = 2,
    seed: Seed = None,
    customers: Customers = None,
    periods: Periods = None,
    workers: DaskWorkers = CORES,
    scheduler: Scheduler = None,
    retries: Retries = 2,
    out: Out = Path("results"),
) -> None:
    """Global sensitivity (Sobol' first-order and total indices) of churn, retention and profit to levers and traits.

    Ranks the factors by how much of each outcome's variation they account
    for: which lever a strategist should pull first, and which can be left
    alone. Runs on the same Dask machinery as sweep, and resumes the same way.
    """
    loaded, spec = _load_with_sweep(
        scenario, replications=replications, seed=seed, customers=customers, periods=periods
    )
    try:
        pairs = dict(parse_vary(text, "--factor") for text in factor) if factor else None
    except (SweepError, EvaluatorError) as error:
        fail(str(error))
    if pairs is None and spec is not None:
        pairs = spec.vary
    if not pairs:
        fail("no factors: give --factor PATH=LOW:HIGH (at least one), or a [sweep.vary] table in the scenario")
    writable_folder(out, f"{loaded.name}-sensitivity")
    enough_memory(loaded, workers if scheduler is None else 1)
    store = out / ".sweeps"
    exit_cleanly_on_sigterm()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            result = sensitivity(
                loaded,
                pairs,
                samples=samples,
                outcomes=outcome or DEFAULT_OUTCOMES,
                firm=firm,
                workers=workers,
                scheduler=scheduler,
                store=opener(store),
                retries=retries,
                progress=True,
            )
        for warning in caught:
            if issubclass(warning.category, UserWarning):
                typer.echo(f"warning: {warning.message}", err=True)
    except (SweepError, EvaluatorError) as error:
        fail(str(error))
    except SweepFailed as error:
        _report_failures(error.failures)
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    except (KeyboardInterrupt, SystemExit) as stop:
        _interrupted(store, stop)
    counts = result.runs.attrs["tasks"]
    typer.echo(
        f"{loaded.name}: {len(result.design.points):,} points x {len(result.seeds)} "
        f"replication{'s' * (len(result.seeds) > 1)}; "
        f"{counts['computed']:,} runs computed, {counts['stored']:,} taken from the store"
    )
    for finding in sensitivity_findings(result):
        typer.echo(f"- {finding.replace('**', '')}")
    final = publish_sensitivity(result, out, command=command_line(), source=source_of(scenario))
    typer.echo(f"\nresults: {final}")


def _load_with_sweep(name: str, **overrides: int | None) -> tuple[Scenario, SweepSpec | None]:
    """Load a scenario file and its [sweep] table, with command-line overrides; a mistake exits with status 2."""
    try:
        scenario, spec = load_sweep_file(name)
    except ScenarioError as error:
        fail(str(error))
    loaded = override(scenario, name, **overrides)
    warn_of_what_never_happens(loaded)
    return loaded, spec


def _forget(scenario: Scenario, plan: object, seeds: list[int], store: Path) -> None:

    shutil.rmtree(store / sweep_key(scenario, plan, seeds, run_task), ignore_errors=True)


def _interrupted(store: Path, stop: BaseException) -> None:
    """Say where the finished runs are kept, and exit as interrupted (130 for Ctrl-C, 143 for SIGTERM)."""
    typer.echo(
        f"\ninterrupted: the finished runs are kept in {store}; run the same command again to resume. "
        "No results folder was written.",
        err=True,
    )
    code = stop.code if isinstance(stop, SystemExit) and isinstance(stop.code, int) else 130
    raise typer.Exit(code)


def _report_failures(failures: list[dict]) -> None:
    for failure in failures[:10]:
        inputs = ", ".join(f"{k} = {v}" for k, v in failure.items() if k not in ("point", "seed", "error"))
        typer.echo(f"failed: point {failure['point']} ({inputs}), seed {failure['seed']}: {failure['error']}", err=True)
    if len(failures) > 10:
        typer.echo(f"... and {len(failures) - 10} more", err=True)
