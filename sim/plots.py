"""Figures a strategist puts on a slide: share, churn, profit and loyalty, over months.

Every line is the mean over replications (seeds) with a shaded Student-t 95%
interval; with one replication only the line is drawn. A firm keeps its colour
in every figure (by order of first appearance in the data), and so does a
scenario in the comparison figures. Figures are written as PNG files and
closed at once, so a long session does not pile them up in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator
from scipy import stats

from .summary import steady_state_start

__all__ = ["mean_band", "plot_comparison", "plot_run"]

FIGSIZE = (10, 5.6)
DPI = 150
BAND_ALPHA = 0.12
PERCENT = (0.0, 100.0)

# Colour-blind-safe firm colours (Okabe & Ito), assigned in order of first appearance.
FIRM_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#8C6D31", "#000000")
# Scenario colours: the reference (first) scenario in dark grey, the alternatives in strong hues.
SCENARIO_COLOURS = ("#4D4D4D", "#D1495B", "#00798C", "#EDAE49", "#6A4C93", "#66A182")
# Dick & Basu segments, bottom to top of the stack: column, label, colour.
SEGMENTS = (
    ("true_loyal", "true loyal", "#1B7837"),
    ("latent_loyal", "latent loyal", "#A6DBA0"),
    ("spurious_loyal", "spurious loyal", "#F1A340"),
    ("not_loyal", "not loyal", "#BDBDBD"),
)

STYLE = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#555555",
    "axes.grid": True,
    "axes.grid.axis": "y",
    "axes.axisbelow": True,
    "grid.color": "#E5E5E5",
    "grid.linewidth": 0.8,
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "legend.frameon": False,
    "legend.fontsize": 10,
    "figure.titlesize": 15,
    "figure.titleweight": "bold",
    "lines.linewidth": 1.8,
    "savefig.facecolor": "white",
}


def mean_band(results: pd.DataFrame, column: str, by: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """Mean of ``column`` over seeds per group ``by`` with a Student-t interval.

    Missing values (a firm with no customers left has no segment shares) are
    skipped: ``n`` counts the replications that have a value.

    Args:
        results: tidy results, one row per seed and group.
        column: the column to average.
        by: the grouping columns, e.g. ``["period", "firm"]``.
        confidence: two-sided confidence of the interval.

    Returns:
        One row per group: the ``by`` columns, then ``mean``, ``low``, ``high``
        and ``n``. With one seed (or none), ``low = high = mean``.
    """
    grouped = results.groupby(by, sort=False, observed=True)[column]
    table = grouped.agg(["mean", "std", "count"]).reset_index()
    n = table["count"].to_numpy()
    quantile = stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        half = np.where(n > 1, quantile * table["std"].to_numpy() / np.sqrt(np.maximum(n, 1)), 0.0)
    table["low"] = table["mean"] - half
    table["high"] = table["mean"] + half
    table["n"] = n.astype(int)
    return table[[*by, "mean", "low", "high", "n"]]


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
            monthly, "share_pct", colours, "Market share by firm under each scenario",
            "market share (% of served customers)", share_y=True,
        ),
        "compare_churn.png": lambda: comparison_figure(
            monthly, "churn_pct", colours, "Monthly churn by firm under each scenario",
            "churn (% of customers per month)", share_y=True,
        ),
        "compare_profit.png": lambda: comparison_figure(
            monthly, "cumulative_discounted_profit", colours,
            "Cumulative discounted profit by firm under each scenario", "currency (discounted to month 1)",
            share_y=False, money=True,
        ),
        "compare_summary.png": lambda: summary_figure(monthly, colours),
    }
    return [draw_and_save(drawing, folder / name) for name, drawing in drawings.items()]


# --- measures ---------------------------------------------------------------------------------------------------


def with_monthly_measures(results: pd.DataFrame) -> pd.DataFrame:
    """The results with the measures the figures show, in the units they show them.

    ``month`` counts from 1; ``share_pct``, ``churn_pct`` and
    ``annual_retention_pct`` are percentages; annual retention is
    ``100 * (1 - churn) ** 12``. A firm that served no one in a month has no
    churn that month (missing, not 0%), so it draws no line there.
    """
    monthly = results.copy()
    if "scenario" not in monthly:
        monthly["scenario"] = "scenario"
    churn = monthly["churn_rate"].astype(float)
    if "served" in monthly:
        churn = churn.where(monthly["served"] > 0)
    monthly["month"] = monthly["period"].astype(int) + 1
    monthly["share_pct"] = 100 * monthly["market_share"].astype(float)
    monthly["churn_pct"] = 100 * churn
    monthly["annual_retention_pct"] = 100 * (1 - churn) ** 12
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

    The means skip the first year when the run is longer than two years, as in
    the summary tables.
    """
    steady = results[results["period"] >= steady_state_start(results)]
    return (
        steady.groupby(["scenario", "seed", "firm"], sort=False)[["churn_pct", "share_pct", "profit"]]
        .mean()
        .reset_index()
    )


# --- colours ----------------------------------------------------------------------------------------------------


def firm_colours(results: pd.DataFrame) -> dict[str, str]:
    """A colour per firm, stable by order of first appearance in ``results``."""
    return palette(results["firm"], FIRM_COLOURS)


def scenario_colours(results: pd.DataFrame) -> dict[str, str]:
    """A colour per scenario, stable by order of first appearance in ``results``."""
    return palette(results["scenario"], SCENARIO_COLOURS)


def palette(names: Iterable[object], colours: tuple[str, ...]) -> dict[str, str]:
    """Colours from ``colours`` in order of first appearance of ``names``, cycling when they run out."""
    return {name: colours[i % len(colours)] for i, name in enumerate(pd.unique(pd.Series(list(names))))}


# --- figures of one scenario ------------------------------------------------------------------------------------


def market_share_figure(results: pd.DataFrame, colours: dict[str, str]) -> Figure:
    """Share of served customers per firm, month by month."""
    figure, ax = new_figure(1)
    draw_lines(ax, results, "share_pct", "firm", colours, PERCENT)
    ax.set_ylabel("market share (% of served customers)")
    ax.set_ylim(bottom=0)
    format_month_axis(ax, results)
    return finish(figure, "Market share by firm", figure_note(results, LINES), legend_title="firm")


def churn_retention_figure(results: pd.DataFrame, colours: dict[str, str]) -> Figure:
    """Monthly churn and the annual retention it implies, per firm."""
    figure, (churn, retention) = new_figure(2)
    draw_lines(churn, results, "churn_pct", "firm", colours, PERCENT)
    churn.set_title("Churn each month")
    churn.set_ylabel("churn (% of customers per month)")
    churn.set_ylim(bottom=0)
    draw_lines(retention, results, "annual_retention_pct", "firm", colours, PERCENT)
    retention.set_title("Annualised retention")
    retention.set_ylabel("retention (% of customers kept per year)")
    for ax in (churn, retention):
        format_month_axis(ax, results)
    note = figure_note(results, LINES) + " Retention = (1 - churn)^12."
    return finish(figure, "Customers lost and kept, by firm", note, legend_title="firm")


def profit_figure(results: pd.DataFrame, colours: dict[str, str]) -> Figure:
    """Profit per month and cumulative discounted profit, per firm."""
    figure, (monthly, cumulative) = new_figure(2)
    draw_lines(monthly, results, "profit", "firm", colours)
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
    for ax, firm in zip(axes, firms):
        mix = shares[shares["firm"] == firm]
        if mix.empty:
            ax.text(0.5, 0.5, "no customers", transform=ax.transAxes, ha="center", va="center", color="#666666")
        ax.stackplot(
            mix["month"], *[mix[column] for column, _, _ in SEGMENTS],
            labels=[label for _, label, _ in SEGMENTS], colors=[colour for _, _, colour in SEGMENTS],
            edgecolor="white", linewidth=0.3,
        )
        ax.set_title(f"Firm {firm}")
        ax.set_ylim(0, 100)
        ax.grid(False)
        format_month_axis(ax, results)
    label_y(figure, axes, "% of the firm's customers")
    title = "What holds each firm's customers (loyalty segments)"
    return finish(figure, title, figure_note(results, SEGMENT_SHARES), legend_title="loyalty", top_down=True)


# --- figures comparing scenarios --------------------------------------------------------------------------------


def comparison_figure(
    results: pd.DataFrame, column: str, colours: dict[str, str], title: str, ylabel: str,
    *, share_y: bool, money: bool = False,
) -> Figure:
    """One panel per firm, one line (with its band) per scenario."""
    firms = list(pd.unique(results["firm"]))
    figure, axes = panel_grid(len(firms), share_y=share_y)
    for ax, firm in zip(axes, firms):
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
        ("profit", "Profit per month", "currency per month", (None, None)),
    )
    for ax, (column, title, ylabel, limits) in zip(axes, panels):
        draw_bars(ax, mean_band(means, column, ["scenario", "firm"]), colours, limits)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        if column == "profit":
            format_money_axis(ax)
    start = steady_state_start(results)
    period = f"months {start + 1}-{results['month'].max()}" if start else "all months"
    title = f"Steady state by firm and scenario (mean over {period})"
    return finish(figure, title, figure_note(results, BARS, compared=True), legend_title="scenario", legend_below=True)


# --- drawing ----------------------------------------------------------------------------------------------------


def draw_lines(
    ax: Axes, results: pd.DataFrame, column: str, hue: str, colours: dict[str, str],
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
        if (line["n"] > 1).any():
            ax.fill_between(line["month"], line["low"], line["high"], color=colour, alpha=BAND_ALPHA, linewidth=0)


def draw_bars(
    ax: Axes, band: pd.DataFrame, colours: dict[str, str], limits: tuple[float | None, float | None] = (None, None),
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
        has_interval = bool((rows["n"] > 1).any())
        ax.bar(
            x, rows["mean"], width=width * 0.92, color=colours[scenario], label=str(scenario),
            yerr=errors if has_interval else None, capsize=3, error_kw={"elinewidth": 1.2, "ecolor": "#222222"},
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


# --- layout -----------------------------------------------------------------------------------------------------


def new_figure(panels: int) -> tuple[Figure, Axes | np.ndarray]:
    """A slide-sized figure with ``panels`` side by side, in the house style."""
    return plt.subplots(1, panels, figsize=FIGSIZE, dpi=DPI)


def panel_grid(count: int, share_y: bool = False) -> tuple[Figure, list[Axes]]:
    """A slide-sized figure with one panel per firm (up to three a row); spare panels are removed."""
    columns = min(count, 3)
    rows = -(-count // columns)
    figure, axes = plt.subplots(rows, columns, figsize=FIGSIZE, dpi=DPI, sharey=share_y, squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[count:]:
        ax.remove()
    for ax in flat[:count]:
        ax.tick_params(labelleft=True)
    return figure, flat[:count]


def label_y(figure: Figure, axes: list[Axes], label: str) -> None:
    """The y label of a grid of panels: on the left panel of a single row, once for the figure on several rows."""
    if len({ax.get_subplotspec().rowspan.start for ax in axes}) > 1:
        figure.supylabel(label, x=0.01, fontsize=STYLE["axes.labelsize"])
        return
    for ax in axes:
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel(label)


def format_month_axis(ax: Axes, results: pd.DataFrame) -> None:
    """Months on the x axis: a tick a year on long runs, whole months on short ones.

    Only the lowest panel of each column is labelled: the panels above it show the same months.
    """
    months = int(results["month"].max())
    if months > 24:
        ax.xaxis.set_major_locator(MultipleLocator(12))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(1, max(months, 2))
    if lowest_in_column(ax):
        ax.set_xlabel("month")
    else:
        ax.tick_params(labelbottom=False)


def lowest_in_column(ax: Axes) -> bool:
    """Whether no other panel of the figure sits below ``ax``."""
    spec = ax.get_subplotspec()
    for other in ax.figure.axes:
        below = other.get_subplotspec()
        if below is not None and below.colspan == spec.colspan and below.rowspan.start > spec.rowspan.start:
            return False
    return True


def format_money_axis(ax: Axes) -> None:
    """Currency ticks in thousands or millions (12k, 1.5M)."""
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: money(value)))


def money(value: float) -> str:
    """A currency amount, short: 950, 12k, 1.5M."""
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.3g}M"
    if size >= 1e3:
        return f"{value / 1e3:.3g}k"
    return f"{value:.0f}"


def finish(
    figure: Figure, title: str, note: str, *, legend_title: str, legend_below: bool = False, top_down: bool = False,
) -> Figure:
    """Title on top, one legend for the whole figure, a grey note at the bottom, tight layout.

    Args:
        figure: the drawn figure.
        title: what the figure shows, top left.
        note: what the lines, bands or bars are, bottom left in small grey type.
        legend_title: heading of the legend ("firm", "scenario", "loyalty").
        legend_below: put the legend in one row under the panels instead of on their right.
        top_down: list the legend entries in reverse order, to match a stack drawn bottom-up.
    """
    handles, labels = legend_entries(figure)
    if top_down:
        handles, labels = handles[::-1], labels[::-1]
    figure.suptitle(title, x=0.01, ha="left")
    figure.text(0.01, 0.01, note, ha="left", va="bottom", fontsize=9, color="#666666")
    if legend_below:
        figure.legend(handles, labels, loc="lower center", ncol=max(len(labels), 1), bbox_to_anchor=(0.5, 0.045))
        figure.tight_layout(rect=(0, 0.11, 1, 1))
        return figure
    legend = figure.legend(
        handles, labels, loc="upper right", bbox_to_anchor=(0.995, 0.9), title=legend_title, alignment="left",
    )
    width = legend.get_window_extent(figure.canvas.get_renderer()).width / figure.bbox.width
    figure.tight_layout(rect=(0, 0.04, 0.99 - width, 1))
    top = max(ax.get_position().y1 for ax in figure.axes)
    legend.set_bbox_to_anchor((0.995, top), transform=figure.transFigure)
    return figure


def legend_entries(figure: Figure) -> tuple[list, list[str]]:
    """The labelled artists of every panel, each label once, in the order first drawn."""
    entries: dict[str, object] = {}
    for ax in figure.axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    return list(entries.values()), list(entries.keys())


LINES = "Lines: mean of {n} replications; shaded: 95% interval."
SEGMENT_SHARES = "Shares of the mean segment counts over {n} replications."
BARS = "Bars: mean of {n} replications; whiskers: 95% interval."


def figure_note(results: pd.DataFrame, shows: str, compared: bool = False) -> str:
    """A figure's footnote: the scenario (or common random numbers) and what ``shows`` over ``{n}`` replications."""
    seeds = replication_count(results)
    if compared:
        where = "Same customers and random numbers in every scenario."
    else:
        where = f"Scenario {', '.join(map(str, pd.unique(results['scenario'])))}."
    if seeds <= 1:
        return f"{where} One replication."
    return f"{where} {shows.format(n=seeds)}"


def replication_count(results: pd.DataFrame) -> int:
    """Number of replications (seeds) in ``results``."""
    return int(results["seed"].nunique()) if "seed" in results else 1


def draw_and_save(drawing: Callable[[], Figure], path: Path) -> Path:
    """Draw a figure in the house style, write it to ``path`` as a PNG and close it."""
    with plt.rc_context(STYLE):
        figure = drawing()
        try:
            figure.savefig(path, dpi=DPI, format="png")
        finally:
            plt.close(figure)
    return path

