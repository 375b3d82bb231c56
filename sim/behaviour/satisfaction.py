"""Service delivery and satisfaction by expectation-disconfirmation.

A customer experiences the firm's quality plus care plus noise, less a failure
when one occurs; satisfaction is a logistic function of the gap between that
experience and what the customer expected; the expectation then moves part of
the way towards the experience (Oliver's expectation-disconfirmation model,
with adaptation). All functions are pure and work elementwise on arrays.
"""

from __future__ import annotations

import numpy as np


def care_effect(care_spend, *, effect, scale):
    """Quality a firm adds through care spend, with diminishing returns.

    Args:
        care_spend: care spend per customer-period, currency, any shape.
        effect: the most care can add, on the 0..1 quality scale.
        scale: spend at which 1 - 1/e (63%) of ``effect`` is reached.

    Returns:
        ``effect * (1 - exp(-care_spend / scale))``, same shape as ``care_spend``.
    """
    return effect * -np.expm1(-np.asarray(care_spend, dtype=float) / scale)


def experienced_quality(quality, noise, failed, severity):
    """Quality a customer experiences in one period.

    Args:
        quality: quality the firm delivers to this customer (its mean quality
            plus care effect), 0..1 scale.
        noise: the customer's draw of service noise, already scaled, same units.
        failed: boolean, whether a service failure hit this customer.
        severity: quality lost in a failure.

    Returns:
        ``quality + noise - failed * severity``. Not clipped: a bad failure can
        fall below 0, which is simply a very poor experience.
    """
    return quality + noise - np.where(failed, severity, 0.0)


def satisfaction(experience, expectation, *, slope, offset):
    """Satisfaction, 0..1, from the disconfirmation ``experience - expectation``.

    ``s = 1 / (1 + exp(-(offset + slope * (experience - expectation))))``.
    With ``offset = 1`` an experience that just meets expectations gives 0.73:
    satisfied, not totally satisfied (Jones & Sasser's zone of indifference).
    On the 5-point scale of surveys, level = 1 + 4 s.
    """
    z = offset + slope * (np.asarray(experience) - expectation)
    with np.errstate(over="ignore"):  # exp(-z) overflowing to inf gives the right limit, 0
        return 1.0 / (1.0 + np.exp(-z))


def adapt_expectation(expectation, experience, *, rate):
    """Adaptive expectations: ``e + rate * (experience - e)``."""
    return expectation + rate * (experience - expectation)
