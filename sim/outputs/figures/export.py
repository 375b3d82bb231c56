"""The figure of an export: how each firm's joiners survive, month by month since joining."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MultipleLocator, PercentFormatter

from sim.outputs.figures.style import FIRM_COLOURS, draw_and_save, finish, new_figure, palette


def pooled_survival(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Per firm and age: the product-limit share of joiners still with the firm, over every cohort seen that long.

    From one age to the next, the share kept is pooled over the cohorts observed at both ages (later cohorts
    are seen for fewer months), and the shares are multiplied: Kaplan & Meier's estimate, which never rises.
    """
    parts = []
    for firm, rows in cohorts.groupby("firm", sort=False):
        active = rows.pivot(index="cohort_month", columns="age_months", values="active").sort_index(axis=1)
        survival = [1.0]
        for age in active.columns[:-1]:
            seen = active[age + 1].notna()
            kept = active.loc[seen, age + 1].sum() / max(active.loc[seen, age].sum(), 1)
            survival.append(survival[-1] * kept)
        parts.append(pd.DataFrame({"firm": firm, "age_months": active.columns, "retained": survival}))
    return pd.concat(parts, ignore_index=True)


def draw_survival(cohorts: pd.DataFrame) -> Figure:
    """One step line per firm: the pooled share of its joiners still with it at each age."""
    figure, ax = new_figure(1)
    colours = palette(cohorts.firm, FIRM_COLOURS)
    survival = pooled_survival(cohorts)
    for firm, rows in survival.groupby("firm", sort=False):
        ax.step(rows.age_months, 100 * rows.retained, where="post", color=colours[firm], label=firm)
    ax.set(xlabel="months since joining", ylabel="joiners still with the firm", ylim=(0, 101))
    ax.yaxis.set_major_formatter(PercentFormatter())
    if survival.age_months.max() > 24:
        ax.xaxis.set_major_locator(MultipleLocator(12))
    joiners = cohorts.drop_duplicates(["firm", "cohort_month"]).joined.sum()
    return finish(
        figure,
        "How each firm's joiners stay: survival since joining",
        f"{joiners:,} customers who joined during the run; from each age to the next, the share kept is pooled "
        "over the cohorts observed that long (product-limit).",
        legend_title="firm",
    )


def plot_export(cohorts: pd.DataFrame, folder: Path) -> list[Path]:
    """Draw the export's figure into ``folder``; returns the paths written (none when nobody joined)."""
    if cohorts.empty:
        return []
    return [draw_and_save(lambda: draw_survival(cohorts), folder / "cohort_survival.png")]
