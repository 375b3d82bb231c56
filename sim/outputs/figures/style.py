"""The house style of every figure a strategist puts on a slide, and the pieces the figures are built from.

A firm keeps its colour in every figure (by order of first appearance in the
data), and so does a scenario in the comparison figures. Figures are written
as PNG files and closed at once, so a long session does not pile them up in
memory. Commands call ``draw_to_files`` first, so that nothing ever opens a
window; a notebook keeps its own backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator

from sim.experiments.intervals import MIN_FOR_INTERVAL
from sim.outputs.formatting import money

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
    ("latent_new", "latent loyal (new)", "#A6DBA0"),
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


def firm_colours(results: pd.DataFrame) -> dict[str, str]:
    """A colour per firm, stable by order of first appearance in ``results``."""
    return palette(results["firm"], FIRM_COLOURS)


def scenario_colours(results: pd.DataFrame) -> dict[str, str]:
    """A colour per scenario, stable by order of first appearance in ``results``."""
    return palette(results["scenario"], SCENARIO_COLOURS)


def palette(names: Iterable[object], colours: tuple[str, ...]) -> dict[str, str]:
    """Colours from ``colours`` in order of first appearance of ``names``, cycling when they run out."""
    return {name: colours[i % len(colours)] for i, name in enumerate(pd.unique(pd.Series(list(names))))}


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


def finish(
    figure: Figure,
    title: str,
    note: str,
    *,
    legend_title: str,
    legend_below: bool = False,
    top_down: bool = False,
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
        handles,
        labels,
        loc="upper right",
        bbox_to_anchor=(0.995, 0.9),
        title=legend_title,
        alignment="left",
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
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
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
    if seeds < MIN_FOR_INTERVAL:
        return f"{where} Mean of {seeds} replications, too few for an interval."
    return f"{where} {shows.format(n=seeds)}"


def replication_count(results: pd.DataFrame) -> int:
    """Number of replications (seeds) in ``results``."""
    return int(results["seed"].nunique()) if "seed" in results else 1


def draw_to_files() -> None:
    """Draw figures into files only (the Agg backend), never into a window: what a command wants."""
    matplotlib.use("Agg")


def draw_and_save(drawing: Callable[[], Figure], path: Path) -> Path:
    """Draw a figure in the house style, write it to ``path`` as a PNG and close it."""
    with plt.rc_context(STYLE):
        figure = drawing()
        try:
            figure.savefig(path, dpi=DPI, format="png")
        finally:
            plt.close(figure)
    return path
