"""Independent chances, each with the same probability, taken a whole number of times.

Several equations ask what is left after a number of independent events of
the same kind: trust in a firm after each recommendation closes a share of
the doubt, a customer who does not reconsider after each prompt it had this
month. ``none_of`` is that share, so the power is written once, and the
engine can take each count's value once a month rather than once a customer.
"""

from __future__ import annotations

from sim.behaviour.compiled import jitable


@jitable
def none_of(probability, times):
    """Probability that none of ``times`` independent chances of ``probability`` each happens: ``(1 - p)^times``.

    Args:
        probability: the chance of one event, 0..1.
        times: how many chances there are, whole numbers >= 0.
    """
    return (1.0 - probability) ** (1.0 * times)  # a float power, compiled or not
