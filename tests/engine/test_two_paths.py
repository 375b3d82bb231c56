"""The per-agent path (Customer.step on each agent) and the vectorised path agree exactly."""

from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

from sim import Customer, LoyaltyModel
from tests.conftest import small_market, with_firm


def barrier_heavy_market():
    scenario = small_market(300, 18)
    scenario = with_firm(
        scenario,
        0,
        exit_fee=40.0,
        contract_months=6,
        points_rate=0.05,
        silver_perk=1.0,
        gold_perk=3.0,
        silver_after=3,
        gold_after=9,
        relational_bond=1.0,
    )
    return with_firm(scenario, 1, failure_rate=0.2, recovery_rate=0.9)


def market_with_an_entrant():
    scenario = small_market(300, 12)
    late = scenario.firms[2].model_copy(update={"name": "D", "enters_at": 5, "price": 24.0})
    return scenario.model_copy(update={"firms": [*scenario.firms, late]})


def raise_b_price(model):
    if model.period == 6:
        model.firms[1].levers.price = 36.0


@pytest.mark.parametrize(
    ("scenario", "intervene"),
    [(small_market(300, 18), None), (barrier_heavy_market(), raise_b_price), (market_with_an_entrant(), None)],
    ids=["baseline", "barriers-failures-price-rise", "a-firm-enters"],
)
def test_per_agent_and_vectorised_paths_give_identical_runs(scenario, intervene):
    runs = []
    for vectorised in (True, False):
        model = LoyaltyModel(scenario, seed=11, vectorised=vectorised)
        for _ in range(scenario.market.periods):
            if intervene:
                intervene(model)
            model.step()
        runs.append(model)
    fast, slow = runs
    for field in fields(fast.customers):
        np.testing.assert_array_equal(
            getattr(fast.customers, field.name), getattr(slow.customers, field.name), err_msg=field.name
        )
    pd.testing.assert_frame_equal(fast.results(), slow.results(), check_exact=True)
    assert fast.results().gains.sum() > 0  # the comparison covered switching


def test_per_agent_path_steps_every_customer_agent(monkeypatch):
    calls = []
    original = Customer.step

    def counting(self):
        calls.append(self.index)
        original(self)

    monkeypatch.setattr(Customer, "step", counting)
    model = LoyaltyModel(small_market(50, 1), seed=2, vectorised=False)
    model.step()
    assert sorted(calls) == list(range(50))
    assert calls != sorted(calls)  # shuffled: the order of acting does not matter
