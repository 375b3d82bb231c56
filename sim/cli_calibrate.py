"""The ``loyalty calibrate`` and ``loyalty cohort`` commands: a scenario against an observed cohort retention table.

``calibrate`` fits a scenario's customer heterogeneity to a table, checks the
projection on held-out periods, compares it with the shifted-beta-geometric
reference model and writes the calibrated scenario as a TOML file.
``cohort`` writes the retention table a scenario implies for a firm's
joiners, optionally as a sample of a given size: what a business would see.
The machinery is in ``sim.calibrate``; this module draws the figures and
writes the report.
"""

from __future__ import annotations

import math
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from .cli import CORES, Customers, Out, Seed, _fail, _load, app

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure

    from .calibrate import Calibration

Firm = Annotated[Optional[str], typer.Option("--firm", help="Firm whose joiners form the cohort (default: the first).")]
Seeds = Annotated[int, typer.Option(
    "--replications", "-r", min=2, help="Seeds simulated for every candidate (common random numbers).")]
Workers = Annotated[int, typer.Option("--workers", "-j", min=1, help="Processes running simulations (default: all cores).")]
Warmup = Annotated[int, typer.Option("--warmup", min=0, help="Months the market runs before joiners count.")]
Window = Annotated[int, typer.Option("--window", min=1, help="Months the run goes on beyond warm-up and horizon, "
                                     "so that more joiners reach the longest tenures.")]

CAPTIONS = {
    "retention.png": "Share of the cohort still active, by months since joining: the observed table (dots), the "
    "calibrated scenario (solid, with its 95% band) and the sBG reference model (dashed). The models were fitted on "
    "the white region only; the grey region checks their projection against rows they did not see; beyond the table "
    "they project.",
    "churn_by_tenure.png": "Share of the customers still active who leave in each month of tenure. In the sBG model every "
    "customer keeps one constant churn rate, yet the cohort's rate falls: the quick leavers go first and the stayers "
    "remain (the sorting effect).",
}


@app.command()
def calibrate(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name.")],
    retention: Annotated[Path, typer.Option(
        "--retention", help="CSV of the observed cohort: period,retained[,customers].")],
    firm: Firm = None,
    fit: Annotated[Optional[list[str]], typer.Option(
        "--fit", help="PARAMETER=LOW:HIGH (or LOW:HIGH:log, searched on a log scale) to fit, one to three times "
        "(default: population.review_probability=0.005:0.25:log and population.review_concentration=0.3:30:log: "
        "how often customers reconsider, and how much they differ in it).")] = None,
    fit_periods: Annotated[Optional[int], typer.Option(
        "--fit-periods", min=1,
        help="Fit on periods up to this one, check on the rest (default: two thirds of the rows).")] = None,
    horizon: Annotated[Optional[int], typer.Option(
        "--horizon", min=1, help="Periods to project (default: the table's last period + 12).")] = None,
    cohort_size: Annotated[Optional[int], typer.Option(
        "--cohort-size", min=1, help="Starting cohort of the table when it has no customers column.")] = None,
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=20, help="Bootstrap replicates for the intervals.")] = 200,
    replications: Seeds = 5,
    seed: Seed = None,
    customers: Customers = None,
    warmup: Warmup = 12,
    window: Window = 12,
    workers: Workers = CORES,
    out: Out = Path("results"),
    write: Annotated[Optional[Path], typer.Option(
        "--write", help="Also write the calibrated scenario to this TOML file.")] = None,
) -> None:
    """Fit a scenario's customer heterogeneity to an observed cohort retention table, and project the cohort."""
    import numpy as np  # noqa: F811

    from .calibrate import CalibrationError, RetentionTable, calibrate as run_calibration, parse_fit, read_retention_table
    from .run_folder import exit_cleanly_on_sigterm

    loaded = _load(scenario, seed=seed, customers=customers)
    target = write
    if target is not None:
        if target.is_dir():
            target = target / f"{loaded.name}_calibrated.toml"
        if not target.parent.is_dir():
            _fail(f"--write {write}: no such folder {target.parent}")
    try:
        table = read_retention_table(retention)
        if table.customers is not None:
            cohort_size = None  # the file's own cohort sizes win
        elif cohort_size is not None:
            sizes = np.full(len(table), cohort_size)
            table = RetentionTable(table.period, table.retained, sizes, table.source, table.sha256)
        chosen = firm if firm is not None else loaded.firms[0].name
        if chosen not in [f.name for f in loaded.firms]:
            raise CalibrationError(f"--firm {chosen}: no such firm in {loaded.name}; firms are "
                                   f"{', '.join(f.name for f in loaded.firms)}")
        parameters = parse_fit(fit, loaded, chosen)
        exit_cleanly_on_sigterm()
        seeds = [loaded.seed + r for r in range(replications)]
        result = run_calibration(
            loaded, table, firm=chosen, parameters=parameters, fit_periods=fit_periods, seeds=seeds, horizon=horizon,
            warmup=warmup, window=window, bootstrap=bootstrap, workers=workers, progress=True,
        )
    except CalibrationError as error:
        _fail(str(error))
    command = reproduce_command(result, scenario, retention, cohort_size if table.customers is not None else None)
    final = publish_calibration(result, out, retention, source=str(_source(scenario)), command=command)
    toml_name = f"{result.calibrated.name}.toml"
    if target is not None:
        from .calibrate import write_text_atomically

        write_text_atomically(target, (final / toml_name).read_text(encoding="utf-8"))
    for finding in calibration_findings(result):
        typer.echo(f"- {finding.replace('**', '')}")
    for note in result.notes:
        typer.echo(f"  note: {note}")
    typer.echo(f"\ncalibrated scenario: {target if target is not None else final / toml_name}")
    typer.echo(f"results: {final}")


@app.command()
def cohort(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name.")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    firm: Firm = None,
    months: Annotated[int, typer.Option("--months", min=1, help="Periods of tenure the table covers.")] = 24,
    sample: Annotated[Optional[int], typer.Option(
        "--sample", min=1, help="Draw a cohort of this many customers from the simulated curve, as a business would "
        "observe it (default: write the simulated curve itself).")] = None,
    setting: Annotated[Optional[list[str]], typer.Option(
        "--set", help="PARAMETER=VALUE to change first, e.g. population.switching_effort_cv=1.2 (repeatable).")] = None,
    replications: Seeds = 5,
    seed: Seed = None,
    customers: Customers = None,
    warmup: Warmup = 12,
    window: Window = 12,
    workers: Workers = CORES,
) -> None:
    """Write the cohort retention table a scenario implies for one firm's joiners."""
    from .calibrate import CalibrationError, apply_settings, cohort_table_csv, simulate_cohorts, write_text_atomically
    from .model import package_version

    loaded = _load(scenario, seed=seed, customers=customers)
    if not out.parent.is_dir():
        _fail(f"--out {out}: no such folder {out.parent}")
    chosen = firm if firm is not None else loaded.firms[0].name
    try:
        if chosen not in [f.name for f in loaded.firms]:
            raise CalibrationError(f"--firm {chosen}: no such firm in {loaded.name}; firms are "
                                   f"{', '.join(f.name for f in loaded.firms)}")
        changed = apply_settings(loaded, chosen, setting or [])
    except CalibrationError as error:
        _fail(str(error))
    seeds = [loaded.seed + r for r in range(replications)]
    counts = simulate_cohorts(changed, chosen, seeds, horizon=months, warmup=warmup, window=window, workers=workers,
                              progress=True)
    header = [
        f"Cohort retention of {chosen}'s joiners in scenario {loaded.name}, simulated by loyalty-sim {package_version()}.",
        f"Changed: {', '.join(setting)}." if setting else "Scenario as it is.",
        f"{loaded.market.customers:,} customers, seeds {seeds[0]}-{seeds[-1]}, warm-up {warmup} months, "
        f"{counts.joined:,} spells followed.",
        f"Command: {_command()}",
    ]
    sample_seed = loaded.seed
    if sample is not None:
        header.append(f"A cohort of {sample:,} customers drawn binomially, month by month, from the simulated retention "
                      f"(sample seed {sample_seed}).")
    write_text_atomically(out, cohort_table_csv(counts, sample=sample, sample_seed=sample_seed, comment="\n".join(header)))
    typer.echo(f"{out}: {months} periods; retained after {months}: "
               f"{counts.survival[-1]:.3f} (simulated, {counts.joined:,} spells)")


def reproduce_command(c: Calibration, scenario: str, retention: Path, cohort_size: int | None) -> str:
    """The ``loyalty calibrate`` command that gives the same calibration, every setting spelled out."""
    parts = ["loyalty", "calibrate", scenario, "--retention", str(retention), "--firm", c.firm]
    for p in c.parameters:
        parts += ["--fit", p.text]
    parts += ["--fit-periods", str(c.fit_periods), "--horizon", str(c.horizon), "--warmup", str(c.warmup),
              "--window", str(c.window), "--bootstrap", str(len(c.bootstrap)), "-r", str(len(c.seeds)),
              "--seed", str(c.seeds[0]), "--customers", str(c.scenario.market.customers)]
    if cohort_size is not None:
        parts += ["--cohort-size", str(cohort_size)]
    return " ".join(shlex.quote(part) for part in parts)


def publish_calibration(result: Calibration, out: Path, retention: Path, *, source: str, command: str) -> Path:
    """Write the calibration's results folder atomically: tables, figures, report, calibrated scenario, manifest."""
    from .calibrate import curve_table, holdout_table, parameter_table, scenario_toml
    from .report import to_html
    from .run_folder import RunFolder

    c = result
    with RunFolder(out, f"{c.scenario.name}-calibrate-{c.firm}") as folder:
        folder.write_table("parameters", parameter_table(c))
        folder.write_table("curves", curve_table(c))
        folder.write_table("holdout", holdout_table(c))
        folder.write_table("design", c.design)
        (folder.path / "observed.csv").write_bytes(Path(retention).read_bytes())
        toml_name = f"{c.calibrated.name}.toml"
        folder.write_text(toml_name, scenario_toml(c.calibrated, toml_comment(c, command)))
        figures = calibration_figures(c, folder.path)
        markdown = calibration_report(c, figures, toml_name, command)
        folder.write_text("report.md", markdown)
        folder.write_text("report.html", to_html(markdown, f"{c.scenario.name} calibrated to {Path(c.table.source).name}"))
        folder.write_manifest(
            scenario=c.scenario.model_dump(mode="json"), calibrated=c.calibrated.model_dump(mode="json"),
            source=source, seeds=c.seeds, firm=c.firm, retention_file=str(retention),
            retention_sha256=c.table.sha256,
            fit=[{"parameter": p.path, "low": p.low, "high": p.high, "log": p.log, "before": float(b), "estimate": float(e),
                  "interval": [float(lo), float(hi)]}
                 for p, b, e, lo, hi in zip(c.parameters, c.before, c.estimate, c.low, c.high, strict=True)],
            fit_periods=c.fit_periods, horizon=c.horizon, warmup=c.warmup, window=c.window,
            bootstrap=int(len(c.bootstrap)), sbg={"alpha": c.sbg.alpha, "beta": c.sbg.beta},
            calibrated_scenario=toml_name, reproduce=command,
        )
    return folder.final


# --- findings and report ------------------------------------------------------------------------------------------


def calibration_findings(c: Calibration) -> list[str]:
    """Plain sentences: the fitted values, the hold-out check, the projection and the sorting effect."""
    import numpy as np

    from .calibrate import holdout_table

    found = []
    fitted = "; ".join(
        f"**{p.path}** = {_num(e)} [{_num(lo)}, {_num(hi)}] (was {_num(b)})"
        for p, e, lo, hi, b in zip(c.parameters, c.estimate, c.low, c.high, c.before, strict=True)
    )
    found.append(f"Fitted on periods {c.table.period[0]}-{c.fit_periods} of {Path(c.table.source).name}: {fitted}.")
    errors = holdout_table(c).set_index(["model", "window"])
    if c.fit_periods < c.table.last_period:
        sim, ref = errors.loc[("simulation", "hold-out")], errors.loc[("sBG", "hold-out")]
        found.append(
            f"On the held-out periods {sim.periods}, the calibrated simulation misses the observed retention by "
            f"{sim.mean_abs_error_pts:.2f} points on average (RMSE {sim.rmse_pts:.2f}); the sBG reference model by "
            f"{ref.mean_abs_error_pts:.2f} (RMSE {ref.rmse_pts:.2f})."
        )
    else:
        found.append("Every row was used for the fit: there is no hold-out check "
                     "(give --fit-periods below the last period).")
    model, low, high = c.model_survival[-1], c.band[0][-1], c.band[1][-1]
    sbg = c.sbg_survival[-1]
    sbg_low, sbg_high = c.sbg_band[0][-1], c.sbg_band[1][-1]
    sbg_band = f" [{100 * sbg_low:.1f}, {100 * sbg_high:.1f}]" if np.isfinite(sbg_low) else ""
    found.append(
        f"After {c.horizon} periods the simulation projects {100 * model:.1f}% [{100 * low:.1f}, {100 * high:.1f}] of "
        f"the cohort still active; the sBG model {100 * sbg:.1f}%{sbg_band}."
    )
    churn = c.model_churn
    observed_first = 1 - c.table.retained[0] ** (1 / c.table.period[0])
    a, b = c.sbg.alpha, c.sbg.beta
    found.append(
        f"The cohort's churn rate falls with tenure: observed {100 * observed_first:.1f}% in the first period; simulated "
        f"{100 * churn[0]:.1f}% in the first and {100 * np.nanmean(churn[-3:]):.1f}% around period {c.horizon - 1}. "
        f"In the sBG fit every customer keeps one churn rate (Beta({a:.3g}, {b:.3g}): {100 * a / (a + b):.1f}% a period "
        f"on average among joiners), yet the cohort's rate falls from {100 * a / (a + b):.1f}% to "
        f"{100 * a / (a + b + c.horizon - 1):.1f}% by period {c.horizon}: the quick leavers go first (sorting)."
    )
    return found


def calibration_report(c: Calibration, figures: list[Path], toml_name: str, command: str) -> str:
    """Markdown report of a calibration."""
    import numpy as np
    import pandas as pd

    from .calibrate import holdout_table
    from .model import package_version
    from .report import _markdown_table

    name = Path(c.table.source).name
    m = c.scenario.market
    lines = [f"# {c.scenario.name} calibrated to {name}", ""]
    lines += [f"**The question.** Which customer heterogeneity makes {c.firm}'s simulated joiners retain as the observed "
              f"cohort did, and where does the cohort go from here?", ""]
    cohort = sum(f.joined for f in c.fitted)
    lines += [f"*{len(c.seeds)} seeds ({c.seeds[0]}-{c.seeds[-1]}) of {m.customers:,} customers, the same for every "
              f"candidate (common random numbers); {cohort:,} simulated joiners of {c.firm} at the calibrated values; "
              f"{len(c.table)} observed rows ({name}, sha256 {c.table.sha256[:12]}), fitted on periods up to "
              f"{c.fit_periods}; loyalty-sim {package_version()}.*", ""]
    lines += ["## What the calibration says", ""] + [f"- {f}" for f in calibration_findings(c)]
    if c.notes:
        lines += ["", "**Caveats.**", ""] + [f"- {n}" for n in c.notes]
    parameters = pd.DataFrame({
        "parameter": [p.path for p in c.parameters] + ["sBG alpha", "sBG beta"],
        "fitted": [_num(v) for v in c.estimate] + [_num(c.sbg.alpha), _num(c.sbg.beta)],
        "95% interval": [f"[{_num(lo)}, {_num(hi)}]" for lo, hi in zip(c.low, c.high, strict=True)]
        + [f"[{_num(lo)}, {_num(hi)}]" if np.isfinite(lo) else "-" for lo, hi in zip(c.sbg_low, c.sbg_high, strict=True)],
        "searched": [f"{p.low:g} to {p.high:g}" + (" (log scale)" if p.log else "") for p in c.parameters] + ["", ""],
        "scenario had": [_num(v) for v in c.before] + ["", ""],
    })
    lines += ["", "## Fitted parameters", "", _markdown_table(parameters), ""]
    errors = holdout_table(c)
    text = pd.DataFrame({
        "model": errors.model, "window": errors.window, "periods": errors.periods, "rows": errors.rows,
        "mean abs. error (points)": errors.mean_abs_error_pts.round(2),
        "RMSE (points)": errors.rmse_pts.round(2), "largest error (points)": errors.largest_error_pts.round(2),
    })
    lines += ["## Hold-out check", "", _markdown_table(text), "",
              "Errors are fitted minus observed retention, in percentage points of the starting cohort.", ""]
    for figure in figures:
        lines += [f"![{figure.stem.replace('_', ' ')}]({figure.name})", "", f"*{CAPTIONS.get(figure.name, '')}*", ""]
    lines += ["## How it was done", "", _method(c), ""]
    lines += ["## The calibrated scenario", "",
              f"`{toml_name}` in this folder is the scenario with the fitted values (rounded to four significant "
              "digits), complete in itself:", "",
              "```", f"loyalty check {toml_name}", f"loyalty run {toml_name}", "```", ""]
    lines += ["## Reproduce", "", "```", command, "```", ""]
    return "\n".join(lines)


def _method(c: Calibration) -> str:
    d = len(c.parameters)
    return (
        f"The simulated cohort is every customer who chose {c.firm} after a {c.warmup}-month warm-up, in runs of "
        f"{c.warmup + c.horizon + c.window} months; each is followed from the month it joined until it leaves "
        "(continuous survival: a customer who leaves is lost even if it comes back, and its return starts a new spell), "
        "and joiners of every month are pooled by tenure (Kaplan-Meier, those still active at the end censored). "
        f"Candidates were drawn on a Latin hypercube over the whole range ({4 + 4 * d} points; even on a log scale "
        "where the range says so); each month's simulated "
        "churn rate (logit scale) was smoothed across them by a local quadratic regression (loess), and the estimate "
        f"maximises the binomial likelihood of the observed rows up to period {c.fit_periods} under that surface. Up to "
        "three more rounds simulated the estimate and the bootstrap fits farthest from any candidate, until the "
        "estimate and interval settled (every candidate is in `design.csv`). "
        f"The {len(c.bootstrap)} bootstrap fits each resample the seeds with replacement "
        + ("and draw the observed cohort again binomially, row after row, " if c.table.customers is not None else "")
        + "and the intervals are their 2.5% and 97.5% percentiles. The reference model is the shifted-beta-geometric "
        "model of Fader & Hardie (2007), fitted by maximum likelihood to the same rows: each customer has a constant "
        "churn rate, Beta-distributed across customers."
    )


def toml_comment(c: Calibration, command: str) -> str:
    """The header of the calibrated scenario file: where it comes from and what was fitted."""
    from .model import package_version

    lines = [
        f"{c.calibrated.name}: scenario {c.scenario.name} calibrated to the cohort retention table",
        f"{c.table.source} (sha256 {c.table.sha256}) by loyalty-sim {package_version()}.",
        f"Cohort: joiners of firm {c.firm}; fitted on periods up to {c.fit_periods}; seeds {c.seeds[0]}-{c.seeds[-1]}.",
        "Fitted values, with 95% bootstrap intervals:",
    ]
    lines += [f"  {p.path} = {_num(e)}  [{_num(lo)}, {_num(hi)}]  (was {_num(b)})"
              for p, e, lo, hi, b in zip(c.parameters, c.estimate, c.low, c.high, c.before, strict=True)]
    lines.append(f"Reproduce: {command}")
    return "\n".join(lines)


# --- figures -------------------------------------------------------------------------------------------------------


def calibration_figures(c: Calibration, folder: Path) -> list[Path]:
    """Write ``retention.png`` and ``churn_by_tenure.png`` into ``folder``; return their paths."""
    from .plots import draw_and_save

    folder = Path(folder)
    return [
        draw_and_save(lambda: retention_figure(c), folder / "retention.png"),
        draw_and_save(lambda: churn_figure(c), folder / "churn_by_tenure.png"),
    ]


SIMULATION, REFERENCE, OBSERVED = "#0072B2", "#E69F00", "#222222"


def retention_figure(c: Calibration) -> Figure:
    """Observed retention (dots) against the calibrated simulation and the sBG model, with hold-out and projection."""
    import numpy as np

    from .plots import finish, new_figure

    figure, ax = new_figure(1)
    periods = np.arange(0, c.horizon + 1)
    _shade_windows(ax, c)
    ax.fill_between(periods, 100 * _from_one(c.band[0]), 100 * _from_one(c.band[1]), color=SIMULATION, alpha=0.15, lw=0)
    ax.plot(periods, 100 * _from_one(c.model_survival), color=SIMULATION, label="simulation, calibrated")
    if np.isfinite(c.sbg_band[0]).all():
        ax.fill_between(periods, 100 * _from_one(c.sbg_band[0]), 100 * _from_one(c.sbg_band[1]), color=REFERENCE,
                        alpha=0.12, lw=0)
    ax.plot(periods, 100 * _from_one(c.sbg_survival), color=REFERENCE, ls="--", label="sBG reference model")
    fit = c.table.period <= c.fit_periods
    ax.plot(c.table.period[fit], 100 * c.table.retained[fit], "o", color=OBSERVED, ms=5, label="observed, fitted")
    if (~fit).any():
        ax.plot(c.table.period[~fit], 100 * c.table.retained[~fit], "o", mfc="white", mec=OBSERVED, ms=5,
                label="observed, held out")
    low = min(np.nanmin(c.band[0]), np.nanmin(c.sbg_survival), c.table.retained.min())
    ax.set_ylim(max(0.0, 100 * low - 5), 101)
    ax.set_xlim(0, c.horizon)
    ax.set_xlabel(f"{_unit(c)} since joining")
    ax.set_ylabel("still active (% of the starting cohort)")
    note = (f"Simulated: {c.firm}'s joiners after a {c.warmup}-month warm-up in the calibrated scenario, "
            f"{len(c.seeds)} seeds pooled. Bands: 95% bootstrap intervals.")
    return finish(figure, f"Retention of {c.firm}'s joiners: observed, fitted and projected", note, legend_title="")


def churn_figure(c: Calibration) -> Figure:
    """The cohort's churn rate by tenure: observed, simulated and sBG (the sorting effect)."""
    import numpy as np

    from .calibrate import sbg_churn_rate
    from .plots import finish, new_figure

    figure, ax = new_figure(1)
    periods = np.arange(1, c.horizon + 1)
    _shade_windows(ax, c)
    ax.plot(periods, 100 * c.model_churn, color=SIMULATION, label="simulation, calibrated")
    ax.plot(periods, 100 * sbg_churn_rate(c.sbg.alpha, c.sbg.beta, periods), color=REFERENCE, ls="--",
            label="sBG reference model")
    a, b = c.sbg.alpha, c.sbg.beta
    ax.axhline(100 * a / (a + b), color=REFERENCE, lw=0.8, ls=":", label="sBG: a joiner's mean churn rate")
    before_period = np.concatenate([[0], c.table.period[:-1]])
    before_share = np.concatenate([[1.0], c.table.retained[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = 1 - (c.table.retained / before_share) ** (1 / (c.table.period - before_period))
    fit = c.table.period <= c.fit_periods
    ax.plot(c.table.period[fit], 100 * observed[fit], "o", color=OBSERVED, ms=5, label="observed, fitted")
    if (~fit).any():
        ax.plot(c.table.period[~fit], 100 * observed[~fit], "o", mfc="white", mec=OBSERVED, ms=5,
                label="observed, held out")
    ax.set_xlim(0, c.horizon)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(f"{_unit(c)} since joining (tenure)")
    ax.set_ylabel(f"churn (% of those still active, per {_unit(c)[:-1]})")
    note = "Each customer's own churn rate is constant in the sBG model; the cohort's falls as the quick leavers go first."
    return finish(figure, "The cohort's churn falls with tenure: sorting", note, legend_title="")


def _shade_windows(ax: object, c: Calibration) -> None:
    last = c.table.last_period
    if c.fit_periods < last:
        ax.axvspan(c.fit_periods, last, color="#000000", alpha=0.07, lw=0)
        ax.text((c.fit_periods + last) / 2, 1.0, "hold-out", transform=ax.get_xaxis_transform(), ha="center",
                va="bottom", fontsize=9, color="#555555")
    if c.horizon > last:
        ax.axvspan(last, c.horizon, color="#000000", alpha=0.03, lw=0)
        ax.text((last + c.horizon) / 2, 1.0, "projection", transform=ax.get_xaxis_transform(), ha="center",
                va="bottom", fontsize=9, color="#555555")
    ax.text(c.fit_periods / 2, 1.0, "fit", transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=9,
            color="#555555")


def _from_one(curve: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.concatenate([[1.0], curve])


def _unit(c: Calibration) -> str:
    months = c.scenario.market.period_months
    return "months" if months == 1 else f"periods ({months:g} months)"


def _num(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else "-"


def _source(scenario: str) -> Path:
    from .scenario_files import find_scenario

    return find_scenario(scenario)


def _command() -> str:
    return " ".join(["loyalty", *(shlex.quote(a) for a in sys.argv[1:])])

