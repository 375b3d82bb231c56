"""A second reference model: a Weibull lifetime, fitted to the table's rows as interval-censored lifetimes."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.experiments.calibration.observed import RetentionTable


@dataclass(frozen=True)
class WeibullFit:
    """A maximum-likelihood Weibull fit: ``S(t) = exp(-(t / scale) ** shape)``, ``t`` in the table's periods.

    A ``shape`` below 1 is a hazard falling with tenure, above 1 one rising:
    unlike the sBG, which explains a falling rate by customers who differ,
    the Weibull lets every customer's hazard change with its tenure (duration
    dependence). From one cohort's curve the two cannot be told apart; Fader,
    Hardie, Liu, Davin & Steenburgh (2018) combine them.
    ``period`` is the length of the table's period in the periods
    ``survival`` is asked about, as for ``SbgFit``.
    """

    scale: float
    shape: float
    period: int = 1

    def survival(self, periods: np.ndarray | Sequence[int]) -> np.ndarray:
        """``S(t)``, ``t`` counted in periods of length 1 / ``period`` of the table's."""
        t = np.asarray(periods, dtype=float) / self.period
        return np.exp(-((t / self.scale) ** self.shape))


def fit_weibull(table: RetentionTable, period: int = 1) -> WeibullFit:
    """Fit a Weibull lifetime to a retention table with ``lifelines``.

    Each row says how many of the cohort ended their lifetime between the
    previous row's period and this one's (interval-censored), and those still
    active at the last row are right-censored there. Counts are the cohort's
    sizes; a table without them weighs its shares as a cohort of 10,000.
    """
    from lifelines import WeibullFitter

    at_risk, kept = table.counts()
    scale = 10_000.0 if table.customers is None else 1.0
    lost = scale * (at_risk - kept)
    keep = lost > 0
    lower = np.append(np.concatenate([[0.0], table.period[:-1]])[keep], table.period[-1]).astype(float)
    upper = np.append(table.period[keep], np.inf).astype(float)
    weights = np.append(lost[keep], scale * kept[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines warns that weights are not whole numbers
        fitted = WeibullFitter().fit_interval_censoring(np.maximum(lower, 1e-9), upper, weights=weights)
    return WeibullFit(float(fitted.lambda_), float(fitted.rho_), period)
