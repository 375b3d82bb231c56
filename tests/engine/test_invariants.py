"""Invariants that hold for any market (property tests)."""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import FirmLevers, LoyaltyModel, Market, Population, Scenario

firms = st.builds(
    FirmLevers,
    price=st.floats(0, 80),
    quality=st.floats(0, 1),
    failure_rate=st.floats(0, 1),
    exit_fee=st.floats(0, 200),
    contract_months=st.integers(0, 24),
    points_rate=st.floats(0, 0.2),
    silver_perk=st.floats(0, 5),
    relational_bond=st.floats(0, 3),
    recovery_rate=st.floats(0, 1),
    care_spend=st.floats(0, 10),
    acquisition_spend=st.floats(0, 300),
    defection_hazard=st.floats(0, 1),
)


@st.composite
def markets(draw):
    levers = draw(st.lists(firms, min_size=1, max_size=4))
    levers = [f.model_copy(update={"name": f"F{k}"}) for k, f in enumerate(levers)]
    return Scenario(
        name="random",
        market=Market(
            customers=draw(st.integers(1, 150)),
            periods=draw(st.integers(1, 6)),
            contacts=draw(st.integers(0, 30)),
            outside_value=draw(st.floats(-5, 5)),
        ),
        population=Population(
            review_probability=draw(st.floats(0, 1)),
            prompted_review_probability=draw(st.floats(0, 1)),
            service_noise=draw(st.floats(0, 0.3)),
        ),
        firms=levers,
    )


fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(markets(), st.integers(0, 2**32 - 1))
def test_customers_are_conserved(scenario, seed):
    model = LoyaltyModel(scenario, seed=seed).run()
    df = model.results()
    assert (df.groupby("period").customers.sum() <= scenario.market.customers).all()
    assert np.array_equal(df.customers, df.served + df.gains - df.losses)
    n_firms = len(scenario.firms)
    assert np.bincount(model.customers.firm, minlength=n_firms + 1).sum() == scenario.market.customers
    final = df[df.period == df.period.max()].customers.to_numpy()
    assert np.array_equal(final, np.bincount(model.customers.firm, minlength=n_firms + 1)[:n_firms])


@fast
@given(markets(), st.integers(0, 2**32 - 1))
def test_shares_sum_to_one_and_rates_lie_in_the_unit_interval(scenario, seed):
    df = LoyaltyModel(scenario, seed=seed).run().results()
    shares = df.groupby("period").market_share.sum()
    served_any = df.groupby("period").customers.sum() > 0
    np.testing.assert_allclose(shares[served_any], 1.0)
    for column in ("churn_rate", "retention_rate", "market_share", "image", "trust", "satisfaction"):
        values = df[column].dropna()
        assert ((values >= 0) & (values <= 1)).all(), column
    segments = df[["true_loyal", "latent_new", "spurious_loyal", "not_loyal"]].sum(axis=1)
    assert np.array_equal(segments, df.customers)
    assert np.array_equal(df.latent_loyal, df.latent_new + df.latent_elsewhere)
    everyone = scenario.market.customers
    assert (df.latent_elsewhere <= everyone - df.customers).all()
    assert (df.retained_year <= df.customers).all()
    lost = df[["lost_true", "lost_latent", "lost_spurious", "lost_not_loyal"]].sum(axis=1)
    assert np.array_equal(lost, df.losses)


@fast
@given(markets(), st.integers(0, 2**32 - 1))
def test_the_same_seed_gives_the_same_run(scenario, seed):
    first = LoyaltyModel(scenario, seed=seed).run().results()
    second = LoyaltyModel(scenario, seed=seed).run().results()
    pd.testing.assert_frame_equal(first, second, check_exact=True)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_a_different_seed_gives_a_different_run(seed, other):
    if seed == other:
        other = seed + 1
    scenario = Scenario(market=Market(customers=300, periods=3))
    first = LoyaltyModel(scenario, seed=seed).run().results()
    second = LoyaltyModel(scenario, seed=other).run().results()
    assert not first.drop(columns="seed").equals(second.drop(columns="seed"))
