"""The report of ``loyalty sweep``: where a lever pays, in plain sentences, tables and figures."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.engine.model import package_version
from sim.engine.parameters import Scenario
from sim.experiments.fields import resolve_field
from sim.experiments.intervals import paired_difference
from sim.experiments.sweep import HEADLINE, focus_firm, input_columns, levels, point_summary
from sim.outputs.figures.sweep import plot_sweep
from sim.outputs.folders import publish
from sim.outputs.formatting import interval, plain
from sim.outputs.reports.markdown import markdown_table


def sweep_findings(table: pd.DataFrame, firm: str | None = None, confidence: float = 0.95) -> list[str]:
    """Plain sentences on where the focus firm does best, and how much that beats the scenario as written.

    The comparison with the scenario's own setting is paired seed by seed
    (every point ran on the same seeds).
    """
    firm = focus_firm(table, firm)
    paths = input_columns(table)
    summary = point_summary(table, confidence)
    mine = summary[summary["firm"] == firm].set_index("point")
    found = []
    if mine.empty:
        return [f"Firm **{firm}** has no results."]
    reference = _closest_to_scenario(table, mine, paths)
    for outcome in ("discounted_profit", "profit_per_month", "cohort_retention_pct", "final_share_pct"):
        if outcome not in mine or mine[outcome].isna().all():
            continue
        label, _, money = HEADLINE[outcome]
        digits = 0 if money else 1
        best, worst = mine[outcome].idxmax(), mine[outcome].idxmin()
        unit = "" if money else "%"
        text = (
            f"{firm}'s {label.lower()} is highest at {_inputs_text(mine.loc[best], paths)}: "
            f"{_interval_text(mine.loc[best], outcome, digits)}{unit}; "
            f"lowest at {_inputs_text(mine.loc[worst], paths)}: "
            f"{_interval_text(mine.loc[worst], outcome, digits)}{unit}."
        )
        if reference is not None and outcome == "discounted_profit":
            text += " " + _against_reference(table, mine, firm, outcome, best, reference, paths, confidence, digits)
        found.append(text)
    if len(paths) >= 2:
        found.append(_main_effect_ranking(table, firm, paths))
    return found


def _closest_to_scenario(table: pd.DataFrame, mine: pd.DataFrame, paths: list[str]) -> int | None:
    scenario = table.attrs.get("scenario")
    if not scenario:
        return None
    base = Scenario.model_validate(scenario)
    distances = np.zeros(len(mine))
    for path in paths:
        value = float(resolve_field(base, path).value(base))
        column = mine[path].astype(float).to_numpy()
        spread = column.max() - column.min() or 1.0
        distances += ((column - value) / spread) ** 2
    return int(mine.index[int(np.argmin(distances))])


def _against_reference(
    table: pd.DataFrame,
    mine: pd.DataFrame,
    firm: str,
    outcome: str,
    best: int,
    reference: int,
    paths: list[str],
    confidence: float,
    digits: int,
) -> str:
    """How far the best point is ahead of the scenario as written (or, when it is that point, of the next best)."""
    if best == reference:
        others = mine[outcome].drop(index=best).dropna()
        if others.empty:
            return ""
        other = int(others.idxmax())
        lead = "That is the point closest to the scenario as written; it is ahead of the next best"
    else:
        other, lead = reference, "It is ahead of the point closest to the scenario as written"
    rows = table[table["firm"] == firm].set_index(["point", "seed"])[outcome]
    a, b = rows.xs(best, level="point"), rows.xs(other, level="point")
    common = a.dropna().index.intersection(b.dropna().index)
    if len(common) < 2:
        return ""

    diff = paired_difference(a.loc[common], b.loc[common], confidence)
    return (
        f"{lead} ({_inputs_text(mine.loc[other], paths)}) by "
        f"{interval(diff.mean, diff.low, diff.high, digits)}, paired over the same {len(common)} seeds."
    )


def _main_effect_ranking(table: pd.DataFrame, firm: str, paths: list[str]) -> str:
    means = table[table["firm"] == firm].groupby("point")[[*paths, "discounted_profit"]].mean()
    spans = {}
    for path in paths:
        grouped = levels(means[path])
        effect = means.groupby(grouped)["discounted_profit"].mean()
        spans[path] = float(effect.max() - effect.min())
    order = sorted(spans, key=spans.get, reverse=True)
    parts = [f"{path} ({spans[path]:,.0f})" for path in order]
    return (
        f"Moving one field at a time (main effects, averaged over the others), {firm}'s discounted profit moves most "
        f"with {parts[0]}, then " + ", ".join(parts[1:]) + " (range of the mean over each field's values)."
    )


def _inputs_text(row: pd.Series, paths: list[str]) -> str:
    return ", ".join(f"{path} = {plain(row[path])}" for path in paths)


def _interval_text(row: pd.Series, outcome: str, digits: int) -> str:
    return interval(row[outcome], row[f"{outcome}_low"], row[f"{outcome}_high"], digits)


CAPTIONS = {
    "response.png": "Each outcome against the varied field, a line per firm (the focus firm thicker): mean over the "
    "same "
    "seeds at every value, band: 95% interval. The dotted line marks the scenario as written.",
    "heatmap.png": "The focus firm's mean outcomes over the two varied fields; the outlined cell is the best one.",
}


def sweep_report(table: pd.DataFrame, figures: list[Path], firm: str | None = None, command: str = "") -> str:
    """Markdown report of a sweep: the question, the design, findings, the focus firm's results, figures, failures."""
    firm = focus_firm(table, firm)
    scenario = Scenario.model_validate(table.attrs["scenario"])
    paths = input_columns(table)
    design = table.attrs["design"]
    seeds = table.attrs["seeds"]
    counts = table.attrs["tasks"]
    lines = [f"# Sweep: {scenario.name}", ""]
    if scenario.description:
        lines += [f"**The market.** {scenario.description}", ""]
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    lines += [
        f"*{_design_phrase(design)} x {len(seeds)} replication{'s' * (len(seeds) > 1)} ({seed_text}) = "
        f"{counts['total']:,} runs of "
        f"{scenario.market.customers:,} customers over {scenario.market.periods} months, {len(scenario.firms)} firms, "
        f"loyalty-sim {table.attrs.get('version', package_version())}. Every point ran on the same seeds (common "
        "random "
        f"numbers).*",
        "",
        "## What the sweep says",
        "",
    ]
    lines += [f"- {finding}" for finding in sweep_findings(table, firm)]
    lines += ["", "## Design", "", markdown_table(_design_table(design, scenario)), ""]
    summary = point_summary(table)
    mine = summary[summary["firm"] == firm]
    shown = mine
    heading = f"## Results for firm {firm} at each point"
    if len(mine) > 40:
        shown = mine.sort_values("discounted_profit", ascending=False).head(20)
        heading = f"## Firm {firm}: the 20 points of {len(mine):,} with the highest discounted profit"
    text = shown[["point", *paths]].copy()
    for outcome, (label, _, money) in HEADLINE.items():
        text[label] = [
            interval(m, lo, hi, 0 if money else 1)
            for m, lo, hi in zip(shown[outcome], shown[f"{outcome}_low"], shown[f"{outcome}_high"], strict=True)
        ]
    lines += [
        heading,
        "",
        markdown_table(text),
        "",
        "Means over replications with 95% intervals in brackets; rates and profit per month are steady-state "
        "(each run's warm-up found by the MSER-5 rule; `steady_from_month` in `sweep.csv`), shares at the last "
        "month. Every firm at every point is in `points.csv`, every run in `sweep.csv`.",
        "",
    ]
    for figure in figures:
        caption = CAPTIONS.get(figure.name) or (
            f"Main effects on {figure.stem.removeprefix('main_effects_').replace('_', ' ')}: each point (grey) and the "
            "mean at each value of one field over the others (line, band: 95% interval)."
        )
        lines += [f"![{figure.stem.replace('_', ' ')}]({figure.name})", "", f"*{caption}*", ""]
    failures = table.attrs.get("failures") or []
    if failures:
        lines += [
            "## Failures",
            "",
            f"{len(failures)} of {counts['total']:,} runs failed after "
            f"their retries and are left out of every number above (see `failures.csv`):",
            "",
        ]
        lines += [markdown_table(pd.DataFrame(failures).head(50)), ""]
    lines += ["## Reproduce", "", "```", command or f"loyalty sweep {scenario.name}", "```", ""]
    return "\n".join(lines)


def _design_phrase(design: Mapping[str, Any]) -> str:
    names = {"grid": "A grid", "lhs": "A Latin hypercube", "sobol": "A Sobol sequence", "saltelli": "A Saltelli sample"}
    return f"{names.get(design['kind'], design['kind'])} of {design['points']:,} points"


def _design_table(design: Mapping[str, Any], scenario: Scenario) -> pd.DataFrame:
    rows = []
    for factor in design["factors"]:
        field = resolve_field(scenario, factor["field"])
        if "values" in factor:
            takes = ", ".join(plain(v) for v in factor["values"])
        else:
            takes = f"{factor['low']:g} to {factor['high']:g}"
            if "points" in factor:
                takes += f", {factor['points']} points"
        rows.append({"field": factor["field"], "takes": takes, "in the scenario": plain(field.value(scenario))})
    return pd.DataFrame(rows)


def publish_sweep(
    table: pd.DataFrame, out: Path | str, firm: str | None = None, command: str = "", **facts: object
) -> Path:
    """Write a sweep's results folder atomically: tables, figures, report, manifest; return its path.

    The folder holds ``sweep.csv``/``.parquet`` (every run), ``points``
    (each point and firm with intervals), ``failures`` (when a task
    failed), the figures, ``report.md``/``.html`` and ``manifest.json``
    (scenario, seeds, design, package version, task counts).
    """
    firm = focus_firm(table, firm)
    name = Scenario.model_validate(table.attrs["scenario"]).name
    failures = table.attrs.get("failures") or []
    tables = {"sweep": table, "points": point_summary(table)} | (
        {"failures": pd.DataFrame(failures)} if failures else {}
    )
    return publish(
        out,
        f"{name}-sweep",
        tables=tables,
        figures=lambda folder: plot_sweep(table, folder, firm),
        report=lambda figures: sweep_report(table, figures, firm, command),
        title=f"Sweep: {name}",
        scenario=table.attrs["scenario"],
        seeds=table.attrs["seeds"],
        design=table.attrs["design"],
        firm=firm,
        tasks=table.attrs["tasks"],
        store=table.attrs.get("store"),
        **facts,
    )
