"""Small markets shared by the tests."""

import pytest

from sim import FirmLevers, Market, Population, Scenario


def small_market(customers: int = 400, periods: int = 24, **population) -> Scenario:
    """The baseline's three firms in a small market."""
    return Scenario(name="small", market=Market(customers=customers, periods=periods), population=Population(**population))


def with_firm(scenario: Scenario, index: int, **levers) -> Scenario:
    """A copy of ``scenario`` with some levers of one firm changed."""
    firms = list(scenario.firms)
    firms[index] = firms[index].model_copy(update=levers)
    return scenario.model_copy(update={"firms": [FirmLevers.model_validate(f.model_dump()) for f in firms]})


@pytest.fixture(scope="session")
def cluster():
    """One two-worker local Dask cluster on 127.0.0.1, shared by the sweep and sensitivity tests."""
    import logging

    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                     dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False},
                     silence_logs=logging.CRITICAL) as local,
        Client(local) as client,
    ):
        yield client
