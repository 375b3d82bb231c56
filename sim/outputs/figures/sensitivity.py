"""The figure of a sensitivity analysis: factors ranked by their Sobol' indices, with intervals."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.experiments.sensitivity import OUTCOMES, Sensitivity
from sim.outputs.figures.style import DPI, FIGSIZE, draw_and_save
from sim.outputs.formatting import count_of

S1_COLOUR = "#9ECAE1"
ST_COLOUR = "#08519C"


def plot_sensitivity(result: Sensitivity, folder: Path) -> list[Path]:
    """Write ``sensitivity.png`` (ranked bars of ``ST`` and ``S1`` per outcome) into ``folder``; return its path."""
    if result.indices.empty:
        return []
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [draw_and_save(lambda: sensitivity_figure(result), folder / "sensitivity.png")]


def sensitivity_figure(result: Sensitivity) -> Figure:
    """One panel per outcome: factors ranked by total index, bars of ``ST`` and ``S1`` with their intervals."""
    outcomes = list(pd.unique(result.indices["outcome"]))
    factors = len(result.design.factors)
    height = max(FIGSIZE[1], 1.3 + len(outcomes) * (0.42 * factors + 0.8))
    figure, axes = plt.subplots(len(outcomes), 1, figsize=(FIGSIZE[0], height), dpi=DPI, squeeze=False, sharex=True)
    high = max(1.0, float(result.indices[["S1_high", "ST_high"]].max().max()))
    low = min(0.0, float(result.indices[["S1_low", "ST_low"]].min().min()))
    for ax, outcome in zip(axes[:, 0], outcomes, strict=True):
        rows = result.indices[result.indices["outcome"] == outcome].sort_values("rank", ascending=False)
        y = np.arange(len(rows))
        for offset, name, colour, label in (
            (0.2, "ST", ST_COLOUR, "total (ST): alone and with others"),
            (-0.2, "S1", S1_COLOUR, "first-order (S1): alone"),
        ):
            errors = np.vstack([rows[name] - rows[f"{name}_low"], rows[f"{name}_high"] - rows[name]])
            ax.barh(
                y + offset,
                rows[name],
                height=0.38,
                color=colour,
                label=label,
                xerr=errors,
                capsize=2.5,
                error_kw={"elinewidth": 1.0, "ecolor": "#333333"},
            )
        ax.set_yticks(y, rows["factor"])
        ax.tick_params(axis="y", length=0)
        ax.axvline(0, color="#555555", linewidth=0.8)
        ax.set_xlim(low - 0.02, high + 0.05)
        ax.grid(axis="x", color="#E5E5E5")
        ax.grid(axis="y", visible=False)
        ax.set_title(f"{OUTCOMES[outcome][1].capitalize()} of firm {result.firm}", loc="left")
    axes[-1, 0].set_xlabel("share of the outcome's variance")
    note = (
        f"Scenario {result.scenario.name}. Sobol' indices from {result.samples} base samples: "
        f"{len(result.design.points):,} points x {count_of(len(result.seeds), 'replication')} on the same seeds. "
        f"Whiskers: {result.confidence:.0%} bootstrap intervals."
    )
    figure.suptitle(f"Which factor moves firm {result.firm}'s outcomes most", x=0.01, ha="left")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper right", bbox_to_anchor=(0.995, 1.0), ncol=1, fontsize=9)
    figure.text(0.01, 0.005, note, ha="left", va="bottom", fontsize=9, color="#666666")
    figure.tight_layout(rect=(0, 0.3 / height, 1, 1 - 0.1 / height))
    return figure
