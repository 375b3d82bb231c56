"""Who reconsiders, and what they choose: a multinomial logit.

A customer compares options by utility plus a Gumbel taste shock; the choice
probabilities are then logit (McFadden). Drawing the choice by the inverse of
the cumulative probabilities needs one uniform number per customer, and uses
only elementwise operations, maxima and running sums over options, so one
customer alone gets exactly the choice it gets in a population of a million.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.behaviour.chances import none_of
from sim.behaviour.compiled import jitable, select


@jitable
def review_probability(prompts, base, prompted_probability, unfairness=0.0):
    """Probability that each customer reconsiders this month: ``1 - (1 - base) (1 - q)^prompts (1 - unfairness)``.

    The customer's own habit of reconsidering (``base``, per month), each
    thing that prompted it this month (a dissatisfying experience, an
    unresolved complaint, a warning heard about its firm, a rival heard
    recommended, a fall in the exit fee), each taken with probability ``q``,
    and a price rise that feels unfair, with a chance that grows with its
    unfairness (Xia, Monroe & Cox 2004: the more unfair a price feels, the
    likelier the customer searches and switches), are independent chances to
    reconsider. Counting prompts, rather than asking whether there was one,
    lets each piece of news count.

    Args:
        prompts: number of prompts each customer had this month, whole numbers >= 0.
        base: each customer's probability of reconsidering unprompted, per month.
        prompted_probability: probability that one prompt makes it reconsider.
        unfairness: chance, 0..1, that an unfair price rise alone makes it reconsider.
    """
    return review_probability_given(base, none_of(prompted_probability, prompts), unfairness)


@jitable
def review_probability_given(base, unprompted, unfairness):
    """``review_probability`` from the chance that no prompt made the customer reconsider (``unprompted``).

    ``unprompted`` is ``(1 - q)^prompts`` (``chances.none_of``), which takes
    only a few values in a month: the engine takes each once.
    """
    return 1.0 - (1.0 - base) * unprompted * (1.0 - unfairness)


@jitable
@np.errstate(divide="ignore")
def outside_exit_probability(hazard, proneness):
    """Probability per month that each customer leaves for reasons outside the market: ``1 - (1 - h)^m``.

    ``hazard`` (``h``) is the firm's rate for a customer of average
    exposure; ``proneness`` (``m``, mean 1 across customers) is how exposed
    this customer is to such reasons (moving, closing down, dying). A
    customer twice as prone faces the hazard of two average customers. Left
    out, or with every ``m = 1``, every customer faces ``h`` itself. The rate
    of a customer never changes, yet a cohort's rate of leaving for outside
    reasons falls with tenure, as the prone leave first (sorting, as in
    Fader & Hardie 2007). The month's code gives whoever leaves so a fresh
    exposure: its row then stands for a new customer.

    Args:
        hazard: the firm's monthly outside hazard for each customer, 0..1.
        proneness: each customer's exposure, >= 0 (1: average).
    """
    return outside_exit_given(hazard, np.log1p(-hazard), proneness)


@jitable
def outside_exit_given(hazard, log_stay, proneness):
    """``outside_exit_probability`` from the log of the firm's chance of staying, ``log_stay = log(1 - h)``.

    ``log_stay`` depends on the firm alone, so the engine takes it once a month per firm.
    """
    return select(proneness == 1.0, hazard, -np.expm1(proneness * log_stay))


@jitable
def what_the_settled_ignore(settled, habit, rivals_recommended):
    """A customer's unprompted habit and the rivals it heard recommended, as they move it this month.

    A settled customer (one of the share who do not shop around while they
    have a provider: a stayer-like inert segment, after the mover-stayer
    models of brand switching, Colombo & Morrison 1989) ignores both: it
    never reconsiders unprompted, however recommended a rival, and looks
    around only when its own firm gives it reason (a bad experience, an
    unresolved complaint, a warning about it, an unfair price rise, a fall in
    its exit fee). Every other customer keeps both as they are.

    Args:
        settled: whether each customer is settled and has a provider now.
        habit: each customer's unprompted review probability this month.
        rivals_recommended: recommendations of other firms each customer heard this month.

    Returns:
        ``(habit, rivals_recommended)``, zero for the settled.
    """
    return select(settled, 0.0, habit), select(settled, 0, rivals_recommended)


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


@jitable
def chooses_again(utility, option, threshold):
    """Whether one customer picks its ``option`` with logit probability >= ``threshold``.

    The same answer as ``probability_of(utility, option) >= threshold``,
    computed with exponentials only where it is close: with ``d_k`` the
    utility of each other option relative to ``option`` and ``R`` the odds
    ``(1 - threshold) / threshold``, the test is ``sum_k exp(d_k) <= R``. It
    fails whenever the best rival alone has ``d > log R``, and passes whenever
    ``n_others * exp(max d) <= R``.

    Args:
        utility: the customer's utility of each option, shape (options,).
        option: the index of the option asked about.
        threshold: probability in (0, 1]; 0 passes everyone.
    """
    return chooses_again_within(utility, option, choice_bounds(threshold, utility.shape[0]))


@jitable
def choice_bounds(threshold, options):
    """What ``chooses_again`` makes of its threshold among ``options`` options, the same for every customer.

    ``(bound, log_others, odds)``: the log odds ``log((1 - threshold) /
    threshold)`` (``inf`` at a threshold of 0 or less, ``-inf`` at 1 or
    more), the log of the number of other options, and the odds themselves.
    """
    if threshold <= 0:
        bound = np.inf
    elif threshold < 1:
        bound = np.log1p(-threshold) - np.log(threshold)
    else:
        bound = -np.inf
    return bound, np.log(max(options - 1, 1)), np.exp(bound)


@jitable
def chooses_again_within(utility, option, bounds):
    """``chooses_again`` given its ``choice_bounds``, which the engine takes once a month.

    The sum of exponentials stops as soon as it exceeds the odds: its terms
    are never negative, so it could not come back under them.
    """
    bound, log_others, odds = bounds
    if bound == np.inf:
        return True
    own = utility[option]
    best_rival = -np.inf
    for k in range(utility.shape[0]):
        if k != option:
            relative = utility[k] - own
            if np.isnan(relative):
                return False  # an option of unknown worth: not chosen with any confidence
            best_rival = max(best_rival, relative)
    if best_rival + log_others <= bound:
        return True
    if best_rival > bound:
        return False
    total = 0.0
    for k in range(utility.shape[0]):
        if k != option:
            total += np.exp(utility[k] - own)
            if total > odds:
                return False
    return True


@jitable
def logit_pick(utility, draw):
    """One customer's option drawn with logit probabilities from one uniform number.

    The inverse of the cumulative probabilities: the number of options whose
    cumulative weight ``sum_{j<=k} exp(U_j - max U)`` is at most ``draw``
    times the total, which is the first ``k`` whose cumulative weight exceeds
    it (the last option, should rounding leave none).

    Args:
        utility: the customer's utility of each option, shape (options,); ``-inf`` for an option it cannot take.
        draw: a uniform number in [0, 1).
    """
    options = utility.shape[0]
    top = utility[0]
    for k in range(1, options):
        top = max(top, utility[k])
    total = 0.0
    for k in range(options):
        total += np.exp(utility[k] - top)
    bound = draw * total
    cumulative = 0.0
    chosen = 0
    for k in range(options):
        cumulative += np.exp(utility[k] - top)
        if not cumulative <= bound:
            break  # the running sum never falls, so no later option counts either
        chosen += 1
    return min(chosen, options - 1)


@njit(cache=True)
def would_choose_again(utility, option, threshold):
    """``chooses_again`` for every customer: whether each picks its ``option`` with probability >= ``threshold``.

    Args:
        utility: shape (options, customers).
        option: shape (customers,), integer indices.
        threshold: probability in (0, 1]; 0 passes everyone.
    """
    passes = np.empty(utility.shape[1], dtype=np.bool_)
    for j in range(utility.shape[1]):
        passes[j] = chooses_again(utility[:, j], option[j], threshold)
    return passes


@njit(cache=True)
def logit_choice(utility, draw):
    """``logit_pick`` for every customer: one option each, drawn with logit probabilities.

    Args:
        utility: shape (options, customers): options first.
        draw: uniform numbers in [0, 1), shape (customers,).

    Returns:
        Index of the chosen option per customer.
    """
    chosen = np.empty(utility.shape[1], dtype=np.int64)
    for j in range(utility.shape[1]):
        chosen[j] = logit_pick(utility[:, j], draw[j])
    return chosen
