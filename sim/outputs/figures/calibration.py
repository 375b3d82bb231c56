"""The figures of a calibration: observed, fitted and projected retention, and churn by tenure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from sim.experiments.calibration.fit import Calibration
from sim.outputs.figures.style import draw_and_save, finish, new_figure


def calibration_figures(c: Calibration, folder: Path) -> list[Path]:
    """Write ``retention.png`` and ``churn_by_tenure.png`` into ``folder``; return their paths."""
    folder = Path(folder)
    return [
        draw_and_save(lambda: retention_figure(c), folder / "retention.png"),
        draw_and_save(lambda: churn_figure(c), folder / "churn_by_tenure.png"),
    ]


SIMULATION, REFERENCE, WEIBULL, OBSERVED = "#0072B2", "#E69F00", "#009E73", "#222222"


def retention_figure(c: Calibration) -> Figure:
    """Observed retention (dots) against the calibrated simulation and the reference models, hold-out and projection."""
    figure, ax = new_figure(1)
    periods = np.arange(0, c.horizon + 1)
    _shade_windows(ax, c)
    ax.fill_between(periods, 100 * _from_one(c.band[0]), 100 * _from_one(c.band[1]), color=SIMULATION, alpha=0.15, lw=0)
    ax.plot(periods, 100 * _from_one(c.model_survival), color=SIMULATION, label="simulation, calibrated")
    last = c.fit_table.last_period
    later = periods >= last
    predicted = _from_one(c.prediction)
    predicted[last] = c.fit_table.retained[-1]  # from the survivors at the last row fitted
    ax.plot(
        periods[later],
        100 * predicted[later],
        color=SIMULATION,
        ls="-.",
        lw=1,
        label="simulation, predicted from the last row fitted",
    )
    if np.isfinite(c.sbg_band[0]).all():
        ax.fill_between(
            periods, 100 * _from_one(c.sbg_band[0]), 100 * _from_one(c.sbg_band[1]), color=REFERENCE, alpha=0.12, lw=0
        )
    ax.plot(periods, 100 * _from_one(c.sbg_survival), color=REFERENCE, ls="--", label="sBG reference model")
    ax.plot(periods, 100 * _from_one(c.weibull_survival), color=WEIBULL, ls=":", label="Weibull reference model")
    fit = c.table.period <= c.fit_periods
    ax.plot(c.table.period[fit], 100 * c.table.retained[fit], "o", color=OBSERVED, ms=5, label="observed, fitted")
    if (~fit).any():
        ax.plot(
            c.table.period[~fit],
            100 * c.table.retained[~fit],
            "o",
            mfc="white",
            mec=OBSERVED,
            ms=5,
            label="observed, held out",
        )
    low = min(np.nanmin(c.band[0]), np.nanmin(c.sbg_survival), np.nanmin(c.weibull_survival), c.table.retained.min())
    ax.set_ylim(max(0.0, 100 * low - 5), 101)
    ax.set_xlim(0, c.horizon)
    ax.set_xlabel(f"{_unit(c)} since joining")
    ax.set_ylabel("still active (% of the starting cohort)")
    note = (
        f"Simulated: {c.firm}'s joiners after a {c.warmup}-month warm-up in the calibrated scenario, "
        f"{len(c.fitted)} seeds pooled. Bands: 95% bootstrap intervals; beyond the fit window the simulation's is a "
        "prediction band of the rows to come, around its prediction from the survivors at the last row fitted."
    )
    return finish(figure, f"Retention of {c.firm}'s joiners: observed, fitted and projected", note, legend_title="")


def churn_figure(c: Calibration) -> Figure:
    """The cohort's churn rate by tenure: observed, simulated and sBG (the sorting effect)."""
    figure, ax = new_figure(1)
    periods = np.arange(1, c.horizon + 1)
    _shade_windows(ax, c)
    ax.plot(periods, 100 * c.model_churn, color=SIMULATION, label="simulation, calibrated")
    ax.plot(
        periods,
        100 * c.sbg.churn_rate(periods),
        color=REFERENCE,
        ls="--",
        label="sBG reference model",
    )
    joiner = 1 - (1 - c.sbg.mean_churn) ** (1 / c.steps)  # per model period
    ax.axhline(100 * joiner, color=REFERENCE, lw=0.8, ls=":", label="sBG: a joiner's mean churn rate")
    before_period = np.concatenate([[0], c.table.period[:-1]])
    before_share = np.concatenate([[1.0], c.table.retained[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = 1 - (c.table.retained / before_share) ** (1 / (c.table.period - before_period))
    fit = c.table.period <= c.fit_periods
    ax.plot(c.table.period[fit], 100 * observed[fit], "o", color=OBSERVED, ms=5, label="observed, fitted")
    if (~fit).any():
        ax.plot(
            c.table.period[~fit], 100 * observed[~fit], "o", mfc="white", mec=OBSERVED, ms=5, label="observed, held out"
        )
    ax.set_xlim(0, c.horizon)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(f"{_unit(c)} since joining (tenure)")
    ax.set_ylabel(f"churn (% of those still active, per {_unit(c)[:-1]})")
    note = (
        "Each customer's own churn rate is constant in the sBG model; the cohort's falls as the quick leavers go first."
    )
    return finish(figure, "The cohort's churn falls with tenure: sorting", note, legend_title="")


def _shade_windows(ax: object, c: Calibration) -> None:
    last = c.table.last_period
    if c.fit_periods < last:
        ax.axvspan(c.fit_periods, last, color="#000000", alpha=0.07, lw=0)
        ax.text(
            (c.fit_periods + last) / 2,
            1.0,
            "hold-out",
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=9,
            color="#555555",
        )
    if c.horizon > last:
        ax.axvspan(last, c.horizon, color="#000000", alpha=0.03, lw=0)
        ax.text(
            (last + c.horizon) / 2,
            1.0,
            "projection",
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=9,
            color="#555555",
        )
    ax.text(
        c.fit_periods / 2,
        1.0,
        "fit",
        transform=ax.get_xaxis_transform(),
        ha="center",
        va="bottom",
        fontsize=9,
        color="#555555",
    )


def _from_one(curve: np.ndarray) -> np.ndarray:

    return np.concatenate([[1.0], curve])


def _unit(c: Calibration) -> str:
    months = c.scenario.market.period_months
    return "months" if months == 1 else f"periods ({months:g} months)"
