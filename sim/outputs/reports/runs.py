"""The reports of ``loyalty run`` and ``loyalty compare``: findings in plain words, tables, figures inline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.engine.parameters import Scenario
from sim.experiments.intervals import too_few_for_intervals
from sim.experiments.summary import METRICS
from sim.outputs.formatting import interval
from sim.outputs.reports.markdown import figure_section, markdown_table, setup_line

CAPTIONS = {
    "market_share.png": (
        "Share of served customers per firm, month by month (mean over replications, band: 95% interval)."
    ),
    "churn_retention.png": (
        "Customers lost each month; of each month's customers, the share still there a year later (12-month "
        "retention, what a strategist means by retention); and the lower figure that annualising one month's churn "
        "gives."
    ),
    "profit.png": "Profit per month and discounted profit accumulated over the horizon.",
    "loyalty_segments.png": "What holds each firm's customers (Dick & Basu): true loyalty (would choose the firm "
    "again and has stayed), "
    "latent (would, but is new), spurious (stays but would rather not: barriers or habit), none. Relative "
    "attitude is judged as if leaving were free: every switching cost belongs to patronage.",
    "compare_share.png": "Market share per firm under each scenario (same customers and random numbers in each).",
    "compare_churn.png": "Monthly churn per firm under each scenario.",
    "compare_profit.png": "Discounted profit accumulated per firm under each scenario.",
    "compare_summary.png": (
        "Steady-state churn, share and profit per firm and scenario, with 95% intervals across replications."
    ),
}
LEVER_COLUMNS = {
    "price": "price",
    "quality": "quality",
    "failure_rate": "failure rate",
    "exit_fee": "exit fee",
    "contract_months": "contract",
    "points_rate": "points",
    "recovery_rate": "recovery",
    "care_spend": "care",
    "acquisition_spend": "acquisition",
    "brand_investment": "brand",
}


def run_report(
    scenario: Scenario, summary: pd.DataFrame, figures: list[Path], seeds: list[int], events: list[str]
) -> str:
    """Markdown report of one scenario's replications."""
    lines = [f"# {scenario.name}", ""]
    if scenario.description:
        lines += [f"**The question.** {scenario.description}", ""]
    lines += [setup_line(scenario, seeds), "", "## What the model says", ""]
    lines += [f"- {finding}" for finding in run_findings(summary)]
    if events:
        lines += ["", "## What happened", ""] + [f"- {event}" for event in events]
    lines += ["", "## Firms", "", _levers_table(scenario), "", "## Results by firm", ""]
    lines += [markdown_table(printable(summary).reset_index()), ""]
    note = too_few_for_intervals(len(seeds))
    lines += [f"*{note}*", ""] if note else []
    lines += [
        "Means over replications, with 95% intervals in brackets (cut to 0-100% for shares). Rates and profit per "
        "month are steady-state, "
        f"{steady_words(summary)} (the warm-up found by the MSER-5 rule); shares and loyalty mix at the last month. "
        "12-month retention is the share of a month's customers still there a year later; annualised retention "
        "compounds one month's churn over twelve.",
        "",
    ]
    lines += figure_section(figures, CAPTIONS)
    lines += ["## Reproduce", "", "```", _reproduce("run", [scenario.name], seeds), "```", ""]
    return "\n".join(lines)


def comparison_report(scenarios: list[Scenario], table: pd.DataFrame, figures: list[Path], seeds: list[int]) -> str:
    """Markdown report comparing scenarios on common random numbers."""
    reference = scenarios[0]
    names = [s.name for s in scenarios]
    lines = [f"# {' vs '.join(names)}", ""]
    for s in scenarios:
        if s.description:
            lines += [f"- **{s.name}**: {s.description}"]
    lines += [
        "",
        setup_line(reference, seeds) + " Every scenario ran with the same seeds (common random numbers), "
        "so differences are paired replication by replication.",
        "",
        "## What the model says",
        "",
    ]
    lines += [f"- {finding}" for finding in comparison_findings(table, reference.name)]
    lines += ["", "## Results", "", markdown_table(_comparison_text(table, reference.name)), ""]
    note = too_few_for_intervals(len(seeds))
    lines += [f"*{note}*", ""] if note else []
    lines += [
        f"Rates are steady-state, {steady_words(table)} in every scenario (the latest warm-up any of them needs, "
        "by the MSER-5 rule); discounted profit is over the whole horizon.",
        "",
    ]
    lines += figure_section(figures, CAPTIONS)
    lines += ["## Reproduce", "", "```", _reproduce("compare", names, seeds), "```", ""]
    return "\n".join(lines)


def run_findings(summary: pd.DataFrame) -> list[str]:
    """Plain sentences on who leads on share, retention, profit and loyalty."""
    if summary.empty:
        return ["No firm served any customer."]
    found = []

    def best(metric: str, highest: bool = True) -> pd.Series:
        column = summary[metric].fillna(-np.inf if highest else np.inf)
        return summary.loc[column.idxmax() if highest else column.idxmin()]

    def show(row: pd.Series, metric: str) -> str:
        return interval(row[metric], row[f"{metric}_low"], row[f"{metric}_high"], METRICS[metric][1])

    leader = best("final_share_pct")
    found.append(
        f"**{leader.firm}** ends with the largest share of served customers: {show(leader, 'final_share_pct')}%."
    )
    keeps, loses = best("cohort_retention_pct"), best("cohort_retention_pct", highest=False)
    found.append(
        f"**{keeps.firm}** keeps its customers best: {show(keeps, 'cohort_retention_pct')}% of its customers are "
        f"still its customers a year later; **{loses.firm}** keeps the fewest, "
        f"{show(loses, 'cohort_retention_pct')}%."
    )
    rich = best("profit_per_month")
    found.append(
        f"**{rich.firm}** earns the most: {show(rich, 'profit_per_month')} a month in steady state, "
        f"{show(rich, 'discounted_profit')} discounted over the horizon."
    )
    held = best("spurious_loyal_pct")
    true = best("true_loyal_pct")
    found.append(
        f"Spurious loyalty is highest at **{held.firm}**: {show(held, 'spurious_loyal_pct')}% of its customers stay "
        "while "
        f"they would rather be elsewhere (held by barriers or habit). True loyalty is highest at **{true.firm}** "
        f"({show(true, 'true_loyal_pct')}%)."
    )
    return found


def comparison_findings(table: pd.DataFrame, reference: str) -> list[str]:
    """One sentence per scenario and firm whose difference from the reference is clear."""
    found = []
    others = table[table.scenario != reference]
    for _, row in others.iterrows():
        parts = []
        for metric, label, unit in (
            ("cohort_retention_pct", "12-month retention", " points"),
            ("monthly_churn_pct", "monthly churn", " points"),
            ("final_share_pct", "share", " points"),
            ("discounted_profit", "discounted profit", ""),
        ):
            low, high = row.get(f"{metric}_diff_low", np.nan), row.get(f"{metric}_diff_high", np.nan)
            if np.isfinite(low) and np.isfinite(high) and (low > 0 or high < 0):
                digits = 0 if metric == "discounted_profit" else 2
                diff = interval(row[f"{metric}_diff"], low, high, digits)
                parts.append(f"{label} {'+' if row[f'{metric}_diff'] > 0 else ''}{diff}{unit}")
        if parts:
            found.append(
                f"Under **{row.scenario}**, firm **{row.firm}**: " + "; ".join(parts) + f" against {reference}."
            )
    if not found:
        found.append(f"No difference from {reference} is clear at 95%: more replications may separate them.")
    return found


def _levers_table(scenario: Scenario) -> str:
    rows = [
        {"firm": f.name, **{label: getattr(f, name) for name, label in LEVER_COLUMNS.items()}} for f in scenario.firms
    ]
    return markdown_table(pd.DataFrame(rows))


def _comparison_text(table: pd.DataFrame, reference: str) -> pd.DataFrame:
    text = pd.DataFrame({"scenario": table.scenario, "firm": table.firm})
    for metric, label, short, digits in (
        ("cohort_retention_pct", "12-month retention %", "retention", 1),
        ("monthly_churn_pct", "monthly churn %", "churn", 2),
        ("final_share_pct", "final share %", "share", 1),
        ("discounted_profit", "discounted profit", "profit", 0),
    ):
        text[label] = [f"{v:,.{digits}f}" if np.isfinite(v) else "-" for v in table[metric]]
        text[f"{short} vs {reference}"] = [
            interval(
                row.get(f"{metric}_diff", np.nan),
                row.get(f"{metric}_diff_low", np.nan),
                row.get(f"{metric}_diff_high", np.nan),
                digits,
            )
            if row.scenario != reference
            else ""
            for _, row in table.iterrows()
        ]
    return text


def steady_words(table: pd.DataFrame) -> str:
    """From which month the steady-state figures are taken: 'from month 25', or per firm when they differ."""
    starts = dict(zip(table.firm, table.steady_from_month.astype(int), strict=False))
    if len(set(starts.values())) == 1:
        return f"from month {next(iter(starts.values()))}"
    return "from month " + ", ".join(f"{month} for {firm}" for firm, month in starts.items())


def _reproduce(command: str, names: list[str], seeds: list[int]) -> str:
    return f"loyalty {command} {' '.join(names)} --seed {seeds[0]} --replications {len(seeds)}"


def printable(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as text: ``mean [low, high]`` per metric (just the mean for one replication)."""
    table = pd.DataFrame({"firm": summary.firm})
    for metric, (label, digits) in METRICS.items():
        table[label] = [
            interval(m, lo, hi, digits)
            for m, lo, hi in zip(summary[metric], summary[f"{metric}_low"], summary[f"{metric}_high"], strict=True)
        ]
    return table.set_index("firm")
