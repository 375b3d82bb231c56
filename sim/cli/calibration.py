"""The ``loyalty calibrate`` and ``loyalty cohort`` commands: a scenario against an observed cohort retention table.

``calibrate`` fits a scenario's customer heterogeneity to a table, checks the
projection on held-out periods, compares it with the shifted-beta-geometric
reference model and writes the calibrated scenario as a TOML file.
``cohort`` writes the retention table a scenario implies for a firm's
joiners, optionally as a sample of a given size: what a business would see.
The fit is ``sim.experiments.calibration``; the report, figures and files are ``sim.outputs``.
"""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from sim.cli.options import (
    CORES,
    Customers,
    Force,
    Out,
    Scheduler,
    Seed,
    Workers,
    command_line,
    enough_memory,
    exit_cleanly_on_sigterm,
    fail,
    failing_on,
    load,
    source_of,
    writable_file,
    writable_folder,
)
from sim.engine.model import package_version
from sim.engine.parameters import Scenario
from sim.engine.scenario_files import find_scenario
from sim.experiments.calibration.cohorts import simulate_cohorts
from sim.experiments.calibration.fit import Calibration, apply_settings, parse_fit
from sim.experiments.calibration.fit import calibrate as run_calibration
from sim.experiments.calibration.observed import CalibrationError, read_retention_table
from sim.outputs.folders import write_atomically
from sim.outputs.reports.calibration import calibration_findings, cohort_table_csv, publish_calibration, toml_comment
from sim.outputs.scenario_toml import derived_toml

Firm = Annotated[str | None, typer.Option("--firm", help="Firm whose joiners form the cohort (default: the first).")]
Seeds = Annotated[
    int,
    typer.Option("--replications", "-r", min=2, help="Seeds simulated for every candidate (common random numbers)."),
]


Warmup = Annotated[int, typer.Option("--warmup", min=0, help="Months the market runs before joiners count.")]
Window = Annotated[
    int,
    typer.Option(
        "--window",
        min=1,
        help="Months the run goes on beyond warm-up and horizon, so that more joiners reach the longest tenures.",
    ),
]


def calibrate(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name.")],
    retention: Annotated[
        Path, typer.Option("--retention", help="CSV of the observed cohort: period,retained[,customers].")
    ],
    firm: Firm = None,
    fit: Annotated[
        list[str] | None,
        typer.Option(
            "--fit",
            help="PARAMETER=LOW:HIGH (or LOW:HIGH:log, searched on a log scale) to fit, one to four times "
            "(default: population.switching_effort=0.05:40:log, firm.defection_hazard=0.00001:0.1:log and "
            "population.outside_proneness_cv=0:4: how hard leaving is, and how often and how unequally customers "
            "leave for outside reasons).",
        ),
    ] = None,
    fit_periods: Annotated[
        int | None,
        typer.Option(
            "--fit-periods",
            min=1,
            help="Fit on periods up to this one, check on the rest (default: two thirds of the rows); in the "
            "table's periods.",
        ),
    ] = None,
    period_months: Annotated[
        int | None,
        typer.Option(
            "--period-months",
            min=1,
            max=120,
            help="Months in one of the table's periods: 12 for an annual table, 3 for a quarterly one (default: the "
            "scenario's period). Rows may skip periods.",
        ),
    ] = None,
    horizon: Annotated[
        int | None,
        typer.Option(
            "--horizon", min=1, help="The table's periods to project (default: its last period and a year more)."
        ),
    ] = None,
    cohort_size: Annotated[
        int | None,
        typer.Option("--cohort-size", min=1, help="Starting cohort of the table when it has no customers column."),
    ] = None,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=20, help="Bootstrap replicates for the intervals.")
    ] = 200,
    replications: Seeds = 5,
    seed: Seed = None,
    customers: Customers = None,
    warmup: Warmup = 12,
    window: Window = 12,
    workers: Workers = CORES,
    scheduler: Scheduler = None,
    out: Out = Path("results"),
    write: Annotated[
        Path | None, typer.Option("--write", help="Also write the calibrated scenario to this TOML file.")
    ] = None,
    force: Force = False,
) -> None:
    """Fit a scenario's customer heterogeneity to an observed cohort retention table, and project the cohort."""
    as_written = load(scenario)
    loaded = load(scenario, seed=seed, customers=customers)
    overrides, notes = stated_overrides(as_written, loaded)
    target = write
    if target is not None:
        if target.is_dir():
            target = target / f"{loaded.name}_calibrated.toml"
        writable_file(target, "--write", force=force, scenarios=(scenario,), read=(("the retention table", retention),))
    writable_folder(out, f"{loaded.name}-calibrate-{firm if firm is not None else loaded.firms[0].name}")
    enough_memory(loaded, min(workers, replications))
    with failing_on(CalibrationError):
        table = read_retention_table(retention, period_months)
        if table.customers is not None:
            cohort_size = None  # the file's own cohort sizes win
        elif cohort_size is not None:
            sizes = np.full(len(table), cohort_size)
            table = dataclasses.replace(table, customers=sizes)
        chosen = firm if firm is not None else loaded.firms[0].name
        if chosen not in [f.name for f in loaded.firms]:
            raise CalibrationError(
                f"--firm {chosen}: no such firm in {loaded.name}; firms are {', '.join(f.name for f in loaded.firms)}"
            )
        parameters = parse_fit(fit, loaded, chosen)
        exit_cleanly_on_sigterm()
        seeds = [loaded.seed + r for r in range(replications)]
        result = run_calibration(
            loaded,
            table,
            firm=chosen,
            parameters=parameters,
            fit_periods=fit_periods,
            seeds=seeds,
            horizon=horizon,
            warmup=warmup,
            window=window,
            bootstrap=bootstrap,
            workers=workers,
            scheduler=scheduler,
            progress=True,
        )
    command = reproduce_command(result, scenario, retention, cohort_size if table.customers is not None else None)
    final = publish_calibration(
        result, out, retention, source=source_of(scenario), command=command, overrides=overrides
    )
    toml_name = f"{result.calibrated.name}.toml"
    if target is not None:
        source = find_scenario(scenario)
        fitted = {
            p.path.replace("firm.", f"firms.{chosen}.", 1): f"fitted to {retention.name} (the file says {b:.4g})"
            for p, b in zip(result.parameters, result.before, strict=True)
        }
        header = toml_comment(result, command, overrides) + (
            f"\nDerived from {source}: its comments are kept; what the calibration and the command line set is "
            "marked on its line."
        )
        write_atomically(target, derived_toml(source, result.calibrated, target, header, {**notes, **fitted}))
    for finding in calibration_findings(result):
        typer.echo(f"- {finding.replace('**', '')}")
    for note in result.notes:
        typer.echo(f"  note: {note}")
    typer.echo(f"\ncalibrated scenario: {target if target is not None else final / toml_name}")
    typer.echo(f"results: {final}")


def cohort(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name.")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    firm: Firm = None,
    months: Annotated[int, typer.Option("--months", min=1, help="Periods of tenure the table covers.")] = 24,
    sample: Annotated[
        int | None,
        typer.Option(
            "--sample",
            min=1,
            help="Draw a cohort of this many customers from the simulated curve, as a business would "
            "observe it (default: write the simulated curve itself).",
        ),
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="PARAMETER=VALUE to change first, e.g. population.switching_effort_cv=1.2 (repeatable)."
        ),
    ] = None,
    replications: Seeds = 5,
    seed: Seed = None,
    customers: Customers = None,
    warmup: Warmup = 12,
    window: Window = 12,
    workers: Workers = CORES,
    scheduler: Scheduler = None,
    force: Force = False,
) -> None:
    """Write the cohort retention table a scenario implies for one firm's joiners."""
    loaded = load(scenario, seed=seed, customers=customers)
    overrides, _ = stated_overrides(load(scenario), loaded)
    writable_file(out, "--out", force=force, scenarios=(scenario,))
    enough_memory(loaded, min(workers, replications))
    chosen = firm if firm is not None else loaded.firms[0].name
    try:
        if chosen not in [f.name for f in loaded.firms]:
            raise CalibrationError(
                f"--firm {chosen}: no such firm in {loaded.name}; firms are {', '.join(f.name for f in loaded.firms)}"
            )
        changed = apply_settings(loaded, chosen, setting or [])
    except CalibrationError as error:
        fail(str(error))
    seeds = [loaded.seed + r for r in range(replications)]
    with failing_on(CalibrationError):
        counts = simulate_cohorts(
            changed,
            chosen,
            seeds,
            horizon=months,
            warmup=warmup,
            window=window,
            workers=workers,
            scheduler=scheduler,
            progress=True,
        )
    header = [
        f"Cohort retention of {chosen}'s joiners in scenario {loaded.name}, simulated by loyalty-sim "
        f"{package_version()}.",
        f"Changed: {', '.join(setting)}." if setting else "Scenario as it is.",
        f"{loaded.market.customers:,} customers, seeds {seeds[0]}-{seeds[-1]}, warm-up {warmup} months, "
        f"{counts.joined:,} spells followed.",
        *([f"Set by the command line, not by the scenario file: {'; '.join(overrides)}."] if overrides else []),
        f"Command: {command_line()}",
    ]
    sample_seed = loaded.seed
    if sample is not None:
        header.append(
            f"A cohort of {sample:,} customers drawn binomially, month by month, from the simulated retention "
            f"(sample seed {sample_seed})."
        )
    write_atomically(out, cohort_table_csv(counts, sample=sample, sample_seed=sample_seed, comment="\n".join(header)))
    typer.echo(
        f"{out}: {months} periods; retained after {months}: "
        f"{counts.survival[-1]:.3f} (simulated, {counts.joined:,} spells)"
    )


def stated_overrides(as_written: Scenario, used: Scenario) -> tuple[list[str], dict[str, str]]:
    """What the command line changed in a scenario file, in words (for a header) and as notes per field."""
    lines, notes = [], {}
    for path, option, before, after in (
        ("market.customers", "--customers", as_written.market.customers, used.market.customers),
        ("seed", "--seed", as_written.seed, used.seed),
    ):
        if before != after:
            lines.append(f"{path} = {after} ({option} {after}; the scenario file says {before})")
            notes[path] = f"{option} {after} (the scenario file says {before})"
    return lines, notes


def reproduce_command(c: Calibration, scenario: str, retention: Path, cohort_size: int | None) -> str:
    """The ``loyalty calibrate`` command that gives the same calibration, every setting spelled out."""
    parts = ["loyalty", "calibrate", scenario, "--retention", str(retention), "--firm", c.firm]
    if c.steps > 1:
        parts += ["--period-months", str(c.steps * c.scenario.market.period_months)]
    for p in c.parameters:
        parts += ["--fit", p.text]
    parts += [
        "--fit-periods",
        str(c.fit_periods // c.steps),
        "--horizon",
        str(c.horizon // c.steps),
        "--warmup",
        str(c.warmup),
        "--window",
        str(c.window),
        "--bootstrap",
        str(len(c.bootstrap)),
        "-r",
        str(len(c.seeds)),
        "--seed",
        str(c.seeds[0]),
        "--customers",
        str(c.scenario.market.customers),
    ]
    if cohort_size is not None:
        parts += ["--cohort-size", str(cohort_size)]
    return " ".join(shlex.quote(part) for part in parts)
