"""Tables for a terminal, drawn with ``rich`` to fit its width.

``summary_table`` puts a run's per-firm summary in the width it is given (the
terminal's, or 80 columns when the output goes to a file or a pipe): one
row per measure and one column per firm, each mean with its interval on one
line when they fit, the interval under the mean when they do not, and the
firms split over several tables, one under the other, when even that is too
wide. Every line is at most that wide.
"""

from __future__ import annotations

import io
import shutil

import pandas as pd
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from sim.experiments.summary import METRICS
from sim.outputs.reports.runs import printable

FALLBACK_WIDTH = 80
"""Columns to fit when the output is not a terminal (a file, a pipe) and ``COLUMNS`` does not say."""


def terminal_width() -> int:
    """The terminal's width in columns (``COLUMNS`` first), or ``FALLBACK_WIDTH`` when it is not a terminal."""
    return max(shutil.get_terminal_size((FALLBACK_WIDTH, 24)).columns, 20)


def summary_table(summary: pd.DataFrame, width: int | None = None) -> str:
    """A run's per-firm summary as text that fits ``width`` columns (default: the terminal's).

    Args:
        summary: ``sim.experiments.summary.firm_summary``'s table.
        width: the most columns a line may take.
    """
    width = terminal_width() if width is None else width
    text = printable(summary)
    firms = [str(firm) for firm in text.index]
    cells = {firm: [text.loc[firm, label] for label, _ in METRICS.values()] for firm in text.index}
    for stacked in (False, True):
        if _natural_width(_table(cells, firms, stacked)) <= width:
            return _render(_table(cells, firms, stacked), width)
    groups: list[list[str]] = [[]]
    for firm in firms:
        if groups[-1] and _natural_width(_table(cells, [*groups[-1], firm], True)) > width:
            groups.append([])
        groups[-1].append(firm)
    return "\n\n".join(_render(_table(cells, group, True), width) for group in groups)


def _table(cells: dict, firms: list[str], stacked: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("", overflow="fold", min_width=10)
    for firm in firms:
        table.add_column(f"firm {firm}", justify="right", no_wrap=True, overflow="fold")
    by_firm = {str(firm): values for firm, values in cells.items()}
    for row, (label, _) in enumerate(METRICS.values()):
        values = [by_firm[firm][row] for firm in firms]
        table.add_row(label, *[v.replace(" [", "\n[") if stacked else v for v in values])
    return table


def _natural_width(table: Table) -> int:
    console = Console(file=io.StringIO(), width=10_000, color_system=None)
    return Measurement.get(console, console.options, table).maximum


def _render(table: Table, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(table)
    lines = [line.rstrip() for line in console.file.getvalue().splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)
