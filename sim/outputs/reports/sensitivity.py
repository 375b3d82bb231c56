"""The report of ``loyalty sensitivity``: which lever to pull first, in plain sentences and a ranked table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sim.engine.model import package_version
from sim.experiments.sensitivity import NEGLIGIBLE, OUTCOMES, Sensitivity
from sim.outputs.figures.sensitivity import plot_sensitivity
from sim.outputs.folders import publish
from sim.outputs.formatting import count_of, interval
from sim.outputs.reports.markdown import markdown_table
from sim.outputs.reports.sweep import _design_table


def sensitivity_findings(result: Sensitivity) -> list[str]:
    """Plain sentences: which factor to pull first, which can be left alone, and where interactions matter."""
    found = []
    indices = result.indices
    headline = (
        "discounted_profit"
        if "discounted_profit" in set(indices["outcome"])
        else (indices["outcome"].iloc[0] if len(indices) else None)
    )
    if headline is not None:
        found.append(_pull_first(result, headline))
    for outcome in pd.unique(indices["outcome"]):
        found.append(_outcome_sentence(result, outcome))
    for outcome, why in result.skipped.items():
        found.append(f"No indices for {OUTCOMES[outcome][1]}: it is {why}.")
    return found


def _pull_first(result: Sensitivity, outcome: str) -> str:
    """Which of the firm's own levers to pull first for ``outcome``, and whether the data can tell."""
    rows = result.indices[result.indices["outcome"] == outcome].sort_values("rank")
    label = OUTCOMES[outcome][1]
    firm = result.firm
    top = rows.iloc[0]
    levers = rows[rows["factor"].str.startswith(f"firms.{firm}.")]
    text = ""
    if not top.factor.startswith(f"firms.{firm}."):
        text = (
            f"**{top.factor}** accounts for the largest share of the variation in {firm}'s {label} "
            f"(total index {_index(top, 'ST')}), but it is not a lever {firm} pulls. "
        )
        if levers.empty:
            return text + f"None of the factors is one of {firm}'s levers."
    pick = levers.iloc[0]
    text += (
        f"**Pull {pick.factor} first**: of {firm}'s levers it accounts for the largest share of the variation in "
        f"{firm}'s {label} over these ranges (total index {_index(pick, 'ST')})."
    )
    if len(levers) > 1 and levers.iloc[1].ST_high >= pick.ST_low:
        runner = levers.iloc[1]
        text += (
            f" {runner.factor} ({_index(runner, 'ST')}) cannot be told apart from it at {result.samples} base "
            "samples: more samples would separate them."
        )
    return text


def _outcome_sentence(result: Sensitivity, outcome: str) -> str:
    rows = result.indices[result.indices["outcome"] == outcome].sort_values("rank")
    label = OUTCOMES[outcome][1]
    order = ", then ".join(f"{r.factor} ({_index(r, 'ST')})" for r in rows.itertuples() if r.ST >= NEGLIGIBLE)
    text = f"{label.capitalize()} of {result.firm}: " + (order or "no factor reaches a total index of 0.01") + "."
    idle = [r.factor for r in rows.itertuples() if r.ST < NEGLIGIBLE]
    if idle:
        text += (
            f" {', '.join(idle)} barely {'matters' if len(idle) == 1 else 'matter'} (total index below {NEGLIGIBLE})."
        )
    first_order = float(rows["S1"].clip(lower=0).sum())
    if len(rows) > 1 and first_order < 0.8:
        text += (
            f" The first-order indices add up to only {first_order:.2f}: the rest comes from interactions between "
            f"the factors, or from sampling error at {result.samples} base samples."
        )
    return text


def _index(row: Any, name: str) -> str:

    return interval(getattr(row, name), getattr(row, f"{name}_low"), getattr(row, f"{name}_high"), 2)


def sensitivity_report(result: Sensitivity, figures: list[Path], command: str = "") -> str:
    """Markdown report of a sensitivity analysis."""
    s = result.scenario
    runs = len(result.design.points) * len(result.seeds)
    seeds = result.seeds
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    lines = [f"# Sensitivity: {s.name}, firm {result.firm}", ""]
    if s.description:
        lines += [f"**The market.** {s.description}", ""]
    lines += [
        f"*Sobol' indices from a Saltelli sample of {result.samples} base samples over "
        f"{len(result.design.factors)} factors: "
        f"{len(result.design.points):,} points x {count_of(len(seeds), 'replication')} ({seed_text}) = {runs:,} runs "
        "of "
        f"{s.market.customers:,} customers over {s.market.periods} months, loyalty-sim {package_version()}. "
        "Every point ran on "
        "the same seeds (common random numbers) and its replications were averaged.*",
        "",
        "## What the analysis says",
        "",
    ]
    lines += [f"- {finding}" for finding in sensitivity_findings(result)]
    lines += ["", "## Factors", "", markdown_table(_design_table(result.design.describe(), s)), "", "## Indices", ""]
    for outcome in pd.unique(result.indices["outcome"]):
        rows = result.indices[result.indices["outcome"] == outcome].sort_values("rank")
        text = pd.DataFrame(
            {
                "rank": rows["rank"],
                "factor": rows["factor"],
                "total (ST)": [_index(r, "ST") for r in rows.itertuples()],
                "first-order (S1)": [_index(r, "S1") for r in rows.itertuples()],
            }
        )
        lines += [f"**{OUTCOMES[outcome][1].capitalize()}**", "", markdown_table(text), ""]
    lines += [
        f"Intervals are {result.confidence:.0%} bootstrap intervals. S1: share of the outcome's variance a factor "
        "accounts for alone; ST: alone and through interactions. A factor whose ST is near 0 can be set anywhere "
        "in its range.",
        "",
    ]
    for figure in figures:
        lines += [
            f"![{figure.stem}]({figure.name})",
            "",
            "*Factors ranked by their total index for each outcome (dark bars); light bars: the part each "
            "accounts for alone. Whiskers: bootstrap intervals.*",
            "",
        ]
    lines += ["## Reproduce", "", "```", command or f"loyalty sensitivity {s.name}", "```", ""]
    return "\n".join(lines)


def publish_sensitivity(result: Sensitivity, out: Path | str, command: str = "", **facts: object) -> Path:
    """Write a sensitivity results folder atomically: indices, runs, figure, report, manifest; return its path."""
    return publish(
        out,
        f"{result.scenario.name}-sensitivity",
        tables={"indices": result.indices, "runs": result.runs},
        figures=lambda folder: plot_sensitivity(result, folder),
        report=lambda figures: sensitivity_report(result, figures, command),
        title=f"Sensitivity: {result.scenario.name}",
        scenario=result.scenario.model_dump(mode="json"),
        seeds=result.seeds,
        firm=result.firm,
        design=result.design.describe(),
        outcomes=list(pd.unique(result.indices["outcome"])),
        skipped=result.skipped,
        tasks=result.runs.attrs.get("tasks"),
        store=result.runs.attrs.get("store"),
        **facts,
    )
