"""The figures of ``loyalty run`` and ``loyalty compare``: share, churn, profit and loyalty, over months.

Every line is the mean over replications (seeds) with a shaded Student-t 95%
interval; with one replication only the line is drawn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.experiments.intervals import MIN_FOR_INTERVAL, mean_band
from sim.experiments.summary import steady_state_start
from sim.outputs.figures.style import (
    BAND_ALPHA,
    BARS,
    LINES,
    PERCENT,
    SEGMENT_SHARES,
    SEGMENTS,
    draw_and_save,
    figure_note,
    finish,
    firm_colours,
    format_money_axis,
    format_month_axis,
    label_y,
    new_figure,
    panel_grid,
    scenario_colours,
)


def plot_run(results: pd.DataFrame, folder: Path) -> list[Path]:
    """Write the standard figures of one scenario's replications into ``folder``; return the paths written.

    The figures are ``market_share.png``, ``churn_retention.png``,
    ``profit.png`` and ``loyalty_segments.png``. An empty frame writes nothing.
    """
    if results.empty:
        return []
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    monthly = with_monthly_measures(results)
    colours = firm_colours(monthly)
    drawings = {
        "market_share.png": lambda: market_share_figure(monthly, colours),
        "churn_retention.png": lambda: churn_retention_figure(monthly, colours),
        "profit.png": lambda: profit_figure(monthly, colours),
        "loyalty_segments.png": lambda: loyalty_segments_figure(monthly),
    }
    return [draw_and_save(drawing, folder / name) for name, drawing in drawings.items()]


def plot_comparison(results: pd.DataFrame, folder: Path) -> list[Path]:
    """Write side-by-side figures of several scenarios (column ``scenario``) into ``folder``; return the paths.

    The figures are ``compare_share.png``, ``compare_churn.png``,
    ``compare_profit.png`` (one panel per firm, one line per scenario) and
    ``compare_summary.png`` (steady-state means per firm and scenario, with
    95% intervals across seeds). An empty frame writes nothing.
    """
    if results.empty:
        return []
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    monthly = with_monthly_measures(results)
    colours = scenario_colours(monthly)
    drawings = {
        "compare_share.png": lambda: comparison_figure(
            monthly,
            "share_pct",
            colours,
            "Market share by firm under each scenario",
            "market share (% of served customers)",
            share_y=True,
        ),
        "compare_churn.png": lambda: comparison_figure(
            monthly,
            "churn_pct",
            colours,
            "Monthly churn by firm under each scenario",
            "churn (% of customers per month)",
            share_y=True,
        ),
        "compare_profit.png": lambda: comparison_figure(
            monthly,
            "cumulative_discounted_profit",
            colours,
            "Cumulative discounted profit by firm under each scenario",
            "currency (discounted to month 1)",
            share_y=False,
            money=True,
        ),
        "compare_summary.png": lambda: summary_figure(monthly, colours),
    }
    return [draw_and_save(drawing, folder / name) for name, drawing in drawings.items()]


def with_monthly_measures(results: pd.DataFrame) -> pd.DataFrame:
    """The results with the measures the figures show, in the units they show them.

    ``month`` is the month at the end of each period, counting from 1 (the
    period's months are ``month - months + 1`` to ``month``);
    ``share_pct``, ``churn_pct`` (churn per month: the period's retention
    taken to the power ``1 / months``), ``annual_retention_pct``
    (``(1 - churn per month)^12``) and ``cohort_retention_pct`` (of the
    customers at the end of ``month``, the share still there twelve months
    later; missing for the last year) are percentages; ``profit_per_month``
    is the period's profit over its months. A firm that served no one in a
    period has no churn then (missing, not 0%), so it draws no line there.
    """
    monthly = results.copy()
    if "scenario" not in monthly:
        monthly["scenario"] = "scenario"
    months = monthly["months"].astype(int) if "months" in monthly else pd.Series(1, index=monthly.index)
    churn = monthly["churn_rate"].astype(float)
    if "served" in monthly:
        churn = churn.where(monthly["served"] > 0)
    churn = 1 - (1 - churn) ** (1 / months)
    first = monthly["month"].astype(int) if "month" in monthly else monthly["period"].astype(int) * months
    monthly["month"] = first + months
    monthly["share_pct"] = 100 * monthly["market_share"].astype(float)
    monthly["churn_pct"] = 100 * churn
    monthly["annual_retention_pct"] = 100 * (1 - churn) ** 12
    monthly["profit_per_month"] = monthly["profit"].astype(float) / months
    if "retained_year" in monthly:
        keys = [c for c in ("scenario", "seed", "firm") if c in monthly]
        later = monthly[[*keys, "month", "retained_year"]].assign(month=lambda t: t["month"] - 12)
        year_on = monthly[[*keys, "month"]].merge(later, on=[*keys, "month"], how="left")["retained_year"]
        customers = monthly["customers"].astype(float).where(monthly["customers"] > 0)
        monthly["cohort_retention_pct"] = 100 * year_on.to_numpy() / customers
    return monthly


def segment_shares(results: pd.DataFrame) -> pd.DataFrame:
    """Share (%) of each firm's customers in each loyalty segment, month by month, from the seed-mean counts.

    Months in which a firm has no customers have no shares and are left out.
    """
    columns = [column for column, _, _ in SEGMENTS]
    counts = results.groupby(["firm", "month"], sort=False)[columns].mean()
    total = counts.sum(axis=1)
    shares = 100 * counts.div(total.where(total > 0), axis=0)
    return shares.dropna().reset_index().sort_values(["firm", "month"])


def steady_state_means(results: pd.DataFrame) -> pd.DataFrame:
    """Per seed, scenario and firm: mean monthly churn %, market share % and profit per month.

    The means are over each firm's steady state, from the start the summary
    tables use (``steady_state_start``, MSER-5).
    """
    steady = results[results["period"] >= results["firm"].map(steady_state_start(results))]
    return (
        steady.groupby(["scenario", "seed", "firm"], sort=False)[["churn_pct", "share_pct", "profit_per_month"]]
        .mean()
        .reset_index()
    )


def steady_months(results: pd.DataFrame) -> str:
    """Words for the months the steady-state means cover: 'months 13-120', or each firm's start when they differ."""
    start = steady_state_start(results)
    last = int(results["month"].max())
    first_month = results.groupby("period")["month"].min()  # the end month of each period, counting from 1
    months = int(results["months"].iloc[0]) if "months" in results else 1
    begins = {firm: int(first_month.get(period, last)) - months + 1 for firm, period in start.items()}
    if len(set(begins.values())) == 1:
        return f"months {next(iter(begins.values()))}-{last}"
    return "from month " + ", ".join(f"{begin} ({firm})" for firm, begin in begins.items()) + f" to {last}"


def market_share_figure(results: pd.DataFrame, colours: dict[str, str]) -> Figure:
    """Share of served customers per firm, month by month."""
    figure, ax = new_figure(1)
    draw_lines(ax, results, "share_pct", "firm", colours, PERCENT)
    ax.set_ylabel("market share (% of served customers)")
    ax.set_ylim(bottom=0)
    format_month_axis(ax, results)
    return finish(figure, "Market share by firm", figure_note(results, LINES), legend_title="firm")


def churn_retention_figure(results: pd.DataFrame, colours: dict[str, str]) -> Figure:
    """Monthly churn, the 12-month retention of each month's customers and the annualised churn, per firm."""
    figure, (churn, cohort, retention) = new_figure(3)
    draw_lines(churn, results, "churn_pct", "firm", colours, PERCENT)
    churn.set_title("Churn each month")
    churn.set_ylabel("churn (% of customers per month)")
    churn.set_ylim(bottom=0)
    if "cohort_retention_pct" in results:
        draw_lines(cohort, results, "cohort_retention_pct", "firm", colours, PERCENT)
    cohort.set_title("12-month retention")
    cohort.set_ylabel("% of the month's customers still there a year on")
    draw_lines(retention, results, "annual_retention_pct", "firm", colours, PERCENT)
    retention.set_title("Annualised monthly retention")
    retention.set_ylabel("(1 - monthly churn)^12, %")
    for ax in (churn, cohort, retention):
        format_month_axis(ax, results)
    note = figure_note(results, LINES) + (
        " 12-month retention is what a strategist means by retention; annualising one month's churn gives a lower "
        "figure, because customers who churn fast weigh more in a month's losses than in a year's survivors."
    )
    return finish(figure, "Customers lost and kept, by firm", note, legend_title="firm")


def profit_figure(results: pd.DataFrame, colours: dict[str, str]) -> Figure:
    """Profit per month and cumulative discounted profit, per firm."""
    figure, (monthly, cumulative) = new_figure(2)
    draw_lines(monthly, results, "profit_per_month", "firm", colours)
    monthly.set_title("Profit each month")
    monthly.set_ylabel("profit (currency per month)")
    draw_lines(cumulative, results, "cumulative_discounted_profit", "firm", colours)
    cumulative.set_title("Cumulative discounted profit")
    cumulative.set_ylabel("currency (discounted to month 1)")
    for ax in (monthly, cumulative):
        format_month_axis(ax, results)
        format_money_axis(ax)
    return finish(figure, "Profit by firm", figure_note(results, LINES), legend_title="firm")


def loyalty_segments_figure(results: pd.DataFrame) -> Figure:
    """One panel per firm: shares of its customers that are true, latent, spurious and not loyal."""
    shares = segment_shares(results)
    firms = list(pd.unique(results["firm"]))
    figure, axes = panel_grid(len(firms))
    for ax, firm in zip(axes, firms, strict=True):
        mix = shares[shares["firm"] == firm]
        if mix.empty:
            ax.text(0.5, 0.5, "no customers", transform=ax.transAxes, ha="center", va="center", color="#666666")
        ax.stackplot(
            mix["month"],
            *[mix[column] for column, _, _ in SEGMENTS],
            labels=[label for _, label, _ in SEGMENTS],
            colors=[colour for _, _, colour in SEGMENTS],
            edgecolor="white",
            linewidth=0.3,
        )
        ax.set_title(f"Firm {firm}")
        ax.set_ylim(0, 100)
        ax.grid(False)
        format_month_axis(ax, results)
    label_y(figure, axes, "% of the firm's customers")
    title = "What holds each firm's customers (loyalty segments)"
    return finish(figure, title, figure_note(results, SEGMENT_SHARES), legend_title="loyalty", top_down=True)


def comparison_figure(
    results: pd.DataFrame,
    column: str,
    colours: dict[str, str],
    title: str,
    ylabel: str,
    *,
    share_y: bool,
    money: bool = False,
) -> Figure:
    """One panel per firm, one line (with its band) per scenario."""
    firms = list(pd.unique(results["firm"]))
    figure, axes = panel_grid(len(firms), share_y=share_y)
    for ax, firm in zip(axes, firms, strict=True):
        limits = (None, None) if money else PERCENT
        draw_lines(ax, results[results["firm"] == firm], column, "scenario", colours, limits)
        ax.set_title(f"Firm {firm}")
        format_month_axis(ax, results)
        if money:
            format_money_axis(ax)
    label_y(figure, axes, ylabel)
    if not money:
        for ax in axes:  # after every panel is drawn: shared limits must hold every firm's lines
            ax.set_ylim(bottom=0)
    return finish(figure, title, figure_note(results, LINES, compared=True), legend_title="scenario")


def summary_figure(results: pd.DataFrame, colours: dict[str, str]) -> Figure:
    """Grouped bars per firm and scenario: steady-state churn %, market share % and profit per month."""
    means = steady_state_means(results)
    figure, axes = new_figure(3)
    panels = (
        ("churn_pct", "Monthly churn", "% of customers per month", PERCENT),
        ("share_pct", "Market share", "% of served customers", PERCENT),
        ("profit_per_month", "Profit per month", "currency per month", (None, None)),
    )
    for ax, (column, title, ylabel, limits) in zip(axes, panels, strict=True):
        draw_bars(ax, mean_band(means, column, ["scenario", "firm"]), colours, limits)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        if column == "profit_per_month":
            format_money_axis(ax)
    title = f"Steady state by firm and scenario (mean over {steady_months(results)})"
    return finish(figure, title, figure_note(results, BARS, compared=True), legend_title="scenario", legend_below=True)


def draw_lines(
    ax: Axes,
    results: pd.DataFrame,
    column: str,
    hue: str,
    colours: dict[str, str],
    limits: tuple[float | None, float | None] = (None, None),
) -> None:
    """One line per value of ``hue`` (firm or scenario): the mean over seeds by month, with its 95% band.

    The band is cut to ``limits`` (e.g. a rate cannot fall below 0%), so that
    it never shows values the measure cannot take.
    """
    band = mean_band(results, column, [hue, "month"])
    band["low"] = band["low"].clip(*limits)
    band["high"] = band["high"].clip(*limits)
    for name, colour in colours.items():
        line = band[band[hue] == name].dropna(subset=["mean"]).sort_values("month")
        if line.empty:
            continue
        ax.plot(line["month"], line["mean"], color=colour, label=str(name))
        if (line["n"] >= MIN_FOR_INTERVAL).any():
            ax.fill_between(line["month"], line["low"], line["high"], color=colour, alpha=BAND_ALPHA, linewidth=0)


def draw_bars(
    ax: Axes,
    band: pd.DataFrame,
    colours: dict[str, str],
    limits: tuple[float | None, float | None] = (None, None),
) -> None:
    """Bars per firm (groups) and scenario (bars in a group), with 95% interval error bars cut to ``limits``."""
    band = band.assign(low=band["low"].clip(*limits), high=band["high"].clip(*limits))
    firms = list(pd.unique(band["firm"]))
    scenarios = [name for name in colours if name in set(band["scenario"])]
    width = 0.8 / max(len(scenarios), 1)
    for i, scenario in enumerate(scenarios):
        rows = band[band["scenario"] == scenario].set_index("firm").reindex(firms)
        x = np.arange(len(firms)) + (i - (len(scenarios) - 1) / 2) * width
        errors = np.vstack([rows["mean"] - rows["low"], rows["high"] - rows["mean"]])
        has_interval = bool((rows["n"] >= MIN_FOR_INTERVAL).any())
        ax.bar(
            x,
            rows["mean"],
            width=width * 0.92,
            color=colours[scenario],
            label=str(scenario),
            yerr=errors if has_interval else None,
            capsize=3,
            error_kw={"elinewidth": 1.2, "ecolor": "#222222"},
        )
    firm_ticks(ax, firms)
    ax.axhline(0, color="#555555", linewidth=0.8)


def firm_ticks(ax: Axes, firms: list[object]) -> None:
    """Firm names under the bar groups: 'Firm A' when there is room, bare and slanted when crowded."""
    names = [str(firm) for firm in firms]
    if sum(len(name) + 5 for name in names) <= 21:
        names = [f"Firm {name}" for name in names]
    slanted = sum(len(name) + 1 for name in names) > 21
    ax.set_xticks(np.arange(len(names)), names, rotation=30 if slanted else 0, ha="right" if slanted else "center")
    ax.tick_params(axis="x", length=0)
