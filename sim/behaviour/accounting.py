"""What a customer is worth to its firm, period by period.

Revenue grows with tenure and serving cost falls with it (Reichheld 1996);
acquisition cost is paid once per new customer; profit is discounted to the
start of the run with margin booked at the start of each period, so a constant
retention ``r``, margin ``m`` and discount ``d`` give the closed-form lifetime
value ``m (1 + d) / (1 + d - r)``.
"""

from __future__ import annotations

import numpy as np

from sim.behaviour.compiled import jitable


@jitable
def spend_multiplier(tenure, growth, months):
    """Spend relative to a new customer's: ``1 + growth (1 - exp(-tenure / months))``, tenure in months."""
    return 1.0 + growth * -np.expm1(-tenure / months)


@jitable
def serving_cost_multiplier(tenure, floor, months):
    """Serving cost relative to a new customer's: ``floor + (1 - floor) exp(-tenure / months)``."""
    return floor + (1.0 - floor) * np.exp(-tenure / months)


def period_discount_rate(annual_rate, period_months):
    """Discount rate per period equivalent to ``annual_rate``: ``(1 + a)^(months/12) - 1``."""
    return (1.0 + annual_rate) ** (period_months / 12.0) - 1.0


def discount_factor(rate, period):
    """Present value of one unit booked at the start of ``period`` (0-based): ``(1 + rate)^-period``."""
    return (1.0 + rate) ** -np.asarray(period, dtype=float)


def closed_form_clv(margin, retention, rate, periods=None):
    """Customer lifetime value with constant margin, retention and discount rate.

    ``CLV = m (1 + d) / (1 + d - r)``: the sum over periods ``t >= 0`` of
    ``m r^t / (1 + d)^t``, margin booked at the start of each period
    (Gupta & Lehmann 2003, with margin at the start of each period). With
    ``periods = T`` the sum stops after ``T`` periods, as a simulation does:
    the value above times ``1 - (r / (1 + d))^T``.
    """
    value = margin * (1.0 + rate) / (1.0 + rate - retention)
    if periods is None:
        return value
    return value * (1.0 - (retention / (1.0 + rate)) ** periods)
