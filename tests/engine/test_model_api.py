"""What a researcher touches: the model, its agents, its results."""

import subprocess
import sys

import mesa
import numpy as np
import pydantic
import pytest

from sim import Customer, Firm, FirmLevers, LoyaltyModel, Market, Population, Scenario, package_version
from sim.engine.metrics import COST_COLUMNS, LOST_COLUMNS, SEGMENT_COLUMNS
from tests.conftest import small_market

EXPECTED_COLUMNS = {
    "scenario",
    "seed",
    "period",
    "firm",
    "month",
    "months",
    "served",
    "customers",
    "gains",
    "losses",
    "churn_rate",
    "retention_rate",
    "market_share",
    "retained_year",
    "referrals",
    "revenue",
    "exit_fees",
    *COST_COLUMNS,
    "profit",
    "discounted_profit",
    "profit_base",
    "profit_growth",
    "profit_savings",
    "profit_referrals",
    "cumulative_discounted_profit",
    "complaints",
    "recovered",
    "failures",
    "recommendations_sent",
    "warnings_sent",
    "satisfaction",
    "trust",
    "tenure",
    "latent_new",
    "latent_elsewhere",
    "clv",
    *SEGMENT_COLUMNS,
    *LOST_COLUMNS,
    "price",
    "quality",
    "image",
}


def test_results_are_tidy_one_row_per_period_and_firm():
    model = LoyaltyModel(small_market(200, 5), seed=3).run()
    df = model.results()
    assert set(df.columns) == EXPECTED_COLUMNS
    assert len(df) == 5 * 3
    assert df.groupby(["period", "firm"]).size().eq(1).all()
    assert df.firm.unique().tolist() == ["A", "B", "C"]


def test_results_record_scenario_seed_and_version():
    df = LoyaltyModel(small_market(100, 2), seed=9).run().results()
    assert df.attrs["seed"] == 9 and (df.seed == 9).all()
    assert df.attrs["scenario"]["name"] == "small" and (df.scenario == "small").all()
    assert df.attrs["scenario"]["market"]["customers"] == 100
    assert df.attrs["version"] == package_version()


def test_profit_is_revenue_and_fees_less_every_cost():
    df = LoyaltyModel(small_market(300, 6), seed=1).run().results()
    costs = df[list(COST_COLUMNS)].sum(axis=1)
    np.testing.assert_allclose(df.profit, df.revenue + df.exit_fees - costs)
    np.testing.assert_allclose(
        df.groupby("firm").discounted_profit.sum(), df[df.period == 5].set_index("firm").cumulative_discounted_profit
    )


def test_profit_splits_into_reichhelds_sources():
    scenario = small_market(800, 24)
    scenario = scenario.model_copy(
        update={
            "firms": [
                scenario.firms[0].model_copy(update={"silver_perk": 2.0, "points_rate": 0.05, "silver_after": 3}),
                *scenario.firms[1:],
            ]
        }
    )
    df = LoyaltyModel(scenario, seed=2).run().results()
    sources = df.profit_base + df.profit_growth + df.profit_savings + df.profit_referrals
    np.testing.assert_allclose(sources + df.exit_fees - df.cost_acquisition, df.profit)
    assert (df.profit_growth > 0).all() and (df.profit_savings > 0).all()
    assert df.profit_referrals.iloc[-3:].sum() > 0  # recommended joiners are counted once they stay


def test_a_save_rate_keeps_would_be_leavers():
    scenario = small_market(2000, 24)
    saving = scenario.model_copy(
        update={"firms": [scenario.firms[0].model_copy(update={"save_rate": 0.5}), *scenario.firms[1:]]}
    )
    churn = [
        LoyaltyModel(s, seed=3).run().results().query("firm == 'A' and period >= 6").churn_rate.mean()
        for s in (scenario, saving)
    ]
    assert churn[1] < 0.65 * churn[0]


def test_customers_and_firms_are_mesa_agents_viewing_the_arrays():
    model = LoyaltyModel(small_market(50, 1), seed=4, vectorised=False)
    customers = list(model.agents_by_type[Customer])
    assert len(customers) == 50 and len(list(model.agents_by_type[Firm])) == 3
    one = customers[7]
    assert one is model.customer_agents[7] and one.index == 7
    assert one.trust.shape == (3,)
    one.trust[0] = 0.123  # a view: writes land in the population arrays
    assert model.customers.trust[0, 7] == 0.123
    assert one.firm is None or one.firm in model.firms
    assert one.segment in {"heavy", "medium", "light"}
    model.step()
    assert one.tenure == model.customers.tenure[7]
    assert one.loyalty in {None, "true", "latent", "spurious", "none"}


def test_the_vectorised_path_makes_a_customer_agent_only_when_asked_for():
    model = LoyaltyModel(small_market(50, 1), seed=4)
    assert model.customer_agents.made == 0 and len(model.customer_agents) == 50
    assert Customer not in model.agents_by_type or len(model.agents_by_type[Customer]) == 0
    one = model.customer_agents[-1]
    assert one is model.customer_agents[49] and one.index == 49 and one.unique_id == 3 + 50  # as if made in order
    assert list(model.agents_by_type[Customer]) == [one] and model.customer_agents.made == 1
    model.step()
    assert one.tenure == model.customers.tenure[49]
    assert [a.index for a in model.customer_agents[10:13]] == [10, 11, 12]
    with pytest.raises(IndexError, match="customer 50 out of range: the market has 50 customers"):
        model.customer_agents[50]
    assert one in model.customer_agents and mesa.Agent(model).unique_id > 3 + 50  # no id is given twice
    assert [a.index for a in model.customer_agents] == list(range(50))  # iterating makes them all, in row order
    assert sorted(a.index for a in model.agents_by_type[Customer]) == list(range(50))


@pytest.mark.parametrize("period_months", [1, 3])
def test_a_period_stepped_without_recording_lives_the_same_but_books_nothing(period_months):
    scenario = small_market(300, 6)
    scenario = scenario.model_copy(
        update={"market": scenario.market.model_copy(update={"period_months": period_months})}
    )
    recorded, unrecorded = LoyaltyModel(scenario, seed=8), LoyaltyModel(scenario, seed=8)
    for _ in range(4):
        recorded.step()
        unrecorded.step(record=False)
    kept = {"loyalty", "preferred"}  # the segments stay as the last recorded month left them
    for name, array in vars(recorded.customers).items():
        if name not in kept:
            assert np.array_equal(array, getattr(unrecorded.customers, name), equal_nan=True), name
    assert not np.array_equal(recorded.customers.loyalty, unrecorded.customers.loyalty)
    assert unrecorded.results().empty and unrecorded.period == recorded.period == 4
    assert unrecorded.month == recorded.month == 4 * period_months
    assert [f.image for f in unrecorded.firms] == [f.image for f in recorded.firms]


def test_changing_a_lever_mid_run_takes_effect_next_period():
    model = LoyaltyModel(small_market(100, 4), seed=5)
    model.step()
    model.firms[0].levers.price = 45.0
    model.step()
    assert model.results().query("firm == 'A'").price.tolist() == [30.0, 45.0]


def test_an_invalid_lever_is_refused_with_the_field_named():
    model = LoyaltyModel(small_market(10, 1), seed=0)
    with pytest.raises(pydantic.ValidationError, match="recovery_rate"):
        model.firms[0].levers.recovery_rate = 1.5
    with pytest.raises(pydantic.ValidationError, match="segment_shares"):
        Population(segment_shares=(0.5, 0.5, 0.5))
    with pytest.raises(pydantic.ValidationError, match="unique"):
        Scenario(firms=[FirmLevers(name="A"), FirmLevers(name="A")])
    with pytest.raises(pydantic.ValidationError, match="custmers"):
        Market(custmers=10)


def test_a_market_with_no_firms_is_refused():
    with pytest.raises(pydantic.ValidationError, match="firms"):
        Scenario(market=Market(customers=20, periods=2), firms=[])


def test_a_single_customer_market_runs_on_both_paths():
    scenario = Scenario(market=Market(customers=1, periods=3))
    fast = LoyaltyModel(scenario, seed=2).run().results()
    slow = LoyaltyModel(scenario, seed=2, vectorised=False).run().results()
    assert fast.equals(slow)


def test_every_parameter_says_where_its_default_comes_from():
    for model in (Market, Population, FirmLevers, Scenario):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
            if model is not Scenario and name != "name":
                assert "Source:" in field.description or "Assumption" in field.description or model is FirmLevers, (
                    f"{model.__name__}.{name} does not say where its default comes from"
                )


def test_default_run_prints_a_summary_table():
    out = subprocess.run(
        [sys.executable, "-m", "sim", "--customers", "500", "--periods", "13"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "seed 1" in out and "12-month retention %" in out
    assert all(f"\n{name} " in out for name in "ABC")


def test_readme_parameter_tables_match_the_code():
    from pathlib import Path

    from sim.engine.parameters import parameter_table

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for group in (Market, Population, FirmLevers):
        assert parameter_table(group) in readme, f"README's {group.__name__} table is out of date"
