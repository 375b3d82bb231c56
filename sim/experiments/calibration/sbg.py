"""The shifted-beta-geometric reference model of Fader & Hardie (2007)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from sim.experiments.calibration.observed import RetentionTable, _log_likelihood


def sbg_survival(alpha: float, beta: float, periods: np.ndarray | Sequence[int]) -> np.ndarray:
    """Share of a cohort still active after ``t`` periods under the sBG model.

    Each customer churns with a constant probability ``theta`` per period,
    ``theta ~ Beta(alpha, beta)`` across customers, so
    ``S(t) = B(alpha, beta + t) / B(alpha, beta)`` (Fader & Hardie 2007, eq. 3).

    Args:
        alpha: the Beta distribution's first parameter, > 0.
        beta: the Beta distribution's second parameter, > 0.
        periods: tenures ``t >= 0``.

    Returns:
        ``S(t)`` for each period, same shape as ``periods``.
    """
    t = np.asarray(periods, dtype=float)
    return np.exp(special.betaln(alpha, beta + t) - special.betaln(alpha, beta))


def sbg_churn_probability(alpha: float, beta: float, periods: np.ndarray | Sequence[int]) -> np.ndarray:
    """``P(T = t)``, the share of the starting cohort lost in period ``t >= 1``.

    ``P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)`` (Fader & Hardie 2007, eq. 2).
    """
    t = np.asarray(periods, dtype=float)
    return np.exp(special.betaln(alpha + 1, beta + t - 1) - special.betaln(alpha, beta))


def sbg_churn_rate(alpha: float, beta: float, periods: np.ndarray | Sequence[int]) -> np.ndarray:
    """The cohort's churn rate in period ``t >= 1``: ``alpha / (alpha + beta + t - 1)``.

    It falls with tenure although no customer's rate changes: the mean churn
    rate of those still active after ``t - 1`` periods (the sorting effect).
    """
    t = np.asarray(periods, dtype=float)
    return alpha / (alpha + beta + t - 1)


def constant_rate_cohort(rates: np.ndarray, periods: np.ndarray | Sequence[int]) -> np.ndarray:
    """Share of a cohort still active after ``t`` periods when customer ``i`` churns at constant rate ``rates[i]``.

    ``S(t) = mean_i (1 - rates_i) ** t``: the expected survival of a cohort of
    customers whose individual churn rates never change. With rates drawn from
    ``Beta(alpha, beta)`` it tends to ``sbg_survival`` as the cohort grows.

    Args:
        rates: each customer's churn probability per period, shape (customers,).
        periods: tenures ``t >= 0``.

    Returns:
        ``S(t)`` for each period.
    """
    t = np.asarray(periods, dtype=float)
    return np.mean((1.0 - np.asarray(rates, dtype=float))[:, None] ** t[None, :], axis=0)


def churn_by_tenure(survival: np.ndarray) -> np.ndarray:
    """The churn rate of each period from a survival curve ``S(1..K)``: ``1 - S(t) / S(t - 1)``, with ``S(0) = 1``."""
    survival = np.asarray(survival, dtype=float)
    before = np.concatenate([[1.0], survival[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(before > 0, 1.0 - survival / before, np.nan)


@dataclass(frozen=True)
class SbgFit:
    """A maximum-likelihood sBG fit: churn rates ``~ Beta(alpha, beta)`` per period of the table it was fitted to.

    ``period`` is the length of that period in the periods ``survival`` and
    ``churn_rate`` are asked about (12: fitted to an annual table, read
    month by month); the model's own period is the table's.
    """

    alpha: float
    beta: float
    log_likelihood: float
    period: int = 1

    @property
    def mean_churn(self) -> float:
        """Mean churn rate per period of the table of a newly joined customer, ``alpha / (alpha + beta)``."""
        return self.alpha / (self.alpha + self.beta)

    def survival(self, periods: np.ndarray | Sequence[int]) -> np.ndarray:
        """``S(t)`` at the fitted parameters, ``t`` counted in periods of length 1 / ``period`` of the table's."""
        return sbg_survival(self.alpha, self.beta, np.asarray(periods, dtype=float) / self.period)

    def churn_rate(self, periods: np.ndarray | Sequence[int]) -> np.ndarray:
        """The cohort's churn rate in each period ``t >= 1`` (of length 1 / ``period`` of the table's)."""
        t = np.asarray(periods, dtype=float)
        return 1.0 - self.survival(t) / self.survival(t - 1)


def fit_sbg(table: RetentionTable, start: SbgFit | None = None, period: int = 1) -> SbgFit:
    """Fit the sBG model to a table by maximum likelihood (``conditional_log_likelihood``).

    Searches ``log alpha`` and ``log beta`` with bounded Nelder-Mead from the
    method-of-moments values of the first two rows (Fader & Hardie's
    churn rates ``alpha / (alpha + beta)`` and ``alpha / (alpha + beta + 1)``)
    and from ``alpha = beta = 1``, or from ``start``, and keeps the best.
    The model's period is the table's; ``period`` only says how the fit is
    read later (see ``SbgFit``).
    """
    at_risk, kept = table.counts()
    t = table.period.astype(float)

    def loss(x: np.ndarray) -> float:
        alpha, beta = math.exp(x[0]), math.exp(x[1])
        survival = np.exp(special.betaln(alpha, beta + t) - special.betaln(alpha, beta))
        return -_log_likelihood(at_risk, kept, survival)

    starts = [np.zeros(2)] if start is None else [np.log([start.alpha, start.beta])]
    if start is None:
        churn = churn_by_tenure(table.retained) if table.period[1] == 2 and table.period[0] == 1 else None
        if churn is not None and churn[0] > churn[1] > 0:
            total = churn[1] / (churn[0] - churn[1])  # alpha + beta
            starts.append(np.log([churn[0] * total, (1 - churn[0]) * total]))
    bounds = [(-9.0, 9.0), (-9.0, 12.0)]
    found = [optimize.minimize(loss, np.clip(x, -9.0, 9.0), method="Nelder-Mead", bounds=bounds) for x in starts]
    best = min(found, key=lambda r: r.fun)
    alpha, beta = (float(math.exp(v)) for v in best.x)
    return SbgFit(alpha, beta, -float(best.fun), period)
