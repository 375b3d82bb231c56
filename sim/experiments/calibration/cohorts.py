"""The simulated cohort: a firm's joiners followed month by month of tenure (Kaplan-Meier)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from sim.engine.model import LoyaltyModel
from sim.engine.parameters import MAX_PERIODS, Scenario
from sim.experiments.calibration.observed import CalibrationError
from sim.experiments.calibration.sbg import churn_by_tenure
from sim.experiments.evaluator import Evaluator, evaluator


@dataclass(frozen=True)
class CohortCounts:
    """A simulated cohort by tenure, for ``k = 1..horizon``.

    Attributes:
        at_risk: customers that had stayed ``k - 1`` periods and were followed through period ``k``.
        lost: of them, those who left in period ``k``.
        joined: spells with the firm that started after the warm-up (the cohort's size).
    """

    at_risk: np.ndarray
    lost: np.ndarray
    joined: int

    def __add__(self, other: CohortCounts) -> CohortCounts:
        return CohortCounts(self.at_risk + other.at_risk, self.lost + other.lost, self.joined + other.joined)

    @property
    def churn_rate(self) -> np.ndarray:
        """Share of those at risk lost in each period of tenure (NaN where none was at risk)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.at_risk > 0, self.lost / np.maximum(self.at_risk, 1), np.nan)

    @property
    def survival(self) -> np.ndarray:
        """Kaplan-Meier retention after ``k`` periods: the product of ``1 - churn`` up to ``k``."""
        return np.cumprod(1.0 - np.nan_to_num(self.churn_rate, nan=0.0))


def pooled(counts: Iterable[CohortCounts]) -> CohortCounts:
    """The cohorts of several replications taken together."""
    counts = list(counts)
    total = counts[0]
    for more in counts[1:]:
        total = total + more
    return total


def simulate_cohort(
    scenario: Scenario,
    firm: str,
    seed: int,
    horizon: int,
    warmup: int = 12,
    window: int = 12,
) -> CohortCounts:
    """Follow the customers who join ``firm`` in one run of ``scenario``, month by month of tenure.

    The market runs for ``warmup + horizon + window`` periods. Every spell
    with the firm that starts after the warm-up (a customer choosing the firm,
    from a rival or from no firm) is followed until the customer leaves,
    ``horizon`` periods have passed, or the run ends (censored). A spell that
    starts in period ``t`` (the customer chose the firm at its end) and ends in
    period ``t + d`` has been retained for ``d - 1`` periods and is lost in
    its ``d``-th.

    Args:
        scenario: the market.
        firm: name of the firm whose joiners form the cohort.
        seed: the run's seed.
        horizon: longest tenure followed, in periods.
        warmup: periods before joiners count, so that the market settles.
        window: periods the run goes on beyond ``warmup + horizon``; more
            joiners are followed to the longest tenures.

    Returns:
        Customers at risk and lost by tenure, and the number of spells.
    """
    target = [f.name for f in scenario.firms].index(firm)
    model = LoyaltyModel(scenario, seed=seed)
    n = len(model.customers)
    started = np.full(n, -1, dtype=np.int64)  # period in which the followed spell began, -1 if none
    lost = np.zeros(horizon + 1, dtype=np.int64)
    censored = np.zeros(horizon + 1, dtype=np.int64)
    joined = 0
    periods = warmup + horizon + window
    for t in range(periods):
        before = model.customers.firm == target
        model.step(record=False)  # only the customers' firms are read: the month's sums and segments are not needed
        now = model.customers.firm == target
        followed = started >= 0
        left = followed & ~now
        np.add.at(lost, t - started[left], 1)
        started[left] = -1
        aged = (started >= 0) & (t - started >= horizon)
        censored[horizon] += int(aged.sum())
        started[aged] = -1
        if warmup <= t < periods - 1:  # a spell that starts in the last period could not be followed
            new = now & ~before
            started[new] = t
            joined += int(new.sum())
    still = started >= 0
    np.add.at(censored, (periods - 1) - started[still], 1)
    model.release()
    # At risk in period k: spells lost in period k or later, or followed for at least k periods.
    ends = lost + censored
    at_risk = np.cumsum(ends[::-1])[::-1][1:]
    return CohortCounts(at_risk.astype(float), lost[1:].astype(float), joined)


def simulate_cohorts(
    scenario: Scenario,
    firm: str,
    seeds: Sequence[int],
    *,
    horizon: int,
    warmup: int = 12,
    window: int = 12,
    workers: int = 1,
    scheduler: str | None = None,
    runner: Evaluator | None = None,
    progress: bool = False,
) -> CohortCounts:
    """The firm's joiners in one run per seed, pooled (see ``simulate_cohort``), on an evaluator.

    ``workers``, ``scheduler`` and ``runner`` choose where the runs go, as in
    ``sim.experiments.replications.run_replications``.
    """
    check_run_length(horizon, warmup, window, "--months")
    runner = runner if runner is not None else evaluator(workers, scheduler)
    calls = [(scenario, firm, seed, horizon, warmup, window) for seed in seeds]
    with tqdm(total=len(seeds), desc=f"cohort of {firm}", unit="run", disable=not progress, leave=False) as bar:
        return pooled(runner.map(simulate_cohort, calls, progress=bar))


def check_run_length(horizon: int, warmup: int, window: int, option: str = "--horizon") -> None:
    """Refuse a cohort study whose runs (warm-up, horizon and window) would be longer than any run may be.

    Raises:
        CalibrationError: naming the option, the length and the limit.
    """
    periods = warmup + horizon + window
    if periods > MAX_PERIODS:
        raise CalibrationError(
            f"{option} {horizon}: with a warm-up of {warmup} and a window of {window}, each run would last "
            f"{periods:,} periods; a run may last at most {MAX_PERIODS:,}"
        )


def sample_cohort(survival: np.ndarray, customers: int, rng: np.random.Generator) -> np.ndarray:
    """Retention of a cohort of ``customers`` drawn period by period from a retention curve.

    Of those still active after ``k - 1`` periods, each stays through period
    ``k`` with probability ``S(k) / S(k - 1)``: the table a business with a
    cohort of that size would observe.

    Returns:
        Customers still active after each period, shape like ``survival``.
    """
    stay = 1.0 - np.nan_to_num(churn_by_tenure(survival), nan=1.0)
    active = np.empty(len(survival), dtype=np.int64)
    alive = customers
    for k, p in enumerate(stay):
        alive = int(rng.binomial(alive, min(max(p, 0.0), 1.0)))
        active[k] = alive
    return active
