"""The likelihood's hills: rivals on distinct hills, the tops a table cannot rule out, and the sBG fit's story.

The sBG fit's story, told in the model's terms, is a candidate that a sparse first design may otherwise miss.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from sim.engine.parameters import Scenario
from sim.experiments.calibration.observed import RetentionTable, conditional_log_likelihood
from sim.experiments.calibration.sbg import SbgFit
from sim.experiments.calibration.surface import Surface
from sim.experiments.fields import Factor

RIVALS = 4
"""Best candidates simulated from which a bootstrap refit may start, if its resampled table likes one of them better
than the estimate: the intervals and the band then cover the other hills of a likelihood that has several."""
APART = 0.25
"""Distance (each range scaled to 1) from which two candidates stand on different hills of the likelihood."""
SAME_POINT = 0.02
"""Distance (each range scaled to 1) within which a hill's top needs no simulation of its own: a candidate is there."""


def at(survival: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """A curve over periods 1..K read at some of them."""
    return survival[np.asarray(periods) - 1]


def sbg_story(
    parameters: Sequence[Factor], sbg: SbgFit, table_months: int, scenario: Scenario, effort: float
) -> np.ndarray | None:
    """The values at which the model tells the sBG fit's story, if the fit has the parameters to: else None.

    In the sBG model every customer keeps a churn rate, Beta-distributed
    across customers; its continuous-time twin is a Gamma-distributed
    hazard, whose cohort keeps ``(1 + t / beta) ** -alpha`` for large
    ``beta``: a mean hazard of ``alpha / beta`` a period of the table and a
    coefficient of variation of ``1 / sqrt(alpha)``. In the model that is
    ``firm.defection_hazard`` (a month's share of it) spread by
    ``population.outside_proneness_cv``, with leaving but for outside reasons
    made rare (``population.switching_effort`` at ``effort``), and
    any other parameter fitted at the scenario's value. The search simulates
    it beside its design: a table that sBG fits well may sit on a hill of
    the model's likelihood that a sparse first design misses. All values
    are clipped to the ranges searched.
    """
    names = {p.field.name: i for i, p in enumerate(parameters)}
    if "defection_hazard" not in names or "outside_proneness_cv" not in names:
        return None
    values = np.array([float(p.field.value(scenario)) for p in parameters])
    values[names["defection_hazard"]] = sbg.alpha / sbg.beta / table_months
    values[names["outside_proneness_cv"]] = 1 / math.sqrt(sbg.alpha)
    if "switching_effort" in names:
        values[names["switching_effort"]] = effort
    if "outside_shared_share" in names:
        values[names["outside_shared_share"]] = 0.0
    lows = np.array([p.low for p in parameters])
    highs = np.array([p.high for p in parameters])
    return np.clip(values, lows, highs)


def rivals(
    points: np.ndarray, simulated: Sequence[float], lows: np.ndarray, highs: np.ndarray, margin: float = np.inf
) -> np.ndarray:
    """Up to ``RIVALS`` candidates (search scale), the tops of distinct hills: where a bootstrap refit may start.

    The best simulated, then each next the best at least ``APART`` from those
    before it (ranges scaled to 1), of those whose log-likelihood falls short
    of the best's by less than ``margin`` (see ``margin()``): hills the table
    cannot rule out, not the bumps of a flat likelihood.
    """
    scaled = (points - lows) / (highs - lows)
    top = max(simulated)
    chosen: list[int] = []
    for i in np.argsort(simulated)[::-1]:
        if simulated[i] < top - margin:
            break
        if all(np.linalg.norm(scaled[i] - scaled[j]) >= APART for j in chosen):
            chosen.append(int(i))
            if len(chosen) == RIVALS:
                break
    return points[chosen]


def margin(factor: float, fitted: int) -> float:
    """Log-likelihood below the best within which another hill stays plausible.

    Half the 99% quantile of a chi-square with one degree per parameter, times the rows' dispersion
    (``dispersion``), as in a quasi-likelihood ratio test.
    """
    return factor * float(stats.chi2.ppf(0.99, fitted)) / 2


def other_hills(
    surface: Surface,
    observed: RetentionTable,
    estimate: np.ndarray,
    rivals: np.ndarray,
    allowed: float,
    simulated: np.ndarray | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The estimate, and the tops of the surface's other hills the table finds about as plausible (search scale).

    A local search from each rival ends on the top of its hill; a top at
    least ``APART`` from the estimate and from the tops kept before it is
    kept if its log-likelihood falls short of the estimate's by
    less than ``allowed`` (``margin``): a hill the table cannot rule out. A top the table
    likes better than the estimate becomes the estimate (the search from the
    best candidate stopped on a lower hill), and the estimate a hill. Tops
    within ``SAME_POINT`` of a candidate in ``simulated`` (points, search
    scale) are left out: that candidate already stands for them.
    """
    scale = surface.high - surface.low

    def likelihood(x: np.ndarray) -> float:
        return conditional_log_likelihood(observed, at(surface.survival(x), observed.period))

    tops = [(likelihood(estimate), estimate)]
    for rival in rivals:
        top = surface.best(observed, [rival])
        if any(np.linalg.norm((top - other) / scale) < APART for _, other in tops):
            continue
        tops.append((likelihood(top), top))
    tops.sort(key=lambda pair: -pair[0])
    best, estimate = tops[0]
    taken = np.empty((0, len(scale))) if simulated is None else np.asarray(simulated)
    kept = [
        top
        for value, top in tops[1:]
        if value > best - allowed and not np.any(np.linalg.norm((taken - top) / scale, axis=1) < SAME_POINT)
    ]
    return estimate, kept
