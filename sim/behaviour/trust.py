"""Trust in firms: built slowly, lost fast, repaired by good recovery.

Trust is a number in 0..1 per customer and firm. The loss of trust over an
unfair price rise is judged against the customer's reference price
(``sim.behaviour.prices.unfair_price_loss``). Moves towards 1 are shares of
the remaining gap (``t + g (1 - t)``) and moves towards 0 are shares of what is
left (``t (1 - l)``), so trust never leaves 0..1 (Zaheer, McEvily & Perrone
1998: promises kept, predictability, fairness).
"""

from __future__ import annotations

from sim.behaviour.chances import none_of
from sim.behaviour.compiled import jitable, select


@jitable
def build_trust(trust, share):
    """Close ``share`` of the gap to full trust: ``t + share * (1 - t)``."""
    return trust + share * (1.0 - trust)


@jitable
def erode_trust(trust, share):
    """Lose ``share`` of trust: ``t * (1 - share)``."""
    return trust * (1.0 - share)


@jitable
def trust_after_service(trust, disappointed, recovered, unrecovered, gain, loss, recovery_boost, unrecovered_loss):
    """Trust in the current firm after one period of service.

    A period without failure or dissatisfaction builds trust by ``gain``; a
    disappointing one erodes it by ``loss``. A resolved complaint then closes
    ``recovery_boost`` of the gap (which can leave trust higher than before the
    failure: the service-recovery paradox); an unresolved one erodes a further
    ``unrecovered_loss``.

    Args:
        trust: trust in the current firm, 0..1.
        disappointed: boolean, failure or dissatisfaction this period.
        recovered: boolean, a complaint resolved this period.
        unrecovered: boolean, a complaint not resolved this period.
        gain: share of the gap to full trust a good period closes, 0..1.
        loss: share of trust a disappointing period removes, 0..1.
        recovery_boost: share of the gap to full trust a resolved complaint closes, 0..1.
        unrecovered_loss: further share of trust an unresolved complaint removes, 0..1.
    """
    after = select(disappointed, erode_trust(trust, loss), build_trust(trust, gain))
    after = select(recovered, build_trust(after, recovery_boost), after)
    return select(unrecovered, erode_trust(after, unrecovered_loss), after)


@jitable
def forget(trust, prior, rate):
    """Drift towards the prior for firms a customer does not use: ``t + rate (prior - t)``."""
    return trust + rate * (prior - trust)


@jitable
def hear_word_of_mouth(trust, recommendations, warnings, gain, loss):
    """Trust after hearing ``recommendations`` and ``warnings`` about a firm.

    Each recommendation closes ``gain`` of the gap, each warning removes
    ``loss``: ``t' = 1 - (1 - t)(1 - gain)^r``, then ``t'' = t' (1 - loss)^w``.
    Counts are non-negative integers, so the result does not depend on the
    order in which messages arrive.
    """
    return heard_with(trust, none_of(gain, recommendations), none_of(loss, warnings))


@jitable
def heard_with(trust, doubt_kept, trust_kept):
    """``hear_word_of_mouth`` from the share of doubt the recommendations leave and of trust the warnings leave.

    ``doubt_kept`` is ``(1 - gain)^r`` and ``trust_kept`` is ``(1 - loss)^w``
    (``chances.none_of``); each takes only a few values in a month, which the
    engine takes once: ``t'' = (1 - (1 - t) doubt_kept) trust_kept``.
    """
    return (1.0 - (1.0 - trust) * doubt_kept) * trust_kept
