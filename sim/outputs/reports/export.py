"""The words of an export: what the tables hold, in what units, and how to use them."""

from __future__ import annotations

from pathlib import Path

from sim.experiments.export import Histories
from sim.outputs.reports.markdown import markdown_table


def export_report(histories: Histories, figures: list[Path]) -> str:
    """The export's ``report.md``: the run, the tables with their sizes, and the data dictionary."""
    s, spells = histories.scenario, histories.spells
    reasons = spells.end_reason.value_counts().reindex(spells.end_reason.cat.categories, fill_value=0)
    lines = [
        f"# Customer histories: {s.name}",
        "",
        f"One run of `{s.name}` on seed {histories.seed}: {s.market.customers:,} customers over "
        f"{s.market.periods * s.market.period_months} months, recorded month by month after "
        f"{s.market.burn_in_months} months of burn-in. {s.description}",
        "",
        "## What is here",
        "",
        f"- `spells.csv` / `.parquet`: {len(spells):,} spells, one row per stretch a customer spent with a firm. "
        f"{int(spells.left_truncated.sum()):,} began before month 0 (left-truncated: `start_month` < 0), "
        f"{int(spells.censored.sum()):,} were still running at the end (censored). Ended: "
        + ", ".join(f"{int(n):,} {reason}" for reason, n in reasons.items() if reason != "censored")
        + ".",
        f"- `customers.csv`: the {len(histories.customers):,} customers' true traits, the values that generated "
        "their behaviour.",
        f"- `cohorts.csv`: per firm and month of joining, joiners still with the firm at each age "
        f"({histories.cohorts.drop_duplicates(['firm', 'cohort_month']).shape[0]:,} cohorts).",
        f"- `events.csv`: the scenario's {len(histories.events)} timed events.",
        "- `dictionary.csv`: every column of every table, its meaning and unit (below).",
        "",
        "A survival model fitted to the spells (Kaplan-Meier, Weibull or Cox on `months`, with `censored` and, "
        "for left-truncated spells, delayed entry at month 0) can be judged against the traits that produced "
        "them; the effect of a lever is the difference between two exports of scenarios that differ in it, on "
        "the same seed.",
    ]
    if figures:
        lines += ["", "## Survival since joining", "", *[f"![{f.stem}]({f.name})" for f in figures]]
    lines += ["", "## Data dictionary", "", markdown_table(histories.dictionary())]
    if histories.event_log:
        lines += ["", "## Event log", "", *[f"- {line}" for line in histories.event_log]]
    return "\n".join(lines) + "\n"
