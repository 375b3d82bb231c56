"""Service delivery, satisfaction from performance and disconfirmation, and how expectations form.

A customer experiences the firm's quality plus care plus noise, less a failure
when one occurs. Satisfaction is a logistic function of two things (Oliver
1980; Churchill & Surprenant 1982; the ACSI, Fornell et al. 1996): the
performance itself, measured against the quality a customer finds adequate,
and the disconfirmation of what it expected, where a shortfall weighs more
than a surplus (Anderson & Sullivan 1993) and small gaps inside a zone of
indifference around the expectation do not count (Woodruff, Cadotte & Jenkins
1983). Expectations form
from the firm's promise and the market's norm when a customer joins, and then
move part of the way towards each experience. All functions are pure and work
elementwise on arrays.
"""

from __future__ import annotations

import numpy as np

from sim.behaviour.compiled import jitable, select


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


@jitable
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
    return quality + noise - select(failed, severity, 0.0)


@jitable
@np.errstate(over="ignore")
def satisfaction(experience, expectation, offset, performance_weight, adequate, slope, shortfall_weight, tolerance):
    """Satisfaction, 0..1, from performance and from disconfirmation of expectations.

    ``s = logistic(offset + performance_weight (x - adequate) + slope (surplus - shortfall_weight shortfall))``
    with ``x`` the experience, ``d = x - expectation``, ``surplus = max(0, d - tolerance)`` and
    ``shortfall = max(0, -d - tolerance)``. With ``offset = 1`` an experience at the adequate level that
    meets expectations gives 0.73: satisfied, not totally satisfied (Jones & Sasser's zone of
    indifference). On the 5-point scale of surveys, level = 1 + 4 s.

    Args:
        experience: quality experienced this period, 0..1 scale.
        expectation: quality the customer expected of its firm, same scale.
        offset: log-odds of satisfaction at adequate performance that meets expectations.
        performance_weight: log-odds per unit of experienced quality above the adequate level
            (perceived quality's direct effect: ACSI).
        adequate: the quality a customer finds adequate, 0..1.
        slope: log-odds per unit of experience above expectation, beyond the tolerance.
        shortfall_weight: how many times more a shortfall weighs than a surplus (Anderson & Sullivan 1993).
        tolerance: half-width of the zone of indifference around the expectation, in which a gap does not count.
    """
    gap = experience - expectation
    surplus = np.maximum(0.0, gap - tolerance)
    shortfall = np.maximum(0.0, -gap - tolerance)
    z = offset + performance_weight * (experience - adequate) + slope * (surplus - shortfall_weight * shortfall)
    return 1.0 / (1.0 + np.exp(-z))  # exp(-z) overflowing to inf gives the right limit, 0


@jitable
def formed_expectation(promise, norm, promise_weight):
    """The quality a customer expects of a firm it joins: ``w promise + (1 - w) norm``.

    Args:
        promise: the quality the firm promises (what it delivers before noise and failures), 0..1.
        norm: the quality the market delivers on average (its share-weighted mean), 0..1.
        promise_weight: weight of the firm's own promise against the market's norm, 0..1.
    """
    return promise_weight * promise + (1.0 - promise_weight) * norm


@jitable
def adapt_expectation(expectation, experience, rate):
    """Adaptive expectations: ``e + rate * (experience - e)``."""
    return expectation + rate * (experience - expectation)
