"""loyalty-sim: what keeps customers loyal, and what that loyalty is worth.

>>> from sim import LoyaltyModel, Scenario
>>> model = LoyaltyModel(Scenario(), seed=42).run(24)
>>> df = model.results()   # tidy: one row per period and firm
"""

from .agents import Customer, Firm
from .model import LoyaltyModel, package_version
from .parameters import Firm as FirmLevers
from .parameters import Market, Population, Scenario

__all__ = ["Customer", "Firm", "FirmLevers", "LoyaltyModel", "Market", "Population", "Scenario", "package_version"]
