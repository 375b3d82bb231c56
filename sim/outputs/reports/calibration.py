"""The report of ``loyalty calibrate``, the calibrated scenario's header, and cohort tables as CSV."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.engine.model import package_version
from sim.experiments.calibration.cohorts import CohortCounts, sample_cohort
from sim.experiments.calibration.fit import Calibration
from sim.experiments.calibration.hills import RIVALS
from sim.experiments.calibration.summaries import curve_table, holdout_table, parameter_table
from sim.outputs.figures.calibration import calibration_figures
from sim.outputs.folders import publish
from sim.outputs.formatting import interval, significant
from sim.outputs.reports.markdown import markdown_table
from sim.outputs.scenario_toml import scenario_toml


def cohort_table_csv(
    counts: CohortCounts, *, sample: int | None = None, sample_seed: int = 0, comment: str = ""
) -> str:
    """A retention table as CSV text, readable by ``read_retention_table``.

    Args:
        counts: the simulated cohort.
        sample: if given, the table of a cohort of this many customers drawn
            from the simulated curve (``sample_cohort``), with a ``customers``
            column; otherwise the simulated curve itself.
        sample_seed: seed of the draw.
        comment: written first, each line as a ``#`` comment.
    """
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    survival = counts.survival
    if sample is None:
        lines += ["period,retained", "0,1"] + [f"{k},{s:.6f}" for k, s in enumerate(survival, start=1)]
    else:
        active = sample_cohort(survival, sample, np.random.default_rng([sample_seed, 1]))
        lines += ["period,retained,customers", f"0,1,{sample}"]
        lines += [f"{k},{a / sample:.6f},{sample}" for k, a in enumerate(active, start=1)]
    return "\n".join(lines) + "\n"


CAPTIONS = {
    "retention.png": "Share of the cohort still active, by months since joining: the observed table (dots), the "
    "calibrated scenario (solid, with its 95% band; beyond the fit window a prediction band of what the same cohort's "
    "table would show there) and the sBG reference model (dashed). The models were fitted on "
    "the white region only; the grey region checks their projection against rows they did not see; beyond the table "
    "they project.",
    "churn_by_tenure.png": "Share of the customers still active who leave in each month of tenure. In the sBG model "
    "every "
    "customer keeps one constant churn rate, yet the cohort's rate falls: the quick leavers go first and the stayers "
    "remain (the sorting effect).",
}


def publish_calibration(
    result: Calibration,
    out: Path,
    retention: Path,
    *,
    source: str,
    command: str,
    overrides: Sequence[str] = (),
) -> Path:
    """Write the calibration's results folder atomically: tables, figures, report, calibrated scenario, manifest.

    ``overrides`` are the command line's changes to the scenario file (``market.customers = 2,000 (--customers
    ...)``), stated in the calibrated scenario's header and the manifest.
    """
    c = result
    toml_name = f"{c.calibrated.name}.toml"
    return publish(
        out,
        f"{c.scenario.name}-calibrate-{c.firm}",
        tables={
            "parameters": parameter_table(c),
            "curves": curve_table(c),
            "holdout": holdout_table(c),
            "design": c.design,
        },
        files={
            "observed.csv": Path(retention).read_bytes(),
            toml_name: scenario_toml(c.calibrated, toml_comment(c, command, overrides)),
        },
        figures=lambda folder: calibration_figures(c, folder),
        report=lambda figures: calibration_report(c, figures, toml_name, command),
        title=f"{c.scenario.name} calibrated to {Path(c.table.source).name}",
        scenario=c.scenario.model_dump(mode="json"),
        calibrated=c.calibrated.model_dump(mode="json"),
        source=source,
        seeds=c.seeds,
        firm=c.firm,
        retention_file=str(retention),
        retention_sha256=c.table.sha256,
        fit=[
            {
                "parameter": p.path,
                "low": p.low,
                "high": p.high,
                "log": p.log,
                "before": float(b),
                "estimate": float(e),
                "interval": [float(lo), float(hi)],
            }
            for p, b, e, lo, hi in zip(c.parameters, c.before, c.estimate, c.low, c.high, strict=True)
        ],
        fit_periods=c.fit_periods,
        horizon=c.horizon,
        warmup=c.warmup,
        window=c.window,
        bootstrap=int(len(c.bootstrap)),
        dispersion={"simulation": c.dispersion, "sbg": c.sbg_dispersion},
        table_period_months=c.steps * c.scenario.market.period_months,
        sbg={"alpha": c.sbg.alpha, "beta": c.sbg.beta, "period": c.steps},
        weibull={"scale": c.weibull.scale, "shape": c.weibull.shape, "period": c.steps},
        calibrated_scenario=toml_name,
        overrides=list(overrides),
        reproduce=command,
    )


def calibration_findings(c: Calibration) -> list[str]:
    """Plain sentences: the fitted values, the hold-out check, the projection and the sorting effect."""
    found = []
    fitted = "; ".join(
        f"**{p.path}** = {significant(e)} [{significant(lo)}, {significant(hi)}] (was {significant(b)})"
        for p, e, lo, hi, b in zip(c.parameters, c.estimate, c.low, c.high, c.before, strict=True)
    )
    found.append(f"Fitted on periods {c.table.period[0]}-{c.fit_periods} of {Path(c.table.source).name}: {fitted}.")
    errors = holdout_table(c).set_index(["model", "window"])
    if c.fit_periods < c.table.last_period:
        sim, ref = errors.loc[("simulation", "hold-out")], errors.loc[("sBG", "hold-out")]
        weibull = errors.loc[("Weibull", "hold-out")]
        held = c.table.period > c.fit_periods
        inside = (c.table.retained[held] >= c.band[0][c.table.period[held] - 1] - 1e-12) & (
            c.table.retained[held] <= c.band[1][c.table.period[held] - 1] + 1e-12
        )
        kind = (
            "95% prediction band (what the same cohort's table would show there, given the rows fitted)"
            if c.table.customers is not None
            else "95% band (the simulation's noise only: the table gives no cohort sizes)"
        )
        found.append(
            f"On the held-out periods {sim.periods}, the calibrated simulation misses the observed retention by "
            f"{sim.mean_abs_error_pts:.2f} points on average (RMSE {sim.rmse_pts:.2f}); the sBG reference model by "
            f"{ref.mean_abs_error_pts:.2f} (RMSE {ref.rmse_pts:.2f}), the Weibull by "
            f"{weibull.mean_abs_error_pts:.2f} (RMSE {weibull.rmse_pts:.2f}). The simulation's {kind} covers "
            f"{int(inside.sum())} of the {int(held.sum())} held-out rows." + _scatter(c)
        )
        followed = {m: errors.loc[(m, "hold-out, from the last row fitted")] for m in ("simulation", "sBG", "Weibull")}
        found.append(
            "Predicted from the survivors at the last row fitted (the band's centre), the held-out rows are missed by "
            f"{followed['simulation'].mean_abs_error_pts:.2f} points on average by the simulation, "
            f"{followed['sBG'].mean_abs_error_pts:.2f} by the sBG model and "
            f"{followed['Weibull'].mean_abs_error_pts:.2f} by the Weibull."
        )
    else:
        found.append(
            "Every row was used for the fit: there is no hold-out check (give --fit-periods below the last period)."
        )
    predicted, low, high = c.prediction[-1], c.band[0][-1], c.band[1][-1]
    sbg = c.sbg_survival[-1]
    sbg_low, sbg_high = c.sbg_band[0][-1], c.sbg_band[1][-1]
    found.append(
        f"After {c.horizon} periods the simulation predicts {interval(predicted, low, high, scale=100.0, unit='%')} "
        f"of the cohort still active, from its survivors at the last row fitted (the band as above; the simulated "
        f"curve itself, {100 * c.model_survival[-1]:.1f}%); the sBG model "
        f"{interval(sbg, sbg_low, sbg_high, scale=100.0, unit='%')} (the band of its curve)."
    )
    churn = c.model_churn
    observed_first = 1 - c.table.retained[0] ** (1 / c.table.period[0])
    a, b = c.sbg.alpha, c.sbg.beta
    k = c.steps
    per = "period" if k == 1 else f"period of the table ({k} model periods)"
    last = c.horizon // k
    found.append(
        f"The cohort's churn rate falls with tenure: observed {100 * observed_first:.1f}% in the first period; "
        "simulated "
        f"{100 * churn[0]:.1f}% in the first and {100 * np.nanmean(churn[-3:]):.1f}% around period {c.horizon - 1}. "
        f"In the sBG fit every customer keeps one churn rate (Beta({a:.3g}, {b:.3g}): {100 * a / (a + b):.1f}% a "
        f"{per} on average among joiners), yet the cohort's rate falls from {100 * a / (a + b):.1f}% to "
        f"{100 * a / (a + b + last - 1):.1f}% by the table's period {last}: the quick leavers go first (sorting). "
        f"The Weibull fit's shape, {c.weibull.shape:.3g}, describes the same cohort's hazard as "
        + ("falling" if c.weibull.shape < 1 else "rising")
        + " with tenure; from one cohort's curve alone, a hazard that changes for each customer cannot be told "
        "apart from customers who differ (Fader, Hardie, Liu, Davin & Steenburgh 2018)."
    )
    return found


def _scatter(c: Calibration) -> str:
    """A sentence on the fit window's scatter beyond sampling noise, which widens the intervals and the band."""
    if c.table.customers is None or c.dispersion <= 1.0:
        return ""
    return (
        f" The fitted rows scatter about the curve with {c.dispersion:.2g} times the variance that sampling "
        f"{c.table.customers[0]:,.0f} customers explains (about the sBG curve, {c.sbg_dispersion:.2g} times): "
        "year-to-year movement that no model of tenure foresees, or a shape the curve misses, which the intervals "
        "and both bands carry too."
    )


def calibration_report(c: Calibration, figures: list[Path], toml_name: str, command: str) -> str:
    """Markdown report of a calibration."""
    name = Path(c.table.source).name
    m = c.scenario.market
    lines = [f"# {c.scenario.name} calibrated to {name}", ""]
    lines += [
        f"**The question.** Which customer heterogeneity makes {c.firm}'s simulated joiners retain as the observed "
        f"cohort did, and where does the cohort go from here?",
        "",
    ]
    cohort = sum(f.joined for f in c.fitted)
    lines += [
        f"*{len(c.seeds)} seeds ({c.seeds[0]}-{c.seeds[-1]}) of {m.customers:,} customers, the same for every "
        f"candidate (common random numbers); {cohort:,} simulated joiners of {c.firm} at the calibrated values, "
        f"on {len(c.fitted)} seeds; "
        f"{len(c.table)} observed rows ({name}, sha256 {c.table.sha256[:12]}), fitted on periods up to "
        f"{c.fit_periods}; loyalty-sim {package_version()}.*",
        "",
    ]
    lines += ["## What the calibration says", ""] + [f"- {f}" for f in calibration_findings(c)]
    if c.notes:
        lines += ["", "**Caveats.**", ""] + [f"- {n}" for n in c.notes]
    parameters = pd.DataFrame(
        {
            "parameter": [p.path for p in c.parameters] + ["sBG alpha", "sBG beta", "Weibull scale", "Weibull shape"],
            "fitted": [significant(v) for v in c.estimate]
            + [significant(v) for v in (c.sbg.alpha, c.sbg.beta, c.weibull.scale, c.weibull.shape)],
            "95% interval": [f"[{significant(lo)}, {significant(hi)}]" for lo, hi in zip(c.low, c.high, strict=True)]
            + [
                f"[{significant(lo)}, {significant(hi)}]" if np.isfinite(lo) else "-"
                for lo, hi in zip(c.sbg_low, c.sbg_high, strict=True)
            ]
            + ["-", "-"],
            "searched": [f"{p.low:g} to {p.high:g}" + (" (log scale)" if p.log else "") for p in c.parameters]
            + [""] * 4,
            "scenario had": [significant(v) for v in c.before] + [""] * 4,
        }
    )
    lines += ["", "## Fitted parameters", "", markdown_table(parameters), ""]
    errors = holdout_table(c)
    text = pd.DataFrame(
        {
            "model": errors.model,
            "window": errors.window,
            "periods": errors.periods,
            "rows": errors.rows,
            "mean abs. error (points)": errors.mean_abs_error_pts.round(2),
            "RMSE (points)": errors.rmse_pts.round(2),
            "largest error (points)": errors.largest_error_pts.round(2),
        }
    )
    lines += [
        "## Hold-out check",
        "",
        markdown_table(text),
        "",
        "Errors are fitted minus observed retention, in percentage points of the starting cohort.",
        "",
    ]
    for figure in figures:
        lines += [f"![{figure.stem.replace('_', ' ')}]({figure.name})", "", f"*{CAPTIONS.get(figure.name, '')}*", ""]
    lines += ["## How it was done", "", _method(c), ""]
    lines += [
        "## The calibrated scenario",
        "",
        f"`{toml_name}` in this folder is the scenario with the fitted values (rounded to four significant "
        "digits), complete in itself:",
        "",
        "```",
        f"loyalty check {toml_name}",
        f"loyalty run {toml_name}",
        "```",
        "",
    ]
    lines += ["## Reproduce", "", "```", command, "```", ""]
    return "\n".join(lines)


def _method(c: Calibration) -> str:
    d = len(c.parameters)
    return (
        f"The simulated cohort is every customer who chose {c.firm} after a {c.warmup}-month warm-up, in runs of "
        f"{c.warmup + c.horizon + c.window} months; each is followed from the month it joined until it leaves "
        "(continuous survival: a customer who leaves is lost even if it comes back, and its return starts a new "
        "spell), "
        "and joiners of every month are pooled by tenure (Kaplan-Meier, those still active at the end censored). "
        f"Candidates were drawn on a Latin hypercube over the whole range ({4 + 4 * d} points; even on a log scale "
        "where the range says so), with, where the outside hazard and its spread are fitted, the values at which the "
        "model tells the sBG fit's story (a Gamma-spread outside hazard of the sBG's mean and spread); each month's "
        "simulated churn rate (logit scale) was smoothed across them by a local quadratic regression (loess), each "
        "candidate weighed by its customers at risk, and the estimate "
        f"maximises the binomial likelihood of the observed rows up to period {c.fit_periods} under that surface. Up "
        "to three more rounds simulated the estimate, the top of any other hill the table could not rule out, and "
        "the bootstrap fits farthest from any candidate, until the "
        "estimate and interval settled (every candidate is in `design.csv`). "
        f"The {len(c.bootstrap)} bootstrap fits each resample the seeds with replacement, "
        + (
            f"and draw the observed cohort again row after row, beta-binomially with the {c.dispersion:.2g} times "
            "binomial variance its fitted rows show, "
            if c.table.customers is not None
            else ""
        )
        + f"searching from the estimate and, where the resampled table likes the top of another of up to {RIVALS} "
        "hills better, from that one too; the intervals are their 2.5% and 97.5% percentiles. The reference "
        "model is the shifted-beta-geometric "
        "model of Fader & Hardie (2007), fitted by maximum likelihood to the same rows: each customer has a constant "
        "churn rate, Beta-distributed across customers; the second is a Weibull lifetime (lifelines), each row "
        "an interval-censored count of lifetimes, whose hazard changes with tenure for every customer alike. "
        "An all-cause table does not say why customers left: the split between leaving for a rival, for no purchase "
        "and for outside reasons follows from the scenario's other parameters, and the fitted values are "
        "conditional on them, not estimates of switching costs or hazards measured in the field. "
        + (
            f"The table's periods are {c.steps} of the model's; both reference models are fitted in the table's "
            "own periods."
            if c.steps > 1
            else ""
        )
    )


def toml_comment(c: Calibration, command: str, overrides: Sequence[str] = ()) -> str:
    """The header of the calibrated scenario file: where it comes from, what was fitted, what the command set."""
    lines = [
        f"{c.calibrated.name}: scenario {c.scenario.name} calibrated to the cohort retention table",
        f"{c.table.source} (sha256 {c.table.sha256}) by loyalty-sim {package_version()}.",
        f"Cohort: joiners of firm {c.firm}; fitted on periods up to {c.fit_periods}; seeds {c.seeds[0]}-{c.seeds[-1]}.",
        "Fitted values, with 95% bootstrap intervals:",
    ]
    lines += [
        f"  {p.path} = {significant(e)}  [{significant(lo)}, {significant(hi)}]  (was {significant(b)})"
        for p, e, lo, hi, b in zip(c.parameters, c.estimate, c.low, c.high, c.before, strict=True)
    ]
    if overrides:
        lines.append("Set by the command line, not by the scenario file:")
        lines += [f"  {line}" for line in overrides]
    lines.append(f"Reproduce: {command}")
    return "\n".join(lines)
