"""Macro-face validity: levers move churn the way the literature says.

Each test runs both arms of an experiment with the same seeds (common random
numbers) and asks that the 95% interval on the paired difference lie entirely
on the expected side of zero.
"""

import numpy as np

from sim.experiments.intervals import paired_difference
from sim.experiments.replications import run_replications
from tests.conftest import small_market, with_firm

SEEDS = range(8)
BASE = small_market(2000, 36)


def mean_of(results, column, firm="A", since=12):
    """Per-seed mean of ``column`` for ``firm`` after a warm-up."""
    rows = results[(results.firm == firm) & (results.period >= since)]
    return rows.groupby("seed")[column].mean().to_numpy()


def effect(treated, control, column, **kwargs):
    return paired_difference(mean_of(treated, column, **kwargs), mean_of(control, column, **kwargs))


def test_a_higher_price_loses_customers():
    control = run_replications(BASE, SEEDS)
    dearer = run_replications(with_firm(BASE, 0, price=36.0), SEEDS)
    assert effect(dearer, control, "customers").high < 0


def test_better_service_lowers_churn():
    control = run_replications(BASE, SEEDS)
    better = run_replications(with_firm(BASE, 0, quality=0.85), SEEDS)
    assert effect(better, control, "churn_rate").high < 0


def test_a_higher_exit_barrier_lowers_churn():
    control = run_replications(BASE, SEEDS)
    locked = run_replications(with_firm(BASE, 0, exit_fee=60.0), SEEDS)
    assert effect(locked, control, "churn_rate").high < 0


def test_more_service_failures_raise_complaints_and_churn():
    control = run_replications(BASE, SEEDS)
    failing = run_replications(with_firm(BASE, 0, failure_rate=0.10), SEEDS)
    assert effect(failing, control, "complaints").low > 0
    assert effect(failing, control, "churn_rate").low > 0


def test_removing_a_barrier_releases_the_spuriously_loyal_in_a_burst():
    """A poor, locked-in firm bans its exit fee at month 36: losses spike, mostly of the spuriously loyal."""
    locked = with_firm(small_market(2000, 42), 0, exit_fee=150.0, quality=0.65, failure_rate=0.05)

    def ban_fee(model):
        if model.period == 36:
            model.firms[0].levers.exit_fee = 0.0

    kept = run_replications(locked, SEEDS)
    banned = run_replications(locked, SEEDS, intervene=ban_fee)

    def at(results, period, column):
        rows = results[(results.firm == "A") & (results.period == period)]
        return rows.sort_values("seed")[column].to_numpy()

    burst = paired_difference(at(banned, 36, "losses"), at(kept, 36, "losses"))
    assert burst.low > 0
    usual = mean_of(banned[banned.period < 36], "losses", since=24)
    assert np.all(at(banned, 36, "losses") > 3 * usual)  # a burst, not a drift

    def loss_rate(segment):  # share of a segment (as it stood at month 35) lost in month 36
        return at(banned, 36, f"lost_{segment}") / at(banned, 35, f"{segment}_loyal")

    assert paired_difference(loss_rate("spurious"), loss_rate("true")).low > 0
    assert at(banned, 36, "lost_spurious").sum() > 3 * at(banned, 36, "lost_true").sum()  # leavers are mostly spurious
