"""The classroom's pictures: four live plots in type large enough for a projector, and the customer grid.

The plots are drawn in a thread of their own (``PlotPainter``), always for
the latest month; the customer grid is drawn with NumPy into a palette image,
as it is drawn again whenever a customer is picked.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.app.model import ClassroomModel, event_months
from sim.behaviour.segments import SEGMENT_NAMES
from sim.engine.model import LoyaltyModel
from sim.outputs.figures.style import FIRM_COLOURS, SEGMENTS, STYLE

OUTSIDE_COLOUR = "#C8C8C8"
MOST_DOTS = 4_900
"""The customer picture shows at most this many customers (a 70 x 70 grid)."""
FIGSIZE = (6.4, 3.6)
DPI = 100
MARGINS = {"left": 0.13, "right": 0.84, "top": 0.89, "bottom": 0.15}
"""Fixed margins (the legend sits right of the axes): an automatic layout would double the drawing time."""
PROJECTOR_STYLE = {
    **STYLE,
    "font.size": 12,
    "axes.titlesize": 14,
    "axes.labelsize": 12,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "legend.fontsize": 12,
    "legend.handlelength": 1.2,
}
"""The report figures' style, in type large enough to read from the back of a classroom."""
CHURN_SMOOTHING = 6
"""Months averaged in the churn plot's thick lines: a firm of a few hundred customers loses only a handful a month."""


def _firm_colour(model: LoyaltyModel, name: str) -> str:
    index = [f.name for f in model.firms].index(name)
    return FIRM_COLOURS[index % len(FIRM_COLOURS)]


def _new_figure(size: tuple[float, float] = FIGSIZE, right: float = MARGINS["right"]) -> tuple[Figure, Axes]:
    with matplotlib.rc_context(PROJECTOR_STYLE):
        figure = Figure(figsize=size, dpi=DPI)
        figure.subplots_adjust(**{**MARGINS, "right": right})
        axes = figure.add_subplot()
    return figure, axes


def _title(figure: Figure, title: str) -> None:
    # A figure text, not an axes title: placing an axes title measures every tick label, a third of the drawing time.
    figure.text(0.015, 0.975, title, ha="left", va="top", fontsize=PROJECTOR_STYLE["axes.titlesize"], fontweight="bold")


def _months(table: pd.DataFrame) -> int:
    return int((table["month"] + table["months"]).max()) if len(table) else 0


def _time_axis(axes: Axes, model: ClassroomModel, months: int) -> None:
    axes.set_xlim(0, max(12, months))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    axes.yaxis.set_major_locator(MaxNLocator(nbins=6))
    axes.set_xlabel("month")
    for month in event_months(model):
        if month < months:
            axes.axvline(month, color="#555555", linestyle=":", linewidth=1.2, zorder=0)


def _firm_lines(
    model: ClassroomModel,
    table: pd.DataFrame | None,
    column: str,
    scale: float,
    title: str,
    ylabel: str,
    smooth: int = 0,
) -> Figure:
    """One line per firm that has been in the market, of ``column`` times ``scale``, month by month.

    With ``smooth`` > 0 each month is drawn thin and the mean of the last
    ``smooth`` months thick; months in which a firm served no one are gaps.
    ``table`` is ``model.monthly()`` or a snapshot of it (the default: now).
    """
    results = model.monthly() if table is None else table
    with matplotlib.rc_context(PROJECTOR_STYLE):
        figure, axes = _new_figure()
        for firm in model.firms:
            rows = results[(results.firm == firm.name) & (results.month >= firm.levers.enters_at)]
            if rows.empty:
                continue
            series = rows[column].astype(float) * scale
            colour = _firm_colour(model, firm.name)
            if smooth:
                series = series.where(rows["served"] > 0)
                axes.plot(rows["month"], series, color=colour, linewidth=1.0, alpha=0.35)
                series = series.rolling(smooth, min_periods=1).mean()
            axes.plot(
                rows["month"],
                series,
                color=colour,
                label=firm.name,
                linewidth=2.4,
                marker="o" if len(rows) < 3 else None,
            )
        _title(figure, title)
        axes.set_ylabel(ylabel)
        axes.set_ylim(bottom=min(0.0, axes.get_ylim()[0]))
        _time_axis(axes, model, _months(results))
        if len(axes.lines):
            axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), ncols=1)
        else:
            axes.text(
                0.5,
                0.5,
                "Press Step or ▶ to run the first month",
                transform=axes.transAxes,
                ha="center",
                color="#777777",
            )
    return figure


def share_figure(model: ClassroomModel, table: pd.DataFrame | None = None) -> Figure:
    """Market share of each firm (% of customers served by a firm), month by month."""
    return _firm_lines(model, table, "market_share", 100.0, "Market share", "% of customers served")


def churn_figure(model: ClassroomModel, table: pd.DataFrame | None = None) -> Figure:
    """Churn: the share of each firm's customers who left it in the month (%), thin, and its 6-month mean, thick."""
    return _firm_lines(
        model,
        table,
        "churn_rate",
        100.0,
        "Churn: customers lost each month",
        "% of the firm's customers",
        smooth=CHURN_SMOOTHING,
    )


def profit_figure(model: ClassroomModel, table: pd.DataFrame | None = None) -> Figure:
    """Profit of each firm in each month, in thousands."""
    figure = _firm_lines(model, table, "profit", 1e-3, "Profit each month", "thousands")
    axes = figure.axes[0]
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    axes.axhline(0.0, color="#555555", linewidth=0.8)
    return figure


def segments_figure(model: ClassroomModel, table: pd.DataFrame | None = None) -> Figure:
    """Customers of all firms by Dick & Basu loyalty segment, stacked, month by month."""
    results = model.monthly() if table is None else table
    with matplotlib.rc_context(PROJECTOR_STYLE):
        figure, axes = _new_figure(right=0.80)
        if not results.empty:
            columns = [column for column, _, _ in SEGMENTS]
            totals = results.groupby("month")[columns].sum()
            axes.stackplot(
                totals.index,
                *(totals[c] for c in columns),
                labels=list(SEGMENT_NAMES),
                colors=[colour for _, _, colour in SEGMENTS],
                alpha=0.95,
            )
            handles, labels = axes.get_legend_handles_labels()
            axes.legend(handles[::-1], labels[::-1], loc="upper left", bbox_to_anchor=(1.0, 1.0))
        else:
            axes.text(
                0.5,
                0.5,
                "Press Step or ▶ to run the first month",
                transform=axes.transAxes,
                ha="center",
                color="#777777",
            )
        _title(figure, "Why customers stay (all firms)")
        axes.set_ylabel("customers")
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        _time_axis(axes, model, _months(results))
    return figure


@dataclass(frozen=True)
class CustomerPicture:
    """The customer grid as a PNG, and how to find a customer in it.

    Attributes:
        png: the image.
        columns, rows: dots per row and number of rows.
        cell: pixels per dot (square cells).
        margin: white pixels around the grid.
        shown: customers shown (the first ``shown`` rows of the market).
        counts: customers of each firm now, then of no one, shape (F+1,).
    """

    png: bytes
    columns: int
    rows: int
    cell: int
    margin: int
    shown: int
    counts: np.ndarray

    @property
    def size(self) -> tuple[int, int]:
        """Width and height of the image in pixels."""
        return self.columns * self.cell + 2 * self.margin, self.rows * self.cell + 2 * self.margin

    def customer_at(self, x: float, y: float) -> int | None:
        """The customer under a point given as fractions (0..1) of the image's width and height, or None."""
        width, height = self.size
        column = int(np.floor((x * width - self.margin) / self.cell))
        row = int(np.floor((y * height - self.margin) / self.cell))
        if not (0 <= column < self.columns and 0 <= row < self.rows):
            return None
        index = row * self.columns + column
        return index if index < self.shown else None

    def centre_of(self, index: int) -> tuple[float, float]:
        """Where customer ``index``'s dot is, as fractions of the image's width and height."""
        row, column = divmod(index, self.columns)
        width, height = self.size
        return (self.margin + (column + 0.5) * self.cell) / width, (self.margin + (row + 0.5) * self.cell) / height


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)


def customers_picture(model: ClassroomModel, selected: int | None = None, width: int = 640) -> CustomerPicture:
    """Every customer as a dot in a grid, coloured by the firm it buys from (grey: no one).

    Dots of customers who changed firm in the last month have a dark ring;
    the selected customer has a large black ring. A market larger than 4,900
    customers shows its first 4,900. Drawn with NumPy into a palette image,
    not with matplotlib, as it is drawn again whenever a customer is picked.

    Args:
        model: the classroom model.
        selected: the customer to ring, if any.
        width: width of the image in pixels (at most; cells are whole pixels).
    """
    c = model.customers
    shown = min(len(c), MOST_DOTS)
    columns = max(1, int(np.ceil(np.sqrt(shown))))
    rows = max(1, int(np.ceil(shown / columns)))
    cell = int(np.clip(width // (columns + 4), 5, 28))
    margin = 2 * cell  # room for the selection ring around a dot on the edge
    # A palette image, one byte a pixel: 0 white, 1 the rim of a switcher, 2 the selection ring, 3... the options.
    white, rim_colour, ring_colour, first = 0, 1, 2, 3
    colours = [(255, 255, 255), (17, 17, 17), (0, 0, 0)]
    colours += [tuple(_rgb(_firm_colour(model, f.name))) for f in model.firms] + [tuple(_rgb(OUTSIDE_COLOUR))]
    firm = c.firm[:shown].astype(np.intp)
    moved = (c.served_firm[:shown] != c.firm[:shown]) if model.period > 0 else np.zeros(shown, dtype=bool)

    # One cell: a disc, with a dark rim for the customers who just switched.
    centre = (cell - 1) / 2.0
    yy, xx = np.mgrid[0:cell, 0:cell]
    distance = np.hypot(xx - centre, yy - centre)
    radius = 0.42 * cell
    disc = distance <= radius
    rim = disc & (distance > radius - max(1.2, cell / 7))

    fill = np.full(rows * columns, white, dtype=np.uint8)
    fill[:shown] = first + firm
    edge = fill.copy()
    edge[:shown][moved] = rim_colour
    tiles = np.where(disc, fill[:, None, None], np.uint8(white))
    tiles = np.where(rim, edge[:, None, None], tiles)
    grid = tiles.reshape(rows, columns, cell, cell).transpose(0, 2, 1, 3).reshape(rows * cell, columns * cell)
    image = np.full((grid.shape[0] + 2 * margin, grid.shape[1] + 2 * margin), white, dtype=np.uint8)
    image[margin:-margin, margin:-margin] = grid

    if selected is not None and 0 <= selected < shown:
        r, k = divmod(selected, columns)
        top, left = r * cell, k * cell  # the selected cell's corner, less the margin: the ring's window
        window = image[top : top + cell + 2 * margin, left : left + cell + 2 * margin]
        yy, xx = np.mgrid[0 : window.shape[0], 0 : window.shape[1]]
        ring = np.abs(np.hypot(xx - (margin + centre), yy - (margin + centre)) - 1.6 * cell) <= max(1.5, cell / 6)
        window[ring] = ring_colour

    from PIL import Image

    picture = Image.fromarray(image, mode="P")
    picture.putpalette([v for rgb in colours for v in rgb])
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)
    counts = np.bincount(c.firm.astype(np.intp), minlength=model.n_firms + 1)
    return CustomerPicture(buffer.getvalue(), columns, rows, cell, margin, shown, counts)


def png(figure: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white", pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


PLOTS: tuple[tuple[str, Callable[[ClassroomModel, pd.DataFrame | None], Figure], str], ...] = (
    (
        "share",
        share_figure,
        "Each line is one firm's slice of the customers who buy from someone. Watch who gains right after a "
        "dotted line (a shock or event), and whether the gain lasts.",
    ),
    (
        "churn",
        churn_figure,
        "The share of each firm's customers who left it each month (thin) and over the last six months (thick). "
        "A spike means something pushed customers out; a lower line means customers are held, by value or by barriers.",
    ),
    (
        "profit",
        profit_figure,
        "What each firm earned in the month after all costs. A price cut buys customers but earns less on each; "
        "winning a customer costs money up front.",
    ),
    (
        "segments",
        segments_figure,
        "Green customers would choose their firm again even if leaving were free (true and latent loyalty); "
        "orange ones stay only because leaving costs them (spurious). Ban exit fees and watch the orange band.",
    ),
)
CUSTOMERS_CAPTION = (
    "Each dot is one customer, coloured by the firm it buys from (grey: no one). Dots with a dark ring switched "
    "last month; the large ring marks the customer explained on the right. Click a dot to explain it."
)
INSPECTOR_CAPTION = (
    "Delivered value is what a firm gives for its price (quality and image, less price); trust adds to it; the "
    "barrier (exit fee, points, tier perks, bond, effort) is what leaving its firm costs. A customer who "
    "reconsiders picks by the total, with some month-to-month taste: hence the chances in the last column."
)


class PlotPainter:
    """Draws the four plots in a thread of its own, always for the latest month asked for.

    Drawing four matplotlib figures takes a few hundred milliseconds; done in
    the page's own render it would hold up every click and every month of
    play. The painter keeps one request, the newest: while it draws, the
    months that pass replace each other, and when it is done it draws the
    latest. The numbers, the customers and the controls never wait for it.

    All four plots of one delivery are drawn from one snapshot of the
    model's monthly table, so they always show the same months.

    Args:
        deliver: called from the painter's thread with the stamp asked for,
            the number of months the plots show and the images,
            ``{plot key: PNG bytes}``.
    """

    def __init__(self, deliver: Callable[[tuple, int, dict[str, bytes]], None]) -> None:
        self._deliver = deliver
        self._wanted: tuple[ClassroomModel, tuple] | None = None
        self._closed = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="loyalty-plot-painter", daemon=True)
        self._thread.start()

    def ask(self, model: ClassroomModel, stamp: tuple) -> None:
        """Draw ``model``'s plots as soon as the painter is free (replacing any request not yet started)."""
        with self._condition:
            self._wanted = (model, stamp)
            self._condition.notify()

    def close(self) -> None:
        """Stop the thread once it has finished what it is drawing."""
        with self._condition:
            self._closed = True
            self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._wanted is None and not self._closed:
                    self._condition.wait()
                if self._closed:
                    return
                model, stamp = self._wanted
                self._wanted = None
            try:
                table = model.monthly()
                images = {key: png(draw(model, table)) for key, draw, _ in PLOTS}
            except Exception:  # a failed drawing must not end the painter; the page shows the last images
                logging.getLogger(__name__).exception("drawing the plots failed")
                continue
            self._deliver(stamp, _months(table), images)
