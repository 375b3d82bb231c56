"""Brand image: it fades unless the firm keeps renewing it."""

from __future__ import annotations

import numpy as np


def update_image(image, investment, *, decay, effect, scale):
    """Brand image after one month.

    ``i' = i (1 - decay) + effect (1 - exp(-investment / scale)) (1 - i (1 - decay))``:
    decay first, then investment closes a share of the remaining gap with
    diminishing returns. Stays in 0..1.

    Args:
        image: current image, 0..1, any shape (one per firm).
        investment: brand investment per customer-month, currency.
        decay: share of image lost in a month, 0..1.
        effect: most of the gap to a perfect image one month's investment closes, 0..1.
        scale: investment at which 63% of ``effect`` is reached.
    """
    faded = np.asarray(image, dtype=float) * (1.0 - decay)
    renewal = effect * -np.expm1(-np.asarray(investment, dtype=float) / scale)
    return faded + renewal * (1.0 - faded)


def steady_image(investment, *, decay, effect, scale):
    """The image that ``investment`` sustains month after month: the fixed point of ``update_image``.

    ``i* = g / (decay + g (1 - decay))`` with ``g = effect (1 - exp(-investment / scale))``.
    """
    renewal = effect * -np.expm1(-np.asarray(investment, dtype=float) / scale)
    return np.divide(renewal, decay + renewal * (1.0 - decay), out=np.ones_like(renewal), where=decay + renewal > 0)


def holding_investment(image, *, decay, effect, scale):
    """Brand investment per customer-month that holds ``image`` where it stands (inverse of ``steady_image``).

    Infinite when ``image`` is beyond what ``effect`` can sustain.
    """
    image = np.asarray(image, dtype=float)
    needed = decay * image / (1.0 - image * (1.0 - decay))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(needed < effect, -scale * np.log1p(-needed / effect), np.inf)
