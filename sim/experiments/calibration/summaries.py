"""A calibration's numbers as tidy tables: fitted parameters, curves and the hold-out check."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine.model import package_version
from sim.experiments.calibration.cohorts import pooled
from sim.experiments.calibration.fit import Calibration, _at


def parameter_table(calibration: Calibration) -> pd.DataFrame:
    """Fitted parameters with 95% intervals: the simulation's, and the sBG and Weibull reference models'.

    The Weibull's come without intervals; both reference models are in the periods of the table as given.
    """
    c = calibration
    rows = [
        {
            "model": "simulation",
            "parameter": p.path,
            "estimate": est,
            "low": lo,
            "high": hi,
            "before": b,
            "searched_low": p.low,
            "searched_high": p.high,
            "scale": "log" if p.log else "linear",
        }
        for p, est, lo, hi, b in zip(c.parameters, c.estimate, c.low, c.high, c.before, strict=True)
    ]
    a, b = c.sbg.alpha, c.sbg.beta
    rows.append({"model": "sBG", "parameter": "alpha", "estimate": a, "low": c.sbg_low[0], "high": c.sbg_high[0]})
    rows.append({"model": "sBG", "parameter": "beta", "estimate": b, "low": c.sbg_low[1], "high": c.sbg_high[1]})
    rows.append({"model": "Weibull", "parameter": "scale", "estimate": c.weibull.scale})
    rows.append({"model": "Weibull", "parameter": "shape", "estimate": c.weibull.shape})
    table = pd.DataFrame(rows)
    table.attrs.update(_attrs(c))
    return table


def curve_table(calibration: Calibration) -> pd.DataFrame:
    """Observed, fitted and projected retention and churn by period, 0..horizon (shares, 0..1).

    Columns: ``period``; ``observed`` (NaN where the table has no row) and
    ``window`` ("fit", "hold-out" or "" where not observed); ``model`` (the
    cohort simulated with the calibrated scenario, all seeds pooled) with its
    band ``model_low``/``model_high`` (beyond the fit window a prediction band,
    ``Calibration.band``), ``predicted`` (beyond the fit window, the median
    of that band: what the table's later rows are expected to show, from its
    survivors at the last row fitted; NaN within it) and ``at_risk``, the simulated customers each of its
    periods is measured on; ``surface``, the smoothed surface's curve at its
    optimum; ``sbg`` with ``sbg_low``/``sbg_high``;
    ``weibull``; and the churn rate each period: ``observed_churn`` (per
    period, between rows), ``model_churn`` and ``sbg_churn``. Periods are
    the model's (an annual table's rows at 12, 24, ... in a monthly model).
    """
    c = calibration
    periods = np.arange(0, c.horizon + 1)
    observed = pd.Series(np.nan, index=periods)
    observed[c.table.period] = c.table.retained
    window = pd.Series("", index=periods)
    window[c.table.period] = np.where(c.table.period <= c.fit_periods, "fit", "hold-out")
    observed_churn = pd.Series(np.nan, index=periods)
    before_period = np.concatenate([[0], c.table.period[:-1]])
    before_share = np.concatenate([[1.0], c.table.retained[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        per_period = 1 - (c.table.retained / before_share) ** (1 / (c.table.period - before_period))
    observed_churn[c.table.period] = per_period
    counts = pooled(c.fitted)

    def from_one(curve: np.ndarray, start: float) -> np.ndarray:
        return np.concatenate([[start], curve])

    table = pd.DataFrame(
        {
            "period": periods,
            "observed": observed.to_numpy(),
            "window": window.to_numpy(),
            "model": from_one(c.model_survival, 1.0),
            "model_low": from_one(c.band[0], 1.0),
            "model_high": from_one(c.band[1], 1.0),
            "predicted": np.where(periods > c.fit_table.last_period, from_one(c.prediction, 1.0), np.nan),
            "at_risk": from_one(counts.at_risk, np.nan),
            "surface": from_one(c.curve, 1.0),
            "sbg": from_one(c.sbg_survival, 1.0),
            "sbg_low": from_one(c.sbg_band[0], 1.0 if c.table.customers is not None else np.nan),
            "sbg_high": from_one(c.sbg_band[1], 1.0 if c.table.customers is not None else np.nan),
            "observed_churn": observed_churn.to_numpy(),
            "model_churn": from_one(c.model_churn, np.nan),
            "sbg_churn": from_one(c.sbg.churn_rate(periods[1:]), np.nan),
            "weibull": from_one(c.weibull_survival, 1.0),
        }
    )
    table.attrs.update(_attrs(c))
    return table


def holdout_table(calibration: Calibration) -> pd.DataFrame:
    """Errors of the simulation and of the sBG and Weibull models against the observed rows, fit window and hold-out.

    Errors are in percentage points of the starting cohort: mean absolute
    error, root mean squared error and the largest error (fitted minus
    observed, signed) over the window's rows. Window "hold-out" reads each
    model's curve; "hold-out, from the last row fitted" each model's
    prediction from the survivors at the last row fitted, ``R(T) S(k) /
    S(T)``, what the simulation's prediction band is drawn around.
    """
    c = calibration
    rows = []
    last = c.fit_table.last_period
    for model, curve in (("simulation", c.model_survival), ("sBG", c.sbg_survival), ("Weibull", c.weibull_survival)):
        fitted = _at(curve, c.table.period)
        followed = c.fit_table.retained[-1] * fitted / curve[last - 1]
        held = c.table.period > c.fit_periods
        for window, mask, values in (
            ("fit", c.table.period <= c.fit_periods, fitted),
            ("hold-out", held, fitted),
            ("hold-out, from the last row fitted", held, followed),
        ):
            error = 100 * (values[mask] - c.table.retained[mask])
            rows.append(
                {
                    "model": model,
                    "window": window,
                    "rows": int(mask.sum()),
                    "periods": f"{c.table.period[mask][0]}-{c.table.period[mask][-1]}" if mask.any() else "",
                    "mean_abs_error_pts": float(np.mean(np.abs(error))) if mask.any() else np.nan,
                    "rmse_pts": float(np.sqrt(np.mean(error**2))) if mask.any() else np.nan,
                    "largest_error_pts": float(error[np.argmax(np.abs(error))]) if mask.any() else np.nan,
                }
            )
    table = pd.DataFrame(rows)
    table.attrs.update(_attrs(c))
    return table


def _attrs(c: Calibration) -> dict:
    return {
        "scenario": c.calibrated.model_dump(mode="json"),
        "seeds": list(c.seeds),
        "version": package_version(),
        "retention_file": c.table.source,
        "retention_sha256": c.table.sha256,
    }
