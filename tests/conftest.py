"""Small markets shared by the tests."""

from sim import FirmLevers, Market, Population, Scenario


def small_market(customers: int = 400, periods: int = 24, **population) -> Scenario:
    """The baseline's three firms in a small market."""
    return Scenario(name="small", market=Market(customers=customers, periods=periods), population=Population(**population))


def with_firm(scenario: Scenario, index: int, **levers) -> Scenario:
    """A copy of ``scenario`` with some levers of one firm changed."""
    firms = list(scenario.firms)
    firms[index] = firms[index].model_copy(update=levers)
    return scenario.model_copy(update={"firms": [FirmLevers.model_validate(f.model_dump()) for f in firms]})
