"""Means over replications with Student-t intervals, and intervals on paired differences.

Comparing two scenarios run with the same seeds pairs every replication of one
with a replication of the other that saw the same customers, the same service
noise and the same taste shocks (common random numbers); the interval on the
mean paired difference is then much narrower than on two independent means.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

MIN_FOR_INTERVAL = 3
"""Fewest replications a report shows an interval for. With two, a 95% Student-t interval reaches 12.7 standard
errors either side of the mean, wider than any share allows (72.8 [-44.7, 190.3]%); with one there is none."""


def mean_band(results: pd.DataFrame, column: str, by: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """Mean of ``column`` over seeds per group ``by`` with a Student-t interval.

    Missing values (a firm with no customers left has no segment shares) are
    skipped: ``n`` counts the replications that have a value.

    Args:
        results: tidy results, one row per seed and group.
        column: the column to average.
        by: the grouping columns, e.g. ``["period", "firm"]``.
        confidence: two-sided confidence of the interval.

    Returns:
        One row per group: the ``by`` columns, then ``mean``, ``low``, ``high``
        and ``n``. With one seed (or none), ``low = high = mean``.
    """
    grouped = results.groupby(by, sort=False, observed=True)[column]
    table = grouped.agg(["mean", "std", "count"]).reset_index()
    n = table["count"].to_numpy()
    quantile = stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        half = np.where(n > 1, quantile * table["std"].to_numpy() / np.sqrt(np.maximum(n, 1)), 0.0)
    table["low"] = table["mean"] - half
    table["high"] = table["mean"] + half
    table["n"] = n.astype(int)
    return table[[*by, "mean", "low", "high", "n"]]


@dataclass(frozen=True)
class Interval:
    """A mean with a two-sided confidence interval."""

    mean: float
    low: float
    high: float
    n: int
    confidence: float

    @property
    def excludes_zero(self) -> bool:
        """Whether the interval lies wholly above or below zero: a difference the replications can tell."""
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        return f"{self.mean:.4g} [{self.low:.4g}, {self.high:.4g}] ({self.confidence:.0%}, n={self.n})"


def mean_interval(values: Iterable[float], confidence: float = 0.95) -> Interval:
    """Student-t interval on the mean of independent replications."""
    x = np.asarray(list(values), dtype=float)
    n = x.size
    if n == 0:
        raise ValueError("no replications to summarise")
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, -np.inf, np.inf, 1, confidence)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / np.sqrt(n))
    return Interval(mean, mean - half, mean + half, n, confidence)


def reported_interval(
    values: Iterable[float], confidence: float = 0.95, bounds: tuple[float, float] | None = None
) -> Interval:
    """The interval a report shows: Student-t, cut to ``bounds``, and none below ``MIN_FOR_INTERVAL`` replications.

    Args:
        values: one value per replication.
        confidence: two-sided confidence.
        bounds: the values the quantity can take, such as ``(0, 100)`` for a share in percent: the interval is
            the part of the Student-t interval that lies within them (it covers the mean at least as often).

    Returns:
        The interval; with fewer than ``MIN_FOR_INTERVAL`` values its ends are -inf and inf (no interval).
    """
    x = np.asarray(list(values), dtype=float)
    interval = mean_interval(x, confidence)
    if x.size < MIN_FOR_INTERVAL:
        return Interval(interval.mean, -np.inf, np.inf, interval.n, confidence)
    if bounds is None:
        return interval
    low, high = bounds
    return Interval(interval.mean, max(interval.low, low), min(interval.high, high), interval.n, confidence)


def too_few_for_intervals(replications: int) -> str | None:
    """A sentence saying why no interval is shown with this few replications, or None when there are enough."""
    if replications >= MIN_FOR_INTERVAL:
        return None
    if replications <= 1:
        return f"One replication gives no interval: run {MIN_FOR_INTERVAL} or more (--replications) to see one."
    quantile = stats.t.ppf(0.975, replications - 1)
    return (
        f"{replications} replications are too few for a meaningful 95% interval (it would reach {quantile:.1f} "
        f"standard errors either side), so none is shown: run {MIN_FOR_INTERVAL} or more (--replications), 10 "
        "or more for tight intervals."
    )


def paired_difference(treatment: Iterable[float], control: Iterable[float], confidence: float = 0.95) -> Interval:
    """Interval on the mean of ``treatment - control`` over paired replications."""
    t = np.asarray(list(treatment), dtype=float)
    c = np.asarray(list(control), dtype=float)
    if t.shape != c.shape:
        raise ValueError(f"paired samples differ in size: {t.size} and {c.size}")
    return mean_interval(t - c, confidence)
