"""One figure per stylized fact of the validation report, coloured by its verdict."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim.behaviour import accounting
from sim.experiments.lift import LITERATURE
from sim.experiments.validation.lab import FactResult, Validation
from sim.outputs.figures.style import draw_and_save

CAPTIONS = {
    "satisfaction_loyalty": "How many customers at each level of satisfaction are still with their firm a year on "
    "(the monthly rate, compounded). The literature expects a flat middle and a jump at the top.",
    "complaints": "What becomes of 100 dissatisfied customer-months: how many complain, and of the silent, how many "
    "leave within a year. Right: who leaves within a year.",
    "word_of_mouth": "How many people one customer's warning or recommendation reaches, against the seeds' 25 and 8.",
    "acquisition_cost": "What it costs to win one customer, against what it costs to keep one for a year.",
    "cohort_churn": "Monthly churn of newly joined customers by how long they have stayed, in the model as built, with "
    "every tenure mechanism off, and with customers all alike as well.",
    "exit_barriers": "Share of firm A's truly and spuriously loyal customers lost each month around the ban on exit "
    "fees (dashed: the fee kept).",
    "retention_profit": "What 5 more points of 12-month retention add to the discounted profit of a customer base, "
    "against the range the literature reports (shaded) and the constant-margin closed form.",
    "price_elasticity": "How much each kind of customer cuts what it buys from firm A after a 5% price rise "
    "(elasticity: % change in quantity per % change in price).",
    "lifetime_value": "Lifetime value of a customer simulated with constant retention (points, with 95% intervals) "
    "against the closed form (line).",
    "quality_satisfaction": "How firm A's customers feel and talk at three levels of its service quality.",
    "service_failures": "How firm A's customers feel and talk as its service fails more often.",
    "complaint_recovery": "Share of complainers still with their firm a year later, resolved against unresolved, "
    "beside satisfied customers.",
    "promotion_end": "Firm A's churn in the three months after a short promotion ends, against no promotion and a "
    "permanent hike of the same size.",
    "tier_perks": "What firm A's tier perks do to its customers: more held without preferring it, none won over.",
    "lock_in_latent": "Firm A's customers who like a rival best but stay, with and without A's exit barriers.",
    "period_retention": "Each firm's 12-month and annualised retention reported monthly, quarterly and annually.",
}
TITLES = {
    "quality_satisfaction": "Quality and satisfaction",
    "service_failures": "Service failures",
    "complaint_recovery": "Complaint recovery",
    "promotion_end": "Reference prices",
    "tier_perks": "Tier perks",
    "lock_in_latent": "Lock-in and latent loyalty",
    "period_retention": "The period",
}
"""Figure titles of the facts drawn as bars (``_draw_bars``)."""


def plot_validation(validation: Validation, folder: Path) -> list[Path]:
    """Write one figure per fact that has a picture into ``folder``; return the paths written."""
    drawings = {
        "satisfaction_loyalty": _draw_satisfaction,
        "complaints": _draw_complaints,
        "word_of_mouth": _draw_word_of_mouth,
        "acquisition_cost": _draw_costs,
        "cohort_churn": _draw_cohort,
        "exit_barriers": _draw_ban,
        "retention_profit": _draw_profit,
        "price_elasticity": _draw_elasticity,
        "lifetime_value": _draw_clv,
        **dict.fromkeys(TITLES, _draw_bars),
    }
    folder = Path(folder)
    paths = []
    for fact in validation.facts:
        if fact.fact in drawings:
            drawing = drawings[fact.fact]
            path = folder / f"{fact.fact}.png"
            paths.append(draw_and_save(lambda f=fact, draw=drawing: draw(f, len(validation.seeds)), path))
    return paths


PASS_COLOUR, FAIL_COLOUR, GREY = "#1B7837", "#B2182B", "#8C8C8C"


def _figure(title: str, fact: FactResult, replications: int, panels: int = 1):

    figure, axes = plt.subplots(1, panels, figsize=(10, 5.6), squeeze=False)
    verdict = "passes" if fact.passed else "fails"
    figure.suptitle(f"{title}: {verdict}", x=0.01, ha="left", color=PASS_COLOUR if fact.passed else FAIL_COLOUR)
    figure.text(
        0.01,
        0.01,
        f"Means of {replications} replications; whiskers and bands: 95% intervals. {fact.setup.capitalize()}.",
        ha="left",
        va="bottom",
        fontsize=9,
        color="#666666",
    )
    return figure, list(axes[0])


def _finish(figure):
    figure.tight_layout(rect=(0, 0.04, 1, 0.97))
    return figure


def _whiskers(ax, x, table: pd.DataFrame, column: str, colour: str) -> None:
    low = (table[column] - table["low"]).clip(lower=0).fillna(0)
    high = (table["high"] - table[column]).clip(lower=0).fillna(0)
    ax.errorbar(x, table[column], yerr=[low, high], fmt="none", ecolor=colour, capsize=4, linewidth=1.2)


def _draw_satisfaction(fact: FactResult, replications: int):
    d = fact.detail
    figure, (ax,) = _figure("Satisfaction and loyalty", fact, replications)
    for start, stop, label, shade in (
        (0.5, 2.5, "defection", "#FBE3E3"),
        (2.5, 4.5, "indifference", "#F3F3F3"),
        (4.5, 5.5, "affection", "#E2F1E4"),
    ):
        ax.axvspan(start, stop, color=shade, zorder=0)
        ax.text((start + stop) / 2, 0.02, label, transform=ax.get_xaxis_transform(), ha="center", color="#555555")
    ax.plot(d.level, d.annual_retention_pct, "-o", color="#0072B2", markersize=7)
    _whiskers(ax, d.level, d, "annual_retention_pct", "#0072B2")
    ax.set_xticks(range(1, 6), ["1\nvery dissatisfied", "2", "3", "4\nsatisfied", "5\ncompletely satisfied"])
    ax.set_xlim(0.5, 5.5)
    ax.set_xlabel("satisfaction that month (five equal levels of the 0-1 scale)")
    ax.set_ylabel("annual retention at that month's rate, %")
    return _finish(figure)


def _draw_complaints(fact: FactResult, replications: int):
    d = fact.detail
    figure, (left, right) = _figure("Voice and silent exit", fact, replications, panels=2)
    colours = ("#0072B2", "#D55E00", "#BDBDBD")
    start = 0.0
    for (_, row), colour in zip(d.iterrows(), colours, strict=True):
        left.barh([0], [100 * row.share_of_dissatisfied], left=start, color=colour, label=row.group)
        start += 100 * row.share_of_dissatisfied
    left.set_yticks([])
    left.set_xlim(0, 100)
    left.set_xlabel("per 100 dissatisfied customer-months")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=1)
    leave = d.attrs["leave_12m"]
    names = list(leave)
    table = pd.DataFrame(
        {
            "value": [100 * leave[n].mean for n in names],
            "low": [100 * leave[n].low for n in names],
            "high": [100 * leave[n].high for n in names],
        }
    )
    right.bar(range(len(names)), table.value, color=[GREY, "#D55E00", "#0072B2"])
    _whiskers(right, range(len(names)), table, "value", "#333333")
    right.set_xticks(range(len(names)), names)
    right.set_ylabel("left their firm within 12 months, %")
    return _finish(figure)


def _draw_word_of_mouth(fact: FactResult, replications: int):
    d = fact.detail
    figure, (ax,) = _figure("Word of mouth: people reached per talker", fact, replications)
    ax.bar([0, 1], d.people_reached, color=["#009E73", "#D55E00"], width=0.6)
    _whiskers(ax, [0, 1], d, "people_reached", "#333333")
    for x, value in enumerate(d.literature):
        ax.plot([x - 0.35, x + 0.35], [value, value], color="#333333", linestyle="--")
        ax.text(x + 0.37, value, f"seeds: {value:g}", va="center", color="#333333")
    ax.set_xticks([0, 1], ["a very satisfied customer\nrecommends", "a dissatisfied customer\nwarns"])
    ax.set_ylabel("people who hear it")
    ax.set_xlim(-0.6, 1.9)
    return _finish(figure)


def _draw_costs(fact: FactResult, replications: int):
    d = fact.detail
    figure, (ax,) = _figure("Winning against keeping a customer", fact, replications)
    ax.bar([0, 1], d.amount, color=["#E69F00", "#0072B2"], width=0.6)
    _whiskers(ax, [0, 1], d, "amount", "#333333")
    ax.set_xticks([0, 1], list(d.cost))
    ax.set_ylabel("cost per customer (currency)")
    ax.text(0.5, max(d.amount) * 0.9, f"{fact.value:.1f} times", ha="center", fontsize=14, color="#333333")
    return _finish(figure)


def _draw_cohort(fact: FactResult, replications: int):
    d = fact.detail
    figure, (ax,) = _figure("Churn by tenure", fact, replications)
    for (arm, rows), colour in zip(d.groupby("arm", sort=False), ("#4D4D4D", "#D1495B", "#00798C"), strict=False):
        ax.plot(rows.tenure, rows.churn_pct, color=colour, label=arm)
        ax.fill_between(rows.tenure, rows.low.clip(lower=0), rows.high, color=colour, alpha=0.12, linewidth=0)
    ax.set_xlabel("month with the firm")
    ax.set_ylabel("left that month, % of those still there")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right")
    return _finish(figure)


def _draw_ban(fact: FactResult, replications: int):
    d = fact.detail
    figure, (ax,) = _figure("The exit-fee ban releases the spuriously loyal", fact, replications)
    colours = {"true": "#1B7837", "spurious": "#F1A340"}
    for (arm, segment), rows in d.groupby(["arm", "segment"], sort=False):
        style = "--" if arm == "kept" else "-"
        label = f"{segment} loyal" + (" (fee kept)" if arm == "kept" else "")
        marker = "o" if arm == "banned" else None
        ax.plot(rows.month, rows.loss_rate_pct, style, color=colours[segment], label=label, marker=marker)
        if arm == "banned":
            ax.fill_between(rows.month, rows.low, rows.high, color=colours[segment], alpha=0.15, linewidth=0)
    ban = d.attrs["ban_month"]
    ax.axvline(ban, color="#666666", linewidth=1)
    ax.text(ban + 0.2, ax.get_ylim()[1] * 0.95, "exit fees banned", va="top", color="#444444")
    ax.set_xlabel("month")
    ax.set_ylabel("share of the segment lost that month, %")
    ax.legend(loc="upper left")
    return _finish(figure)


def _draw_profit(fact: FactResult, replications: int):
    d = fact.detail
    low, high = LITERATURE
    figure, (ax,) = _figure("What 5 points of retention are worth", fact, replications)
    ax.axhspan(low, high, color="#E2F1E4", zorder=0)
    ax.text(1.45, (low + high) / 2, f"literature\n{low:g}-{high:g}%", va="center", ha="right", color="#1B7837")
    ax.bar([0, 1], d.profit_change_pct, color=["#0072B2", GREY], width=0.6)
    _whiskers(ax, [0], d.iloc[:1], "profit_change_pct", "#333333")
    ax.set_xticks([0, 1], ["simulated: profit per customer\ngrows with tenure", "closed form:\nconstant margin"])
    ax.set_ylabel("change in discounted profit, %")
    ax.set_xlim(-0.6, 1.5)
    ax.set_ylim(0, max(high + 5, float(np.nanmax(d.high)) + 5))
    return _finish(figure)


def _draw_elasticity(fact: FactResult, replications: int):
    d = fact.detail
    figure, (ax,) = _figure("Price elasticity by kind of loyalty", fact, replications)
    colours = ["#1B7837", "#A6DBA0", "#F1A340", "#BDBDBD", "#4D4D4D"]
    x = np.arange(len(d))
    ax.bar(x, d.elasticity, color=colours, width=0.6)
    _whiskers(ax, x, d, "elasticity", "#333333")
    ax.set_xticks(x, [f"{s}\n({n:,.0f} customers)" for s, n in zip(d.segment, d.customers, strict=True)])
    ax.axhline(0, color="#555555", linewidth=0.8)
    ax.set_ylabel("elasticity of demand (% change in quantity per %\nchange in price)")
    return _finish(figure)


def _draw_clv(fact: FactResult, replications: int):
    d = fact.detail
    figure, (ax,) = _figure("Lifetime value with constant retention", fact, replications)
    grid = np.linspace(d.monthly_retention.min() - 0.02, min(d.monthly_retention.max() + 0.02, 0.99), 100)
    closed = accounting.closed_form_clv(d.attrs["margin"], grid, d.attrs["rate"], periods=d.attrs["months"])
    ax.plot(grid, closed, color=GREY, label="closed form")
    ax.plot(d.monthly_retention, d.simulated, "o", color="#0072B2", markersize=8, label="simulated")
    _whiskers(ax, d.monthly_retention, d, "simulated", "#0072B2")
    ax.set_xlabel("monthly retention")
    ax.set_ylabel(f"lifetime value of a customer (margin {d.attrs['margin']:g} a month)")
    ax.legend(loc="upper left")
    return _finish(figure)


def _draw_bars(fact: FactResult, replications: int):
    """One panel per ``panel`` of the fact's detail, one bar per row, whiskers at the 95% interval.

    Bars are coloured by the detail's ``group`` (with a legend) when it has one, else each its own colour.
    """
    d = fact.detail
    panels = list(dict.fromkeys(d.panel))
    figure, axes = _figure(TITLES[fact.fact], fact, replications, panels=len(panels))
    colours = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
    groups = list(dict.fromkeys(d.group)) if "group" in d else []
    for ax, panel in zip(axes, panels, strict=True):
        rows = d[d.panel == panel].reset_index(drop=True)
        x = np.arange(len(rows))
        if groups:
            shades = [colours[groups.index(g) % len(colours)] for g in rows.group]
        else:
            shades = [colours[k % len(colours)] for k in x]
        ax.bar(x, rows["mean"], color=shades, width=0.65)
        _whiskers(ax, x, rows, "mean", "#333333")
        slanted = len(rows) > 4 and not groups
        ax.set_xticks(x, list(rows.bar), rotation=35 if slanted else 0, ha="right" if slanted else "center")
        ax.set_title(textwrap.fill(panel, 34), fontsize=10)
    if groups:
        handles = [plt.Rectangle((0, 0), 1, 1, color=colours[k % len(colours)]) for k in range(len(groups))]
        axes[-1].legend(handles, groups, loc="lower right", frameon=True)
    return _finish(figure)
