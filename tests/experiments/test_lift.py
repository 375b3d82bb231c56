"""The retention-lift study: what a gain in retention is worth, and what it takes."""

import pytest

from sim.experiments.lift import LiftError, lift_table, retention_lift
from sim.outputs.reports.lift import lift_findings
from tests.conftest import small_market
from tests.engine.test_lifetime_value import constant_retention_market


def test_a_direct_lift_on_constant_retention_reproduces_the_closed_form():
    scenario = constant_retention_market(0.97, 10.0, 0.10)
    scenario = scenario.model_copy(update={"market": scenario.market.model_copy(update={"customers": 20_000})})
    study = retention_lift(scenario, "Only", points=5, via="hazard", seeds=[1, 2, 3], workers=2)
    assert study.retention_gain.mean == pytest.approx(5.0, abs=0.3)
    assert study.discounted_profit_change_pct.mean == pytest.approx(study.clv_change_pct, abs=1.0)
    assert study.margin == pytest.approx(10.0)
    assert study.sources["profit_base"].mean == pytest.approx(study.profit_per_month_change.mean)


def test_a_lift_through_care_finds_the_spend_that_reaches_the_target():
    scenario = small_market(1500, 36)
    study = retention_lift(scenario, "B", points=1, via="care", seeds=[1, 2, 3], tolerance=0.3)  # care buys little
    closest = min(abs(achieved - study.target_retention_pct) for _, achieved in study.search)
    assert study.retention_after.mean == pytest.approx(study.target_retention_pct, abs=0.3)
    assert abs(study.retention_after.mean - study.target_retention_pct) == pytest.approx(closest)
    assert study.lever_after > study.lever_before
    assert study.lever_cost is not None and study.lever_cost.mean > 0
    sources = (
        sum(
            study.sources[k].mean
            for k in ("profit_base", "profit_growth", "profit_savings", "profit_referrals", "exit_fees")
        )
        - study.sources["cost_acquisition"].mean
    )
    assert sources == pytest.approx(study.profit_per_month_change.mean, rel=1e-6, abs=1e-6)
    text = " ".join(lift_findings(study))
    assert "care spend" in text and "closed form" in text and "25-85%" in text
    assert {"retention gain, points", "change per month: lever cost"} <= set(lift_table(study).quantity)


def test_a_relative_lift_targets_a_share_of_the_baseline():
    study = retention_lift(small_market(800, 24), "A", relative=0.05, seeds=[1, 2])
    assert study.target_retention_pct == pytest.approx(study.retention_before.mean * 1.05)


def test_a_lift_the_lever_cannot_make_is_refused_with_a_reason():
    with pytest.raises(LiftError, match="cannot reach"):
        retention_lift(small_market(500, 24), "A", points=14, via="recovery", seeds=[1, 2])


def test_a_lift_names_an_existing_firm_and_lever():
    with pytest.raises(LiftError, match="firms are A, B, C"):
        retention_lift(small_market(100, 3), "Z", seeds=[1])
    with pytest.raises(LiftError, match="must be one of direct, hazard, service, barrier, recovery, care"):
        retention_lift(small_market(100, 3), "A", via="magic", seeds=[1])
