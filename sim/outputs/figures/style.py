"""The house style of every figure a strategist puts on a slide, and the pieces the figures are built from.

A firm keeps its colour in every figure (by order of first appearance in the
data), and so does a scenario in the comparison figures. Figures are written
as PNG files and closed at once, so a long session does not pile them up in
memory. Commands call ``draw_to_files`` first, so that nothing ever opens a
window; a notebook keeps its own backend.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, Locator

from sim.experiments.intervals import MIN_FOR_INTERVAL
from sim.outputs.formatting import money

FIGSIZE = (10, 5.6)
DPI = 150
BAND_ALPHA = 0.12
NOTE_SIZE = 9
"""Points of the grey note under a figure."""
NOTE_CHARACTER = 0.56
"""Width of an average character of the note, in ems: the note wraps at the figure's width."""
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


class MonthTicks(Locator):
    """Ticks on whole months, as many as the panel has room for at the size it is drawn.

    Every 1, 2, 3, 4 or 6 months on a run of two years or less, else every
    1, 2, 3, 5, 10, ... years: the first step whose labels fit side by side in
    the panel's width (each label given its digits and two more of room), so
    that a narrow panel of a ten-year run is labelled every two or three
    years instead of in an overlapping row.
    """

    SHORT = (1, 2, 3, 4, 6, 12)
    LONG = tuple(12 * years for years in (1, 2, 3, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000))

    def __call__(self) -> np.ndarray:
        """The ticks of the axis's current view."""
        low, high = self.axis.get_view_interval()
        return self.tick_values(low, high)

    def tick_values(self, vmin: float, vmax: float) -> np.ndarray:
        """Ticks between ``vmin`` and ``vmax`` at the first step whose labels fit the panel."""
        low, high = sorted((vmin, vmax))
        room = self._room(high)
        ticks = np.array([])
        for step in self.SHORT if high <= 24 else self.LONG:
            ticks = np.arange(np.ceil(low / step) * step, high + 1e-9, step)
            if len(ticks) <= room:
                break
        return ticks

    def _room(self, high: float) -> int:
        """How many labels of the widest month fit side by side in the panel."""
        if self.axis is None or self.axis.axes is None:
            return 10
        axes = self.axis.axes
        width = axes.get_window_extent().width
        size = FontProperties(size=matplotlib.rcParams["xtick.labelsize"]).get_size_in_points()
        label = (len(str(int(max(high, 1)))) + 2) * 0.6 * size * axes.figure.dpi / 72
        return max(2, int(width // label))


def format_month_axis(ax: Axes, results: pd.DataFrame) -> None:
    """Months on the x axis: whole months on short runs, years on long ones, as many as the panel has room for.

    Only the lowest panel of each column is labelled: the panels above it show the same months.
    """
    months = int(results["month"].max())
    ax.xaxis.set_major_locator(MonthTicks())
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
    note = wrapped_note(figure, note)
    extra = note.get_text().count("\n") * NOTE_SIZE * 1.25 / 72 / figure.get_size_inches()[1]  # lines beyond one
    if legend_below:
        figure.legend(
            handles, labels, loc="lower center", ncol=max(len(labels), 1), bbox_to_anchor=(0.5, 0.045 + extra)
        )
        figure.tight_layout(rect=(0, 0.11 + extra, 1, 1))
        return figure
    legend = figure.legend(
        handles,
        labels,
        loc="upper right",
        bbox_to_anchor=(0.995, 0.9),
        title=legend_title,
        alignment="left",
    )
    share = legend.get_window_extent(figure.canvas.get_renderer()).width / figure.bbox.width
    figure.tight_layout(rect=(0, 0.04 + extra, 0.99 - share, 1))
    top = max(ax.get_position().y1 for ax in figure.axes)
    legend.set_bbox_to_anchor((0.995, top), transform=figure.transFigure)
    return figure


def wrapped_note(figure: Figure, text: str) -> Text:
    """The grey note at the bottom left of ``figure``, wrapped so that it fits the figure's width."""
    width = 0.98 * figure.bbox.width
    characters = int(0.98 * figure.get_size_inches()[0] * 72 / (NOTE_SIZE * NOTE_CHARACTER))
    note = figure.text(0.01, 0.01, "", ha="left", va="bottom", fontsize=NOTE_SIZE, color="#666666")
    renderer = figure.canvas.get_renderer()
    while True:
        note.set_text(textwrap.fill(text, width=max(characters, 20)))
        drawn = note.get_window_extent(renderer).width
        if drawn <= width or characters <= 20:
            return note
        characters = int(characters * width / drawn) - 1


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
    """Draw a figure in the house style, write it to ``path`` as a PNG and close it.

    Before it is written, the figure is drawn at its saved size and any axis
    whose tick labels would overlap keeps every second label, then every
    third, ..., until none do (``thin_overlapping_labels``).
    """
    with plt.rc_context(STYLE):
        figure = drawing()
        try:
            figure.set_dpi(DPI)
            thin_overlapping_labels(figure)
            figure.savefig(path, dpi=DPI, format="png")
        finally:
            plt.close(figure)
    return path


def overlapping_labels(figure: Figure) -> list[str]:
    """Tick labels that overlap on an axis of ``figure`` as last drawn: ``"Firm A: x: '12' and '24'"`` each."""
    renderer = figure.canvas.get_renderer()
    found = []
    for ax in figure.axes:
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            boxes = _shown_labels(axis, renderer)
            for (text, box), (other, next_box) in zip(boxes, boxes[1:], strict=False):
                if box.overlaps(next_box):
                    found.append(f"{ax.get_title() or figure_title(figure)}: {name}: {text!r} and {other!r}")
    return found


def thin_overlapping_labels(figure: Figure) -> None:
    """Hide tick labels until no two on an axis overlap: keep every second, then every third, ... of them."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [label for label in axis.get_majorticklabels() if label.get_visible() and label.get_text()]
            for keep in range(2, len(labels) + 1):
                boxes = _shown_labels(axis, renderer)
                if not any(a.overlaps(b) for (_, a), (_, b) in zip(boxes, boxes[1:], strict=False)):
                    break
                for index, label in enumerate(labels):
                    label.set_visible(index % keep == 0)


def texts_outside(figure: Figure) -> list[str]:
    """Texts of ``figure`` (titles, labels, notes, legends) that reach beyond its edges as last drawn."""
    renderer = figure.canvas.get_renderer()
    edge = figure.bbox.padded(1.0)
    found = []
    artists = [*figure.texts, *figure.legends, *(t for t in (getattr(figure, "_suptitle", None),) if t is not None)]
    for ax in figure.axes:
        artists += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        artists += [ax.get_legend()] if ax.get_legend() is not None else []
    for artist in artists:
        if not artist.get_visible() or (hasattr(artist, "get_text") and not artist.get_text()):
            continue
        box = artist.get_window_extent(renderer)
        if box.width > 0 and not (edge.contains(box.x0, box.y0) and edge.contains(box.x1, box.y1)):
            text = artist.get_text() if hasattr(artist, "get_text") else type(artist).__name__
            found.append(f"{figure_title(figure)}: {text[:60]!r} reaches beyond the figure")
    return found


def figure_title(figure: Figure) -> str:
    """The figure's title (its ``suptitle``), or ``""``."""
    title = getattr(figure, "_suptitle", None)
    return title.get_text() if title is not None else ""


def _shown_labels(axis: object, renderer: object) -> list[tuple[str, object]]:
    """(text, box) of the tick labels drawn on an axis: visible, not empty, at a tick inside the view; in order."""
    low, high = sorted(axis.get_view_interval())
    span = high - low
    shown = []
    for location, label in zip(axis.get_majorticklocs(), axis.get_majorticklabels(), strict=False):
        if not (label.get_visible() and label.get_text()) or not low - 1e-9 * span <= location <= high + 1e-9 * span:
            continue
        box = label.get_window_extent(renderer)
        if box.width > 0 and box.height > 0:
            shown.append((label.get_text(), box))
    along = 0 if axis.axis_name == "x" else 1
    return sorted(shown, key=lambda item: (item[1].x0, item[1].y0)[along])
