"""Customers live by the month whatever the period: a period's row is its months gathered."""

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from sim.engine.metrics import FLOW_COLUMNS, STOCK_COLUMNS, firm_metrics
from sim.engine.model import LoyaltyModel
from sim.engine.parameters import Event, Market, Scenario
from sim.experiments.summary import per_replication


def market(months: int, periods: int, customers: int = 1_500, events: tuple[Event, ...] = ()) -> Scenario:
    s = Scenario(events=list(events))
    update = {"customers": customers, "periods": periods, "period_months": months, "burn_in_months": 24}
    return s.model_copy(update={"market": s.market.model_copy(update=update)})


EVENTS = (
    Event(month=7, firm="B", lever="price", by=-0.15, months=5),
    Event(month=13, firm="A", lever="failure_rate", to=0.3, months=2),
)


@pytest.fixture(scope="module")
def monthly():
    return LoyaltyModel(market(1, 36, events=EVENTS), seed=3).run().results()


@pytest.mark.parametrize("months", [3, 12])
def test_a_longer_period_is_the_same_months_gathered(monthly, months):
    """Events fall in the month they name, flows add up, stocks are the period's last month's."""
    longer = LoyaltyModel(market(months, 36 // months, events=EVENTS), seed=3).run().results()
    monthly = monthly.assign(period=monthly.period // months)
    assert (longer.months == months).all() and list(longer.month.unique()) == list(range(0, 36, months))
    by_period = monthly.groupby(["period", "firm"], sort=False)
    flows = by_period[[*FLOW_COLUMNS, "discounted_profit"]].sum().reset_index()
    stocks = by_period[[*STOCK_COLUMNS, "cumulative_discounted_profit", "clv"]].last().reset_index()
    merged = longer.merge(flows, on=["period", "firm"], suffixes=("", "_m")).merge(stocks, on=["period", "firm"])
    for column in (*FLOW_COLUMNS, "discounted_profit"):
        np.testing.assert_allclose(merged[column], merged[f"{column}_m"], rtol=1e-12, err_msg=column)
    chained = 1 - by_period.retention_rate.prod().to_numpy()
    np.testing.assert_allclose(longer.churn_rate, chained, rtol=1e-12)
    first = by_period.served.first().to_numpy()
    np.testing.assert_array_equal(longer.served, first)


def test_annual_figures_do_not_depend_on_the_period():
    """The summary of a quarterly or annual version of a market is the monthly one's (the same months)."""
    tables = {
        months: per_replication(LoyaltyModel(market(months, 48 // months), seed=5).run().results())
        for months in (1, 3, 12)
    }
    for months in (3, 12):
        for column in ("annual_retention_pct", "monthly_churn_pct", "cohort_retention_pct", "profit_per_month"):
            monthly = tables[1].set_index("firm")[column]
            other = tables[months].set_index("firm")[column]
            # The steady state starts at a period boundary, so it may start a few months apart.
            np.testing.assert_allclose(other, monthly, rtol=0.02, err_msg=f"{column} at {months} months")


def test_twelve_month_retention_counts_customers_who_stayed_a_year():
    """retained_year at t + 12 over customers at t is the share still there: checked against the arrays."""
    model = LoyaltyModel(market(1, 1, customers=800), seed=2)
    model.run(1)
    start_firm = model.customers.firm.copy()
    model.run(12)
    stayed = (model.customers.firm == start_firm) & (model.customers.tenure >= 12)
    results = model.results()
    for k, firm in enumerate(model.firms):
        at_start = results[(results.period == 0) & (results.firm == firm.name)].customers.item()
        a_year_on = results[(results.period == 12) & (results.firm == firm.name)].retained_year.item()
        assert a_year_on == stayed[start_firm == k].sum() <= at_start


def test_a_period_length_that_does_not_divide_a_year_is_refused():
    with pytest.raises(ValidationError, match="must be one of 1, 2, 3, 4, 6, 12"):
        Market(period_months=5)


def test_every_monthly_column_is_either_summed_or_read_at_the_end():
    model = LoyaltyModel(market(1, 1, customers=300), seed=1)
    row = firm_metrics(model.customers, model.market, model.spec)
    special = {"served", "satisfaction", "churn_rate", "retention_rate"}
    assert set(row) == set(FLOW_COLUMNS) | set(STOCK_COLUMNS) | special
    assert not set(FLOW_COLUMNS) & set(STOCK_COLUMNS)


def test_the_burn_in_is_history_not_record():
    """Month 0 is the first recorded; the burn-in ages the customers but leaves the levers and images alone."""
    fresh = market(1, 6)
    none = fresh.model_copy(update={"market": fresh.market.model_copy(update={"burn_in_months": 0})})
    aged = LoyaltyModel(fresh, seed=4)
    young = LoyaltyModel(none, seed=4)
    assert aged.month == young.month == 0
    assert aged.customers.tenure.mean() != young.customers.tenure.mean()
    assert [f.image for f in aged.firms] == [f.image for f in young.firms]
    assert list(pd.unique(aged.run().results().period)) == list(range(6))
