"""A firm entering the market late, and firm strategies written by the user."""

import pydantic
import pytest

from sim import Event, LoyaltyModel
from sim.experiments.replications import run_replications
from tests.conftest import small_market


def with_entrant(enters_at, periods=12, customers=1500):
    scenario = small_market(customers, periods)
    entrant = scenario.firms[1].model_copy(update={"name": "D", "enters_at": enters_at, "price": 22.0, "quality": 0.75})
    return scenario.model_copy(update={"firms": [*scenario.firms, entrant]})


def test_a_firm_has_no_customers_before_it_enters_and_wins_some_after():
    df = LoyaltyModel(with_entrant(6), seed=3).run().results()
    entrant = df[df.firm == "D"].set_index("period")
    assert (entrant.loc[:5, "customers"] == 0).all()
    assert (entrant.loc[:5, ["revenue", "gains", "cost_acquisition"]] == 0).all().all()
    assert entrant.loc[11, "customers"] > 0 and entrant.loc[6:, "gains"].sum() > 0


def test_a_firm_entering_at_month_zero_is_an_ordinary_firm():
    df = LoyaltyModel(with_entrant(0, periods=1), seed=3).run().results()
    assert df[df.firm == "D"].customers.iloc[0] > 0


def test_open_firm_lets_a_dormant_firm_in_now_and_logs_it():
    model = LoyaltyModel(with_entrant(10_000), seed=3)
    model.run(3)
    assert model.results().query("firm == 'D'").customers.sum() == 0
    model.open_firm("D")
    model.run(3)
    assert model.results().query("firm == 'D' and period == 5").customers.item() > 0
    assert "month 3: D enters the market" in model.event_log


def test_opening_a_firm_already_in_the_market_changes_nothing():
    model = LoyaltyModel(with_entrant(0), seed=3)
    model.run(2)
    model.open_firm("D")
    assert model.firm("D").levers.enters_at == 0
    with pytest.raises(KeyError, match="firms are A, B, C, D"):
        model.open_firm("E")


def test_entry_month_is_validated():
    with pytest.raises(pydantic.ValidationError, match="enters_at"):
        small_market(10, 1).firms[0].model_validate({"name": "A", "enters_at": -1})


def match_price_cuts(firm, model):
    """Match the lowest rival price whenever it is below ours."""
    lowest = min(f.levers.price for f in model.firms if f is not firm)
    if lowest < firm.levers.price:
        firm.levers.price = lowest


def price_war(periods=10):
    scenario = small_market(1500, periods)
    return scenario.model_copy(update={"events": [Event(month=4, firm="A", lever="price", to=20.0)]})


def test_a_strategy_changes_its_firms_levers_when_it_decides_to_and_is_logged():
    model = LoyaltyModel(price_war(), seed=5, strategies={"B": match_price_cuts}).run()
    prices = model.results().query("firm == 'B'").set_index("period").price
    assert (prices.loc[:3] == 27.0).all() and (prices.loc[4:] == 20.0).all()
    assert "month 4: B price 27 -> 20 (strategy match_price_cuts)" in model.event_log


def test_a_strategy_changes_the_outcome_only_from_when_it_acts():
    plain = LoyaltyModel(price_war(), seed=5).run().results()
    matched = LoyaltyModel(price_war(), seed=5, strategies={"B": match_price_cuts}).run().results()
    before = plain.period < 4
    assert plain[before].equals(matched[before])  # common random numbers: identical until B reacts
    b_share = lambda df: df.query("firm == 'B' and period == 9").market_share.item()  # noqa: E731
    assert b_share(matched) > b_share(plain)


def test_strategies_for_unknown_firms_are_refused():
    with pytest.raises(ValueError, match="unknown firm"):
        LoyaltyModel(price_war(), seed=1, strategies={"Z": match_price_cuts})


def test_a_strategy_cannot_set_an_invalid_lever():
    def negative(firm, model):
        firm.levers.price = -1.0

    with pytest.raises(pydantic.ValidationError, match="price"):
        LoyaltyModel(price_war(2), seed=1, strategies={"A": negative}).run()


def test_replications_pass_strategies_to_every_run_in_any_worker():
    serial = run_replications(price_war(6), [1, 2], strategies={"B": match_price_cuts}, workers=1)
    parallel = run_replications(price_war(6), [1, 2], strategies={"B": match_price_cuts}, workers=2)
    assert serial.equals(parallel)
    assert (serial.query("firm == 'B' and period == 5").price == 20.0).all()


def test_a_strategy_defined_in_a_notebook_cell_is_refused_for_worker_processes(monkeypatch):
    import types

    notebook = types.ModuleType("__main__")  # an interactive __main__ has no __file__
    monkeypatch.setitem(__import__("sys").modules, "__main__", notebook)

    def in_a_cell(firm, model):
        pass

    in_a_cell.__module__ = "__main__"
    with pytest.raises(ValueError, match="importable .py module, or use workers=1"):
        run_replications(price_war(2), [1, 2], strategies={"B": in_a_cell}, workers=2)
    assert len(run_replications(price_war(2), [1, 2], strategies={"B": in_a_cell}, workers=1)) == 2 * 3 * 2
