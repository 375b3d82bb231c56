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


def paired_difference(treatment: Iterable[float], control: Iterable[float], confidence: float = 0.95) -> Interval:
    """Interval on the mean of ``treatment - control`` over paired replications."""
    t = np.asarray(list(treatment), dtype=float)
    c = np.asarray(list(control), dtype=float)
    if t.shape != c.shape:
        raise ValueError(f"paired samples differ in size: {t.size} and {c.size}")
    return mean_interval(t - c, confidence)
