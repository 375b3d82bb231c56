"""Voice and service recovery.

Of dissatisfied customers only a few complain (about 1 in 25, TARP); the firm
resolves a complaint with its recovery rate. The draws are uniform numbers
made by the caller from the model's generator.
"""

from __future__ import annotations

from sim.behaviour.compiled import jitable


@jitable
def complains(dissatisfied, propensity, draw):
    """Whether each customer complains: dissatisfied and ``draw < propensity``."""
    return dissatisfied & (draw < propensity)


@jitable
def is_recovered(complained, recovery_rate, draw):
    """Whether each complaint is resolved: complained and ``draw < recovery_rate``."""
    return complained & (draw < recovery_rate)
