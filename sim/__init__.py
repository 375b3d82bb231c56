"""loyalty-sim: what keeps customers loyal, and what that loyalty is worth.

>>> from sim import LoyaltyModel, Scenario
>>> model = LoyaltyModel(Scenario(), seed=42).run(24)
>>> df = model.results()   # tidy: one row per period and firm
"""

from .agents import Customer, Firm
from .model import LoyaltyModel, Strategy, package_version
from .parameters import Event, Market, Population, Scenario
from .parameters import Firm as FirmLevers
from .sensitivity import sensitivity
from .sweep import sweep

__all__ = [
    "Customer", "Event", "Firm", "FirmLevers", "LoyaltyModel", "Market", "Population", "Scenario", "Strategy",
    "package_version", "sensitivity", "sweep",
]
