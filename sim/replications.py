"""Replications with common random numbers, and intervals on differences.

Comparing two scenarios run with the same seeds pairs every replication of one
with a replication of the other that saw the same customers, the same service
noise and the same taste shocks (common random numbers); the interval on the
mean paired difference is then much narrower than on two independent means.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .model import LoyaltyModel
from .parameters import Scenario


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


def run_replications(
    scenario: Scenario,
    seeds: Iterable[int],
    *,
    periods: int | None = None,
    intervene: Callable[[LoyaltyModel], None] | None = None,
) -> pd.DataFrame:
    """Run ``scenario`` once per seed and stack the tidy results.

    Args:
        scenario: the market.
        seeds: one replication per seed; reuse the same seeds across
            scenarios for common random numbers.
        periods: horizon (default: the scenario's).
        intervene: called with the model before every step, to change levers
            mid-run (e.g. ``lambda m: ... if m.period == 36``).
    """
    frames = []
    for seed in seeds:
        model = LoyaltyModel(scenario, seed=seed)
        for _ in range(scenario.market.periods if periods is None else periods):
            if intervene is not None:
                intervene(model)
            model.step()
        frames.append(model.results())
    return pd.concat(frames, ignore_index=True)
