"""Who reconsiders, and what they choose: a multinomial logit.

A customer compares options by utility plus a Gumbel taste shock; the choice
probabilities are then logit (McFadden). Drawing the choice by the inverse of
the cumulative probabilities needs one uniform number per customer, and uses
only elementwise operations, maxima and running sums over options, so one
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
    """Logit probabilities over the options, axis 0: ``exp(U_k) / sum_j exp(U_j)``.

    Args:
        utility: shape (options,) or (options, customers).
    """
    z = np.exp(utility - utility.max(axis=0))
    return z / z.sum(axis=0)


def probability_of(utility, option):
    """Logit probability that each customer picks ``option`` (one index per customer).

    Args:
        utility: shape (options, customers).
        option: shape (customers,), integer indices.
    """
    # 1 / sum_k exp(U_k - U_option): one pass shorter than normalising every
    # option, and an overflow to inf correctly gives probability 0.
    with np.errstate(over="ignore"):
        return 1.0 / np.exp(utility - utility[option, np.arange(utility.shape[1])]).sum(axis=0)


def would_choose_again(utility, option, threshold):
    """Whether each customer picks its ``option`` with logit probability >= ``threshold``.

    The same answer as ``probability_of(utility, option) >= threshold``,
    computed with exponentials only where it is close: with ``d_k`` the
    utility of each other option relative to ``option`` and ``R`` the odds
    ``(1 - threshold) / threshold``, the test is ``sum_k exp(d_k) <= R``. It
    fails whenever the best rival alone has ``d > log R``, and passes whenever
    ``n_others * exp(max d) <= R``.

    Args:
        utility: shape (options, customers).
        option: shape (customers,), integer indices.
        threshold: probability in (0, 1]; 0 passes everyone.
    """
    if threshold <= 0:
        return np.ones(utility.shape[1], dtype=bool)
    customers = np.arange(utility.shape[1])
    relative = utility - utility[option, customers]
    relative[option, customers] = -np.inf
    best_rival = relative.max(axis=0, initial=-np.inf)
    log_odds = np.log1p(-threshold) - np.log(threshold) if threshold < 1 else -np.inf
    others = utility.shape[0] - 1
    passes = best_rival + np.log(max(others, 1)) <= log_odds
    close = np.flatnonzero(~passes & (best_rival <= log_odds))
    if close.size:
        with np.errstate(over="ignore"):
            passes[close] = np.exp(relative[:, close]).sum(axis=0) <= np.exp(log_odds)
    return passes


def logit_choice(utility, draw):
    """Draw one option per row with logit probabilities.

    Args:
        utility: shape (options, customers): options first.
        draw: uniform numbers in [0, 1), shape (customers,).

    Returns:
        Index of the chosen option per customer: the first ``k`` whose
        cumulative weight exceeds ``draw`` times the total.
    """
    z = np.exp(utility - utility.max(axis=0))
    cumulative = np.cumsum(z, axis=0)
    chosen = (cumulative <= draw * cumulative[-1]).sum(axis=0)
    return np.minimum(chosen, utility.shape[0] - 1)
