"""Parameters of a market: its economics, its customers and its firms.

Every field has a default and a description that says where the number comes
from: a stylized fact of the loyalty literature (``Source:``) or a modelling
choice (``Assumption:``). Time is in months whatever the model's period
(``Market.period_months``): every probability and rate is stated per month,
every duration in months, every price and cost per month (the books bill
them per period); utilities are in units of the taste shock's scale, so a
difference of 1 between two options moves a 50/50 choice to about 73/27.
"""

from sim.engine.parameters.base import MAX_FIRMS, MAX_MONEY, MAX_PERIODS, Parameters, parameter_table
from sim.engine.parameters.firm import ADJUSTABLE_LEVERS, Firm
from sim.engine.parameters.market import Market
from sim.engine.parameters.population import Population
from sim.engine.parameters.scenario import Event, Scenario

__all__ = [
    "ADJUSTABLE_LEVERS",
    "MAX_FIRMS",
    "MAX_MONEY",
    "MAX_PERIODS",
    "Event",
    "Firm",
    "Market",
    "Parameters",
    "Population",
    "Scenario",
    "parameter_table",
]
