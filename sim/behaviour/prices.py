"""Reference prices: what a customer is used to paying, and how a price is felt against it.

Adaptation-level theory (Helson 1964; Kalyanaram & Winer 1995; Mazumdar,
Raj & Sinha 2005): each customer keeps a reference price that moves part of
the way towards the price it pays each month. A price above the reference is
a loss, below it a gain, and losses weigh more than gains (Kahneman & Tversky
1979: about twice). Fairness is judged against the reference too (Bolton,
Warlop & Alba 2003; Xia, Monroe & Cox 2004), so the end of a short promotion,
which barely moved the reference, is no unfair rise, while a real price hike
is. All functions are pure and work elementwise on arrays.
"""

from __future__ import annotations

import numpy as np

from sim.behaviour.compiled import jitable, select


@jitable
def adapt_reference(reference, paid, rate):
    """The reference price after paying ``paid``: ``r + rate (paid - r)`` (exponential smoothing)."""
    return reference + rate * (paid - reference)


@jitable
def price_feeling(price, reference, loss_aversion):
    """How a price is felt against the reference, in currency: ``gain - loss_aversion * loss``.

    ``gain = max(0, reference - price)``, ``loss = max(0, price - reference)``:
    positive when the price is below what the customer is used to paying.

    Args:
        price: the price charged, currency per month.
        reference: the customer's reference price, currency per month.
        loss_aversion: how many times more a loss weighs than a gain of the same size.
    """
    return np.maximum(0.0, reference - price) - loss_aversion * np.maximum(0.0, price - reference)


@jitable
@np.errstate(over="ignore")
def unfair_price_loss(reference, price, rose, fair_rise, penalty):
    """Share of trust lost over a price rise that customers find unfair.

    ``min(1, penalty * max(0, (price - reference) / reference - fair_rise))``
    in a month in which the price rose (``rose``); no loss otherwise, or
    when the reference is 0 (a rise from a reference near 0 is capped at a
    total loss rather than overflowing).

    Args:
        reference: the customer's reference price.
        price: the price it is charged now.
        rose: whether the price rose this month.
        fair_rise: the rise above the reference customers accept as fair, a share.
        penalty: share of trust lost per unit of rise above the fair rise.
    """
    priced = reference > 0
    rise = select(priced, (price - reference) / select(priced, reference, 1.0), 0.0)
    return select(rose, np.minimum(1.0, penalty * np.maximum(0.0, rise - fair_rise)), 0.0)
