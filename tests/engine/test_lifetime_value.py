"""Degenerate check: constant retention reproduces the closed-form lifetime value."""

import pytest

from sim import FirmLevers, LoyaltyModel, Market, Population, Scenario
from sim.behaviour import accounting


def constant_retention_market(retention: float, margin: float, annual_discount: float) -> Scenario:
    """One firm, no reconsidering, no costs: customers leave only by a constant hazard."""
    firm = FirmLevers(
        name="Only",
        price=margin,
        unit_cost=0.0,
        serving_cost=0.0,
        care_spend=0.0,
        brand_investment=0.0,
        acquisition_spend=0.0,
        recovery_cost=0.0,
        defection_hazard=1.0 - retention,
    )
    return Scenario(
        name="constant-retention",
        market=Market(
            customers=20_000,
            periods=120,
            discount_rate=annual_discount,
            outside_value=-100.0,
            spend_growth=0.0,
            burn_in_months=0,  # a closed cohort from month 0: no one leaves before the first recorded month
        ),
        population=Population(review_probability=0.0, prompted_review_probability=0.0, segment_spend=(1.0, 1.0, 1.0)),
        firms=[firm],
    )


@pytest.mark.parametrize(("retention", "margin", "annual_discount"), [(0.8, 10.0, 0.12), (0.95, 25.0, 0.10)])
def test_constant_retention_matches_closed_form_clv(retention, margin, annual_discount):
    """With retention r, margin m and discount d fixed, CLV = m(1+d)/(1+d-r)."""
    scenario = constant_retention_market(retention, margin, annual_discount)
    model = LoyaltyModel(scenario, seed=7).run()
    df = model.results()
    assert df.served.iloc[0] == scenario.market.customers  # everyone starts as a customer
    assert df.gains.sum() == 0  # no one joins: a closed cohort
    simulated_clv = df.cumulative_discounted_profit.iloc[-1] / df.served.iloc[0]
    d = accounting.period_discount_rate(annual_discount, 1.0)
    assert simulated_clv == pytest.approx(accounting.closed_form_clv(margin, retention, d), rel=0.02)
    assert 1 - df.losses.sum() / df.served.sum() == pytest.approx(retention, abs=0.01)
