"""The report of ``loyalty lift``: what a retention gain is worth, in plain sentences and a table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.experiments.intervals import Interval, too_few_for_intervals
from sim.experiments.lift import LITERATURE, SOURCES, LiftStudy, lift_table
from sim.outputs.formatting import interval, shown
from sim.outputs.reports.markdown import figure_section, markdown_table, setup_line
from sim.outputs.reports.runs import CAPTIONS


def lift_findings(study: LiftStudy) -> list[str]:
    """The study in plain sentences."""
    s = study
    gain = shown(s.retention_gain, 1, signed=True, unit=" points")
    months = s.scenario.market.periods * s.scenario.market.period_months
    lines = [
        f"**{s.firm}**'s 12-month retention (the share of its customers still its customers a year later) goes "
        f"from {s.retention_before.mean:.1f}% to {s.retention_after.mean:.1f}% ({gain}; target "
        f"{s.target_retention_pct:.1f}%); annualised monthly retention, a lower measure, from "
        f"{s.annualised_before.mean:.1f}% to {s.annualised_after.mean:.1f}%.",
    ]
    if s.via == "direct":
        lines.append(
            f"Made directly: a save desk keeps {s.lever_after:.0%} of the customers who would leave for a rival or "
            "for no purchase (those who leave the market for outside reasons cannot be kept). No cost is modelled, "
            "so the profit change below is what such a gain is worth: the most it would pay to get it."
        )
    elif s.via == "hazard":
        lines.append(
            f"Made directly: fewer customers leave the market for outside reasons (defection hazard from "
            f"{s.lever_before:.4g} to {s.lever_after:.4g} a month). No cost is modelled, so the profit change below "
            "is what such a gain is worth."
        )
    else:
        lines.append(
            f"Made through **{s.lever.replace('_', ' ')}**: from {s.lever_before:g} to {s.lever_after:.4g}; "
            "that is what the gain takes."
        )
    lines.append(
        f"Profit per month in steady state changes by {_money(s.profit_per_month_change)} "
        f"({_pct(s.profit_per_month_change_pct)}); discounted over the {months} months, by "
        f"{_money(s.discounted_profit_change)} ({_pct(s.discounted_profit_change_pct)})."
    )
    parts = [f"{label} {_money(s.sources[name])}" for name, label in SOURCES.items()]
    parts.append(f"exit fees {_money(s.sources['exit_fees'])}")
    parts.append(f"less the change in acquisition spend, {_money(s.sources['cost_acquisition'])}")
    lines.append(
        "Per month, the change splits into: " + "; ".join(parts) + ". Price premium: none realised, since every "
        "customer pays the firm's one price (loyal customers' tolerance of price shows as retention instead)."
    )
    if s.lever_cost is not None:
        lines.append(
            f"The lever itself costs {_money(s.lever_cost)} a month more; it is already inside the profit change."
        )
    elif s.via in ("service", "barrier"):
        lines.append(
            "The model books no cost for this lever, so the profit change is before whatever it costs in practice."
        )
    low, high = LITERATURE
    simulated = s.discounted_profit_change_pct.mean
    where = "inside" if low <= simulated <= high else ("below" if simulated < low else "above")
    lines.append(
        f"The closed form, with the same margin ({s.margin:,.2f} a customer-month), monthly retention "
        f"({s.monthly_retention[0]:.4f} to {s.monthly_retention[1]:.4f}) and discount rate, gives a lifetime value "
        f"change of {s.clv_change_pct:+.1f}% over the same {months} months "
        f"({s.clv_unbounded_change_pct:+.1f}% with no horizon), against the simulated "
        f"{s.discounted_profit_change_pct.mean:+.1f}%. "
        "The simulation differs where spend grows and serving cost falls with tenure, kept customers refer others, "
        "competitors and word of mouth respond, and newcomers cost acquisition spend; the closed form has none of "
        "these."
    )
    gains = {label: s.sources[name].mean for name, label in SOURCES.items()}
    total = sum(v for v in gains.values() if v > 0)
    largest = max(gains, key=gains.get)
    share = gains[largest] / total if total > 0 else float("nan")
    lines.append(
        f"The simulated {simulated:+.1f}% is {where} the {low:.0f}-{high:.0f}% range reported for a 5-point gain "
        "(Reichheld & Sasser 1990, across industries), which assumes profit per customer that grows with tenure. "
        f"Here {largest} carries {share:.0%} of what the kept customers add, and the {months}-month "
        f"horizon cuts off value a longer life would add (with no horizon the closed form gives "
        f"{s.clv_unbounded_change_pct:+.1f}%); steady-state profit per month moves "
        f"{s.profit_per_month_change_pct.mean:+.1f}%."
    )
    return lines


def _money(i: Interval) -> str:
    return shown(i, 0, signed=True)


def _pct(i: Interval) -> str:
    return shown(i, 1, signed=True, unit="%")


def lift_report(study, figures: list[Path]) -> str:
    """Markdown report of a retention-lift study (a ``sim.lift.LiftStudy``)."""
    s = study
    lines = [f"# What is a retention gain worth to {s.firm}? ({s.scenario.name})", ""]
    if s.scenario.description:
        lines += [f"**The market.** {s.scenario.description}", ""]
    lines += [
        setup_line(s.scenario, s.seeds) + f" The scenario ran as it is and with {s.firm}'s retention raised "
        f"through {s.via}, on the same seeds (common random numbers).",
        "",
        "## What the model says",
        "",
    ]
    lines += [f"- {finding}" for finding in lift_findings(s)]
    table = lift_table(s)
    text = pd.DataFrame(
        {
            "quantity": table.quantity,
            "value": [
                interval(m, lo, hi, 2 if abs(m) < 100 else 0)
                for m, lo, hi in zip(table["mean"], table.low, table.high, strict=True)
            ],
        }
    )
    lines += [
        "",
        "## Numbers",
        "",
        markdown_table(text),
        "",
        *([f"*{too_few_for_intervals(len(s.seeds))}*", ""] if too_few_for_intervals(len(s.seeds)) else []),
        "Means over paired replications, with 95% intervals in brackets; per-month figures are steady-state, "
        f"from month {s.steady_from_month} in both arms (the warm-up found by the MSER-5 rule).",
        "",
    ]
    if s.search:
        search = pd.DataFrame(s.search, columns=[s.lever, "12-month retention %"])
        lines += ["## How the lever was found", "", markdown_table(search.round(3)), ""]
    lines += figure_section(figures, CAPTIONS)
    lines += [
        "## Reproduce",
        "",
        "```",
        f"loyalty lift {s.scenario.name} --firm {s.firm} --via {s.via} --seed {s.seeds[0]} --replications "
        f"{len(s.seeds)}",
        "```",
        "",
    ]
    return "\n".join(lines)
