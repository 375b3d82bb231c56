"""The heterogeneity real cohorts show: settled customers and unequal exposure to outside reasons for leaving.

Each mechanism has a fact that fails when it is switched off or broken: the
settled stay where rivals' recommendations would move others, unequal
exposure makes a cohort's rate of leaving for outside reasons fall with
tenure although no customer's rate changes, and a share of the exposure that
all face alike stops that fall at a floor.
"""

import numpy as np
import pytest

from sim import LoyaltyModel, Market, Population, Scenario
from sim.behaviour.choice import outside_exit_probability, what_the_settled_ignore
from sim.engine.population import gamma_mean_one, outside_exposure
from sim.experiments.calibration import pooled, simulate_cohort


def test_the_outside_exit_probability_scales_the_hazard_by_exposure():
    h = np.array([0.002, 0.002, 0.002, 0.002, 1.0, 0.0])
    m = np.array([1.0, 0.0, 2.0, 0.5, 3.0, 4.0])
    p = outside_exit_probability(h, m)
    assert p[0] == 0.002  # average exposure: the firm's hazard itself, exactly
    assert p[1] == 0.0 and p[4] == 1.0 and p[5] == 0.0
    assert p[2] == pytest.approx(1 - 0.998**2) and p[3] == pytest.approx(1 - 0.998**0.5)


def test_settled_customers_ignore_their_habit_and_rivals_recommendations():
    habit, rivals = what_the_settled_ignore(np.array([False, True]), np.array([0.1, 0.1]), np.array([2, 2]))
    assert habit.tolist() == [0.1, 0.0] and rivals.tolist() == [2, 0]


def test_exposure_is_gamma_with_mean_one_and_the_coefficient_of_variation_asked_for():
    u = np.random.default_rng(5).random(400_000)
    for cv in (0.5, 1.0, 2.0):
        m = gamma_mean_one(u, cv)
        assert m.mean() == pytest.approx(1.0, rel=0.02) and m.std() / m.mean() == pytest.approx(cv, rel=0.05)
    assert np.array_equal(gamma_mean_one(u, 0.0), np.ones_like(u))
    order = np.argsort(u[:1000])
    assert np.all(np.diff(gamma_mean_one(u[:1000], 1.5)[order]) >= 0)  # the same ranking, spread wider


def test_a_shared_share_of_exposure_is_a_floor_under_the_gamma_spread_of_the_rest():
    u = np.random.default_rng(6).random(400_000)
    m = outside_exposure(u, 2.0, 0.3)
    assert m.mean() == pytest.approx(1.0, rel=0.02) and m.min() >= 0.3
    assert m.std() == pytest.approx(0.7 * 2.0, rel=0.05)  # the rest of the mean, spread as asked
    assert np.array_equal(outside_exposure(u, 2.0, 0.0), gamma_mean_one(u, 2.0))  # no share: the Gamma, exactly
    assert np.array_equal(outside_exposure(u, 2.0, 1.0), np.ones_like(u))  # all shared: everyone alike


def test_survivors_of_outside_exits_tend_to_the_shared_share_and_their_rate_levels_off():
    """A closed cohort facing only outside reasons, month by month for ten years: the equations alone."""

    def follow(shared: float) -> tuple[np.ndarray, float]:
        rng = np.random.default_rng(7)
        exposure = outside_exposure(rng.random(200_000), 3.0, shared)
        yearly = []
        for _ in range(10):
            start = exposure.size
            for _ in range(12):
                exposure = exposure[rng.random(exposure.size) >= outside_exit_probability(0.02, exposure)]
            yearly.append(1 - exposure.size / start)
        return np.array(yearly), float(exposure.mean())

    spread, _ = follow(0.0)
    floored, survivors = follow(0.5)
    floor = 1 - (1 - 0.5 * 0.02) ** 12
    assert spread[9] < 0.6 * spread[4]  # all spread: the rate falls on and on (as 1 / tenure)
    assert floored[9] == pytest.approx(floored[4], rel=0.15)  # half shared: level from the fifth year
    assert floor <= floored[9] < 1.3 * floor and 0.5 <= survivors < 0.6


def quiet_market(customers: int = 6000, **population) -> Scenario:
    """A market where customers leave their firm mostly for outside reasons: leaving for a rival is very hard."""
    return Scenario(
        name="quiet",
        market=Market(customers=customers),
        population=Population(switching_effort=40.0, **population),
    ).model_copy(deep=True)


def outside_hazard_by_year(cv: float, shared: float = 0.0) -> np.ndarray:
    scenario = quiet_market(outside_proneness_cv=cv, outside_shared_share=shared)
    scenario.firms[0].defection_hazard = 0.02
    counts = pooled(simulate_cohort(scenario, "A", seed, horizon=48, warmup=6, window=12) for seed in (1, 2))
    survival = counts.survival
    yearly = survival[[11, 23, 35, 47]] / np.concatenate([[1.0], survival[[11, 23, 35]]])
    return 1 - yearly


def test_fact_unequal_exposure_makes_a_cohorts_outside_churn_fall_with_tenure():
    flat = outside_hazard_by_year(0.0)
    sorted_ = outside_hazard_by_year(2.0)
    # Everyone alike: about 1 - 0.98**12 = 21.5% a year, every year.
    assert flat[0] == pytest.approx(flat[3], abs=0.04)
    # Unequal exposure: the prone leave first, and the survivors' rate falls by a third or more in four years.
    assert sorted_[3] < 0.65 * sorted_[0]
    # Those who leave for outside reasons come back as new customers with exposures of their own, so joiners are
    # not the prone few revolving: the cohort's first year is no worse than if everyone were alike.
    assert sorted_[0] < flat[0]


def test_fact_a_shared_share_of_exposure_stops_the_fall_of_a_cohorts_outside_churn_at_a_floor():
    spread = outside_hazard_by_year(3.0)
    floored = outside_hazard_by_year(3.0, shared=0.5)
    floor = 1 - (1 - 0.5 * 0.02) ** 12  # half the hazard, faced by every survivor: 11.4% a year
    # All spread: by the fourth year the survivors are those who almost never face an outside reason.
    assert spread[3] < 0.5 * floor
    # Half shared: the prone still leave first, but the survivors' rate stays near the floor (the fourth year's
    # few hundred joiners at risk allow a tenth below it).
    assert floored[3] < floored[0]
    assert floored[3] > 0.8 * floor and floored[3] > 2 * spread[3]


def test_fact_settled_customers_are_not_moved_by_rivals_recommendations():
    def switching(share: float) -> float:
        scenario = Scenario(
            name="talkative",
            market=Market(customers=4000, periods=36),
            population=Population(settled_share=share, review_probability=0.0, talk_satisfied=0.4),
        )
        results = LoyaltyModel(scenario, seed=3).run().results()
        late = results[results.period >= 12]
        return float(late.losses.sum() / late.served.sum())

    free, settled = switching(0.0), switching(1.0)
    assert settled < 0.6 * free, (free, settled)
