"""Brand image: it fades unless the firm keeps renewing it."""

from __future__ import annotations

import numpy as np


def update_image(image, investment, *, decay, effect, scale):
    """Brand image after one period.

    ``i' = i (1 - decay) + effect (1 - exp(-investment / scale)) (1 - i (1 - decay))``:
    decay first, then investment closes a share of the remaining gap with
    diminishing returns. Stays in 0..1.

    Args:
        image: current image, 0..1, any shape (one per firm).
        investment: brand investment per customer-period, currency.
        decay: share of image lost in a period, 0..1.
        effect: most of the gap to a perfect image one period's investment closes, 0..1.
        scale: investment at which 63% of ``effect`` is reached.
    """
    faded = np.asarray(image, dtype=float) * (1.0 - decay)
    renewal = effect * -np.expm1(-np.asarray(investment, dtype=float) / scale)
    return faded + renewal * (1.0 - faded)
