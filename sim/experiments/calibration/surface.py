"""The smoothed likelihood surface the fit searches, and the bootstrap that gives its intervals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special
from threadpoolctl import threadpool_limits

from sim.experiments.calibration.cohorts import CohortCounts
from sim.experiments.calibration.observed import CalibrationError, RetentionTable, _log_likelihood, resample_table
from sim.experiments.calibration.sbg import SbgFit, fit_sbg
from sim.experiments.evaluator import Evaluator

LOCAL_MISFIT = 0.1
"""How far (logit scale) the local quadratic may miss a candidate's true churn rate: beside it, a candidate's
sampling noise counts only when its cohort is small (a logit's variance of 0.01 is a cohort that loses 100)."""


@dataclass
class Surface:
    """Each tenure's simulated churn rate (logit scale) as a smooth function of the parameters.

    At a query point the surface is a local quadratic regression (loess) on
    the nearest candidates simulated, weighted by the tricube of their
    distance (parameters scaled to their ranges): it follows a curved ridge
    of the likelihood where one quadratic over the whole range could not.
    Each tenure's regression also weighs a candidate by how much its
    simulated cohort says about that tenure: ``1 / (LOCAL_MISFIT**2 + v)``,
    ``v = 1 / (n p (1 - p))`` the variance of its empirical logit, with
    ``n`` its customers at risk and ``p`` the churn rate of all the
    neighbours pooled (its own rate would make its weight grow with its own
    noise). Where a candidate's cohort is large the local quadratic's own
    misfit dominates and the candidates weigh alike; a candidate whose
    cohort has all but died out by a late tenure, whose few survivors' churn
    is mostly noise, barely pulls the surface there. ``counts`` holds each candidate's per-seed cohort counts, shape
    (candidates, seeds, 2, horizon), so that the bootstrap can rebuild the
    surface on seeds drawn with replacement.
    """

    low: np.ndarray
    high: np.ndarray
    points: np.ndarray
    counts: np.ndarray
    churn: np.ndarray

    @classmethod
    def fit(cls, points: np.ndarray, counts: list[list[CohortCounts]], low: np.ndarray, high: np.ndarray) -> Surface:
        """The surface through the candidates ``points`` (rows, on the search scale) and their cohorts by seed."""
        stacked = np.array([[[c.at_risk, c.lost] for c in per_seed] for per_seed in counts])
        if (stacked[:, :, 0, 0].sum(axis=1) == 0).any():
            raise CalibrationError(
                "at some candidate values the firm wins no joiner at all: the simulated cohorts are too small; "
                "use more --customers or --replications"
            )
        surface = cls(low, high, (points - low) / (high - low), stacked, np.empty(0))
        surface.churn = surface.refit(np.ones(stacked.shape[1]))
        return surface

    @property
    def neighbours(self) -> int:
        """Candidates each local regression uses: twice its coefficients and two more, or all there are."""
        d = self.points.shape[1]
        return min(len(self.points), (d + 1) * (d + 2) + 2)

    def refit(self, seed_weights: np.ndarray) -> np.ndarray:
        """Each candidate's empirical logit of churn by tenure, its customers at risk and those lost.

        Shape (3, candidates, horizon); the seeds are weighted (bootstrap:
        times drawn). Where no simulated joiner of a candidate reaches a tenure
        (on the seeds drawn), the logit is that of the last tenure some did
        reach (with none at risk, it weighs next to nothing).
        """
        totals = np.einsum("s,psch->pch", seed_weights, self.counts)
        at_risk, lost = totals[:, 0], totals[:, 1]
        logits = np.log((lost + 0.5) / (at_risk - lost + 0.5))
        # A candidate whose cohort has died out by some tenure (values far from any that fit: every joiner gone)
        # keeps the churn rate of the last tenure it was measured at, rather than a made-up one.
        measured = np.where(at_risk > 0, np.arange(at_risk.shape[1]), 0)
        carried = np.take_along_axis(logits, np.maximum.accumulate(measured, axis=1), axis=1)
        return np.stack([carried, at_risk, lost])

    def survival(self, x: np.ndarray, churn: np.ndarray | None = None) -> np.ndarray:
        """Retention after 1..horizon periods at parameter values ``x``.

        On ``churn``, a ``refit`` (default: the candidates' own).
        """
        u = (np.asarray(x, dtype=float) - self.low) / (self.high - self.low)
        offset = self.points - u
        distance = np.sqrt((offset**2).sum(axis=1))
        near = np.argpartition(distance, self.neighbours - 1)[: self.neighbours]
        reach = distance[near].max() * 1.1 + 1e-9
        logits, at_risk, lost = (self.churn if churn is None else churn)[:, near]
        pooled = (lost.sum(axis=0) + 0.5) / (at_risk.sum(axis=0) + 1.0)  # the neighbours' churn rate, per tenure
        information = at_risk * pooled * (1 - pooled) + 0.25  # a cell with none at risk still weighs a little
        precision = information / (1.0 + LOCAL_MISFIT**2 * information)  # 1 / (misfit^2 + 1 / information)
        weights = (1 - (distance[near] / reach) ** 3)[:, None] ** 3 * precision  # tricube, times precision
        features = _quadratic_features(offset[near])
        outer = (features[:, :, None] * features[:, None, :]).reshape(len(near), -1)
        grams = (weights.T @ outer).reshape(-1, features.shape[1], features.shape[1])  # one per tenure
        ridge = 1e-8 * np.trace(grams, axis1=1, axis2=2)  # a touch of ridge keeps sparse neighbourhoods stable
        grams[:, np.arange(features.shape[1]), np.arange(features.shape[1])] += ridge[:, None]
        right = (weights * logits).T @ features
        coefficients = np.linalg.solve(grams, right[:, :, None])[:, :, 0]
        return np.cumprod(1.0 - special.expit(coefficients[:, 0]))

    def best(
        self,
        table: RetentionTable,
        starts: Iterable[np.ndarray],
        churn: np.ndarray | None = None,
        rivals: Iterable[np.ndarray] = (),
    ) -> np.ndarray:
        """The parameter values in the range that maximise the table's likelihood under the surface.

        The search runs from each of ``starts``, and from whichever of
        ``rivals`` (other candidates' values) the table likes best if it likes
        it better than every start: where the likelihood has two hills, a
        resampled table may favour the other one.
        """
        at_risk, kept = table.counts()
        rows = table.period - 1

        def loss(x: np.ndarray) -> float:
            return -_log_likelihood(at_risk, kept, self.survival(x, churn)[rows])

        starts = [np.clip(s, self.low, self.high) for s in starts]
        scored = [(loss(r), r) for r in (np.clip(r, self.low, self.high) for r in rivals)]
        if scored:
            lowest, rival = min(scored, key=lambda pair: pair[0])
            if lowest < min(loss(s) for s in starts):
                starts.append(rival)

        bounds = list(zip(self.low, self.high, strict=True))
        found = [optimize.minimize(loss, s, method="Nelder-Mead", bounds=bounds) for s in starts]
        return np.asarray(min(found, key=lambda r: r.fun).x, dtype=float)


def _quadratic_features(u: np.ndarray) -> np.ndarray:
    """Columns 1, u_i and u_i * u_j (i <= j) of points ``u`` (points by parameters)."""
    first, second = np.triu_indices(u.shape[1])  # (0, 0), (0, 1), ..., (1, 1), ...: i <= j in order
    return np.concatenate([np.ones((len(u), 1)), u, u[:, first] * u[:, second]], axis=1)


def spread_out(candidates: np.ndarray, taken: np.ndarray, count: int) -> np.ndarray:
    """``count`` of the candidates, each in turn the one farthest from those taken so far (scaled coordinates)."""
    chosen = []
    taken = np.array(taken, dtype=float)
    for _ in range(min(count, len(candidates))):
        gap = np.min(np.linalg.norm(candidates[:, None, :] - taken[None, :, :], axis=2), axis=1)
        pick = int(np.argmax(gap))
        chosen.append(candidates[pick])
        taken = np.vstack([taken, candidates[pick]])
    return np.array(chosen)


def bootstrap(
    surface: Surface,
    table: RetentionTable,
    observed: RetentionTable,
    estimate: np.ndarray,
    replicates: int,
    rng: np.random.Generator,
    rivals: Iterable[np.ndarray] = (),
    runner: Evaluator | None = None,
    factor: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Refit on resampled seeds and a resampled table, from the estimate and from the best of ``rivals``.

    The table is resampled with the dispersion ``factor`` of its rows about the fitted curve (``dispersion``):
    where they scatter more than sampling explains, the intervals widen to match, as quasi-likelihood's do.

    Every replicate's seeds and table are drawn here, in turn; the fits, each
    a search of its own, run on ``runner``'s workers where it has more than
    one (the simulations' workers, idle meanwhile), with the same results on
    workers of this machine's kind (another processor's vector maths may differ in the last digit).

    Returns:
        Each replicate's fitted values and its surface curve.
    """
    seeds = surface.counts.shape[1]
    rivals = list(rivals)
    drawn = []
    for _ in range(replicates):
        weights = np.bincount(rng.integers(seeds, size=seeds), minlength=seeds).astype(float)
        window = (
            resample_table(table, rng, factor).upto(observed.last_period) if table.customers is not None else observed
        )
        drawn.append((weights, window))
    if runner is None or runner.workers < 2 or replicates < 2:
        fitted = fit_replicates(surface, estimate, rivals, drawn)
    else:
        parts = np.array_split(np.arange(replicates), min(replicates, 4 * runner.workers))
        calls = [(surface, estimate, rivals, [drawn[i] for i in part]) for part in parts]
        fitted = [each for part in runner.map(fit_replicates, calls) for each in part]
    values = np.array([x for x, _ in fitted]).reshape(replicates, surface.points.shape[1])
    curves = np.array([curve for _, curve in fitted]).reshape(replicates, surface.counts.shape[-1])
    return values, curves


def fit_replicates(
    surface: Surface, estimate: np.ndarray, rivals: list[np.ndarray], drawn: list[tuple[np.ndarray, RetentionTable]]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per bootstrap replicate, the values its refitted surface finds best and the surface's curve there.

    ``drawn`` holds each replicate's seeds' weights and its table (see ``bootstrap``).
    """
    fitted = []
    with one_blas_thread():
        for weights, window in drawn:
            churn = surface.refit(weights)
            x = surface.best(window, [estimate], churn, rivals)
            fitted.append((x, surface.survival(x, churn)))
    return fitted


def one_blas_thread() -> threadpool_limits:
    """A context in which linear algebra runs on one thread.

    The surface's thousands of tiny products and solves cost more to share out among threads than they save, and
    far more on a machine whose cores are busy.
    """
    return threadpool_limits(1, user_api="blas")


def bootstrap_sbg(
    fit: SbgFit,
    table: RetentionTable,
    observed: RetentionTable,
    horizon: int,
    replicates: int,
    rng: np.random.Generator,
    factor: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """SBG fits to resampled tables: (alpha, beta) of each replicate and its curve over 1..horizon.

    ``table`` and ``observed`` are in the table's own periods, ``horizon`` in those the curves are read in
    (``fit.period`` of them to one of the table's); tables are resampled with the dispersion ``factor`` of the
    rows about the sBG curve.
    """
    periods = np.arange(1, horizon + 1)
    values, curves = [], []
    for _ in range(replicates):
        refit = fit_sbg(resample_table(table, rng, factor).upto(observed.last_period), start=fit, period=fit.period)
        values.append((refit.alpha, refit.beta))
        curves.append(refit.survival(periods))
    return np.array(values), np.array(curves)
