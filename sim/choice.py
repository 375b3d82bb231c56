"""Who reconsiders, and what they choose: a multinomial logit.

A customer compares options by utility plus a Gumbel taste shock; the choice
probabilities are then logit (McFadden). Drawing the choice by the inverse of
the cumulative probabilities needs one uniform number per customer, and uses
only elementwise operations and sequential sums along each row, so one
customer alone gets exactly the choice it gets in a population of a million.
"""

from __future__ import annotations

import numpy as np


def reviews(prompted, draw, *, base, prompted_probability):
    """Whether each customer reconsiders this period.

    ``draw < (prompted_probability if prompted else base)``.
    """
    return draw < np.where(prompted, prompted_probability, base)


def choice_probabilities(utility):
    """Logit probabilities over the last axis: ``exp(U_k) / sum_j exp(U_j)``."""
    z = np.exp(utility - utility.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def logit_choice(utility, draw):
    """Draw one option per row with logit probabilities.

    Args:
        utility: shape (customers, options).
        draw: uniform numbers in [0, 1), shape (customers,).

    Returns:
        Index of the chosen option per row: the first ``k`` whose cumulative
        weight exceeds ``draw`` times the total.
    """
    z = np.exp(utility - utility.max(axis=-1, keepdims=True))
    cumulative = np.cumsum(z, axis=-1)
    chosen = (cumulative <= draw[:, None] * cumulative[:, -1:]).sum(axis=-1)
    return np.minimum(chosen, utility.shape[-1] - 1)
