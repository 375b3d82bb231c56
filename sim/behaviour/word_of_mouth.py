"""Word of mouth over a contact network.

Every customer has a fixed list of contacts, closest first. A totally
satisfied customer may recommend its firm to its first ``reach_satisfied``
contacts; a dissatisfied one may warn its first ``reach_dissatisfied``
contacts, so warnings travel further than praise (a dissatisfied customer
sways about 25 people, a satisfied one reaches about 8 potential buyers).
What a customer says in one period is heard in the next.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.behaviour.compiled import jitable, select


def contact_network(rng: np.random.Generator, customers: int, contacts: int) -> np.ndarray:
    """Random contact lists, shape (customers, contacts), int32, no self-contacts.

    Each customer's contacts are drawn uniformly from the others (with
    replacement, so a rare duplicate is a closer tie). An empty market or one
    customer gets no contacts.
    """
    if customers < 2 or contacts == 0:
        return np.zeros((customers, 0), dtype=np.int32)
    drawn = rng.integers(1, customers, size=(customers, contacts), dtype=np.int64)  # offsets from the customer
    drawn += np.arange(customers, dtype=np.int64)[:, None]  # in place: a million customers' lists are large
    np.remainder(drawn, customers, out=drawn)
    return drawn.astype(np.int32)


@jitable
def what_customers_say(satisfaction, served, draw, very_satisfied, dissatisfied, talk_satisfied, talk_dissatisfied):
    """What each customer says about its firm: +1 recommends, -1 warns, 0 silent.

    A served customer with satisfaction >= ``very_satisfied`` recommends with
    probability ``talk_satisfied``; one below ``dissatisfied`` warns with
    probability ``talk_dissatisfied``.
    """
    recommends = served & (satisfaction >= very_satisfied) & (draw < talk_satisfied)
    warns = served & (satisfaction < dissatisfied) & (draw < talk_dissatisfied)
    return select(recommends, np.int8(1), select(warns, np.int8(-1), np.int8(0)))


def deliver(contacts, said, about, *, options, reach_satisfied, reach_dissatisfied, into=None):
    """Count the messages each customer hears about each option.

    Args:
        contacts: contact lists, shape (customers, k), closest first.
        said: +1 / -1 / 0 per customer (see ``what_customers_say``).
        about: the option each customer spoke about, shape (customers,).
        options: number of options (firms plus the outside option).
        reach_satisfied: how many contacts a recommendation reaches (capped at ``k``).
        reach_dissatisfied: how many contacts a warning reaches (capped at ``k``).
        into: two int32 arrays of shape (options, customers) to count into
            (their contents are replaced), instead of new ones.

    Returns:
        ``(recommendations, warnings)``: integer arrays (int32) of shape
        (options, customers).
    """
    customers, reach = contacts.shape
    if into is None:
        into = (np.empty((options, customers), dtype=np.int32), np.empty((options, customers), dtype=np.int32))
    recommendations, warnings = into
    # The compiled count checks the options and contacts it meets; the arrays' shapes are checked here.
    for counts in into:
        if counts.shape != (options, customers) or counts.dtype != np.int32 or not counts.flags.c_contiguous:
            raise ValueError(f"word of mouth is counted into C-ordered int32 arrays of shape {(options, customers)}")
    if len(said) != customers or len(about) != customers:
        raise ValueError(f"said and about need one entry per customer ({customers})")
    satisfied, dissatisfied = max(min(reach_satisfied, reach), 0), max(min(reach_dissatisfied, reach), 0)
    _heard(contacts, said, about, satisfied, dissatisfied, recommendations, warnings)
    return recommendations, warnings


@njit(cache=True, nogil=True)
def _heard(contacts, said, about, reach_satisfied, reach_dissatisfied, recommendations, warnings):
    """``deliver``'s counts, in one pass over the speakers: each message adds one to its listener's count."""
    customers = contacts.shape[0]
    options = recommendations.shape[0]
    recommendations[:] = 0
    warnings[:] = 0
    for speaker in range(customers):
        if said[speaker] == 0:
            continue
        topic = about[speaker]
        if topic < 0 or topic >= options:
            raise ValueError("a customer spoke about an option outside 0 to options - 1")
        counts, reach = (recommendations, reach_satisfied) if said[speaker] > 0 else (warnings, reach_dissatisfied)
        for j in range(reach):
            listener = contacts[speaker, j]
            if listener < 0 or listener >= customers:
                raise ValueError("a contact list names a customer outside the market")
            counts[topic, listener] += 1
