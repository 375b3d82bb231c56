"""Customer delivered value and the barriers to leaving a firm.

Kotler's customer delivered value ``CDV = TCV - TCC``: what the customer gets
(service quality, brand image) less what it costs (price). Barriers
(Burnham, Frels & Mahajan 2003) apply only to leaving the current firm:
procedural (effort), financial (fees, forfeited points and tier perks) and
relational (bonds).
"""

from __future__ import annotations

import numpy as np

from sim.behaviour.compiled import jitable, select


@jitable
def delivered_value(quality, price, image, w_quality, w_price, w_image):
    """Customer delivered value, Kotler's CDV = TCV - TCC.

    Works on scalars or on arrays that broadcast to (firms, customers).

    Args:
        quality: perceived service quality of each firm, 0..1, shape
            (firms, 1) to broadcast across customers.
        price: price of each firm, currency per period, shape (firms, 1).
        image: brand image of each firm, 0..1, shape (firms, 1).
        w_quality: each customer's utility of quality going from 0 to 1, shape (customers,).
        w_price: each customer's utility lost per currency unit of price, shape (customers,).
        w_image: each customer's utility of image going from 0 to 1, shape (customers,).

    Returns:
        Delivered value in utils: ``w_quality q + w_image i - w_price p``.
    """
    return w_quality * quality + w_image * image - w_price * price


@jitable
def tier(tenure_months, silver_after, gold_after):
    """Loyalty tier a tenure has earned: 0 none, 1 silver, 2 gold (``gold_after >= silver_after``, in months)."""
    return select(
        tenure_months >= gold_after, np.int8(2), select(tenure_months >= silver_after, np.int8(1), np.int8(0))
    )


@jitable
def tier_perk(tenure_months, silver_after, gold_after, silver_perk, gold_perk):
    """Value per month of the loyalty tier a tenure has earned (gold over silver), lost on leaving."""
    earned = tier(tenure_months, silver_after=silver_after, gold_after=gold_after)
    return select(earned == 2, gold_perk, select(earned == 1, silver_perk, 0.0))


@jitable
def relational_bond(tenure_months, bond, months):
    """Personal bond in utils, growing with tenure: ``bond (1 - exp(-tenure / months))``, both in months."""
    return bond * -np.expm1(-(tenure_months / months))  # 0, not -0, at tenure 0


@jitable
def fee_applies(tenure, contract_months):
    """Whether leaving at the end of this month costs the exit fee.

    With ``contract_months == 0`` it always does; otherwise the fee is waived
    in the last month of each contract term (tenure ``T-1, 2T-1, ...`` months).
    """
    term = np.maximum(contract_months, 1)
    return (contract_months == 0) | ((tenure + 1) % term != 0)


@jitable
def exit_barrier(w_price, exit_fee, points, perks, bond, effort):
    """Utility a customer gives up by leaving its firm: every switching cost of Burnham, Frels & Mahajan (2003).

    ``w_price (exit_fee + points + perks) + bond + effort``: money forfeited
    (the fee, the points, the tier perks it would no longer receive, in
    currency) weighs as price does; bond and effort are already in utils.
    """
    return w_price * (exit_fee + points + perks) + bond + effort
