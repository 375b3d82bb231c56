"""The figures of a sweep: response curves, heat maps and main effects, with bands over seeds."""

from __future__ import annotations

import functools
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

from sim.engine.parameters import Scenario
from sim.experiments.fields import resolve_field
from sim.experiments.intervals import mean_band
from sim.experiments.sweep import HEADLINE, focus_firm, input_columns, levels
from sim.outputs.figures.style import (
    BAND_ALPHA,
    DPI,
    FIGSIZE,
    FIRM_COLOURS,
    draw_and_save,
    finish,
    firm_colours,
    format_money_axis,
    label_y,
    panel_grid,
)
from sim.outputs.formatting import money, plain


def plot_sweep(table: pd.DataFrame, folder: Path, firm: str | None = None) -> list[Path]:
    """Write the figures of a sweep into ``folder``; return their paths.

    One varied field: ``response.png``, each headline outcome against the
    field, a line per firm with its 95% band over seeds. Two fields:
    ``heatmap.png``, the focus firm's mean outcomes over the two fields.
    More: ``main_effects_OUTCOME.png``, one panel per field.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if table.empty:
        return []
    paths = input_columns(table)
    firm = focus_firm(table, firm)
    if len(paths) == 1:
        colours = firm_colours(table)
        return [draw_and_save(lambda: response_figure(table, paths[0], colours, firm), folder / "response.png")]
    if len(paths) == 2:
        return [draw_and_save(lambda: heatmap_figure(table, paths, firm), folder / "heatmap.png")]
    written = []
    for outcome in HEADLINE:
        name = f"main_effects_{outcome}.png"
        written.append(
            draw_and_save(functools.partial(main_effects_figure, table, paths, firm, outcome), folder / name)
        )
    return written


def response_figure(table: pd.DataFrame, path: str, colours: dict[str, str], firm: str) -> Figure:
    """Each headline outcome against one varied field: a line per firm, a 95% band over seeds."""
    figure, axes = plt.subplots(2, 2, figsize=FIGSIZE, dpi=DPI, sharex=True)
    scenario_value = _scenario_value(table, path)
    for ax, (outcome, (label, unit, is_money)) in zip(axes.ravel(), HEADLINE.items(), strict=True):
        band = mean_band(table, outcome, ["firm", path])
        for name, colour in colours.items():
            line = band[band["firm"] == name].dropna(subset=["mean"]).sort_values(path)
            if line.empty:
                continue
            ax.plot(
                line[path],
                line["mean"],
                color=colour,
                label=str(name),
                marker="o",
                markersize=3.5,
                linewidth=2.6 if name == firm else 1.5,
            )
            if (line["n"] > 1).any():
                ax.fill_between(line[path], line["low"], line["high"], color=colour, alpha=BAND_ALPHA, linewidth=0)
        if scenario_value is not None:
            ax.axvline(scenario_value, color="#888888", linestyle=":", linewidth=1.2)
        ax.set_title(label)
        ax.set_ylabel(unit, fontsize=9)
        if is_money:
            format_money_axis(ax)
    values = sorted(table[path].unique())
    for ax in axes.ravel():
        if len(values) <= 12:
            ax.set_xticks(values, [plain(v) for v in values])
    for ax in axes[1]:
        ax.set_xlabel(path)
    seeds = table["seed"].nunique()
    lines = (
        "Lines: one replication at each value."
        if seeds == 1
        else f"Lines: mean of {seeds} replications at each value, the same seeds at every value; shaded: 95% interval."
    )
    note = f"Scenario {table['scenario'].iloc[0]}. {lines}"
    if scenario_value is not None:
        note += " Dotted: the scenario as written."
    return finish(figure, f"What {path} does to each firm", note, legend_title="firm")


def heatmap_figure(table: pd.DataFrame, paths: list[str], firm: str) -> Figure:
    """The focus firm's mean headline outcomes over two varied fields; the best point outlined."""
    x, y = paths
    means = table[table["firm"] == firm].groupby("point")[[x, y, *HEADLINE]].mean()
    grid = means.groupby([x, y]).size().max() == 1 and len(means) == means[x].nunique() * means[y].nunique()
    figure, axes = plt.subplots(2, 2, figsize=(FIGSIZE[0], FIGSIZE[1] * 1.25), dpi=DPI)
    for ax, (outcome, (label, unit, is_money)) in zip(axes.ravel(), HEADLINE.items(), strict=True):
        ax.grid(False)
        values = means[outcome]
        if values.isna().all():
            ax.text(0.5, 0.5, "no values", transform=ax.transAxes, ha="center", va="center", color="#666666")
            continue
        if grid:
            cells = means.pivot(index=y, columns=x, values=outcome).sort_index().sort_index(axis=1)
            image = ax.pcolormesh(
                np.arange(cells.shape[1] + 1),
                np.arange(cells.shape[0] + 1),
                cells.to_numpy(),
                cmap="viridis",
                shading="flat",
            )
            ax.set_xticks(np.arange(cells.shape[1]) + 0.5, [plain(v) for v in cells.columns])
            ax.set_yticks(np.arange(cells.shape[0]) + 0.5, [plain(v) for v in cells.index])
            ax.tick_params(length=0)
            if cells.size <= 64:
                low, high = np.nanmin(cells.to_numpy()), np.nanmax(cells.to_numpy())
                for (r, c), value in np.ndenumerate(cells.to_numpy()):
                    if np.isfinite(value):
                        light = high == low or (value - low) / (high - low) < 0.55
                        ax.text(
                            c + 0.5,
                            r + 0.5,
                            money(value) if is_money else f"{value:.1f}",
                            ha="center",
                            va="center",
                            fontsize=7,
                            color="white" if light else "#222222",
                        )
            r, c = np.unravel_index(np.nanargmax(cells.to_numpy()), cells.shape)
            ax.add_patch(Rectangle((c, r), 1, 1, fill=False, edgecolor="#D55E00", linewidth=2.2))
        else:
            image = ax.scatter(means[x], means[y], c=values, cmap="viridis", s=36, edgecolors="none")
            best = values.idxmax()
            ax.scatter(
                [means.at[best, x]], [means.at[best, y]], s=160, facecolors="none", edgecolors="#D55E00", linewidths=2
            )
        bar = figure.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
        bar.ax.tick_params(labelsize=8)
        if is_money:
            bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money(v)))
        bar.set_label(unit, fontsize=8)
        ax.set_title(label, fontsize=11)
        ax.set_xlabel(x, fontsize=9)
        ax.set_ylabel(y, fontsize=9)
    seeds = table["seed"].nunique()
    shape = "Each cell" if grid else "Each dot"
    runs = "one replication" if seeds == 1 else f"mean of {seeds} replications on the same seeds"
    note = f"Scenario {table['scenario'].iloc[0]}, firm {firm}. {shape}: {runs}; outlined: the best."
    return _finish_plain(figure, f"Firm {firm}'s outcomes over {x} and {y}", note)


def main_effects_figure(table: pd.DataFrame, paths: list[str], firm: str, outcome: str) -> Figure:
    """One panel per varied field: the focus firm's outcome at each point, and its mean over the other fields."""
    label, unit, is_money = HEADLINE[outcome]
    means = table[table["firm"] == firm].groupby("point")[[*paths, outcome]].mean()
    figure, axes = panel_grid(len(paths), share_y=True)
    colour = FIRM_COLOURS[0]
    for ax, path in zip(axes, paths, strict=True):
        ax.scatter(means[path], means[outcome], s=10, color="#BBBBBB", edgecolors="none")
        binned = means.assign(level=levels(means[path]))
        band = mean_band(binned, outcome, ["level"]).sort_values("level")
        ax.plot(band["level"], band["mean"], color=colour, marker="o", markersize=3.5)
        ax.fill_between(band["level"], band["low"], band["high"], color=colour, alpha=BAND_ALPHA * 2, linewidth=0)
        ax.set_xlabel(path, fontsize=9)
        if is_money:
            format_money_axis(ax)
    label_y(figure, axes, unit)
    seeds = table["seed"].nunique()
    runs = "1 replication" if seeds == 1 else f"mean of {seeds} replications on the same seeds"
    note = (
        f"Scenario {table['scenario'].iloc[0]}, firm {firm}. Dots: each point ({runs}). "
        "Line: mean over the points at each value or range of values; shaded: 95% interval."
    )
    return _finish_plain(figure, f"What each field does to firm {firm}'s {label.lower()}", note)


def _finish_plain(figure: Figure, title: str, note: str) -> Figure:
    figure.suptitle(title, x=0.01, ha="left")
    figure.text(0.01, 0.01, note, ha="left", va="bottom", fontsize=9, color="#666666")
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    return figure


def _scenario_value(table: pd.DataFrame, path: str) -> float | None:
    scenario = table.attrs.get("scenario")
    if not scenario:
        return None
    base = Scenario.model_validate(scenario)
    return float(resolve_field(base, path).value(base))
