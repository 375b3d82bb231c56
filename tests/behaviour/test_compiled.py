"""Each equation gives the same numbers on an array of customers as in compiled code, one customer at a time."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from sim.behaviour import (
    accounting,
    chances,
    choice,
    complaints,
    prices,
    satisfaction,
    segments,
    trust,
    value,
    word_of_mouth,
)

N = 2_000
rng = np.random.default_rng(17)


def uniform(low=0.0, high=1.0):
    return rng.uniform(low, high, N)


def months(high=60):
    return rng.integers(0, high, N)


def flags(share=0.5):
    return rng.random(N) < share


CASES = [
    (value.delivered_value, lambda: (uniform(), uniform(0, 40), uniform(), uniform(0, 4), uniform(0, 0.2), uniform())),
    (
        value.exit_barrier,
        lambda: (uniform(0, 0.2), uniform(0, 50), uniform(0, 20), uniform(0, 5), uniform(), uniform()),
    ),
    (value.fee_applies, lambda: (months(), rng.integers(0, 13, N))),
    (value.relational_bond, lambda: (months(), uniform(0, 2), uniform(1, 24))),
    (value.tier, lambda: (months(), np.full(N, 12.0), np.full(N, 24.0))),
    (value.tier_perk, lambda: (months(), np.full(N, 12.0), np.full(N, 24.0), uniform(0, 2), uniform(2, 4))),
    (choice.outside_exit_probability, lambda: (uniform(0, 0.05), np.where(flags(0.2), 1.0, uniform(0, 5)))),
    (
        choice.outside_exit_given,
        lambda: (h := uniform(0, 0.05), np.log1p(-h), np.where(flags(0.2), 1.0, uniform(0, 5))),
    ),
    (chances.none_of, lambda: (uniform(), rng.integers(0, 40, N))),
    (choice.review_probability_given, lambda: (uniform(0, 0.2), uniform(), uniform(0, 0.5))),
    (choice.review_probability, lambda: (rng.integers(0, 6, N), uniform(0, 0.2), uniform(), uniform(0, 0.5))),
    (complaints.complains, lambda: (flags(), uniform(), uniform())),
    (complaints.is_recovered, lambda: (flags(), uniform(), uniform())),
    (prices.adapt_reference, lambda: (uniform(10, 40), uniform(10, 40), uniform())),
    (prices.price_feeling, lambda: (uniform(10, 40), uniform(10, 40), uniform(1, 3))),
    (
        prices.unfair_price_loss,
        lambda: (np.where(flags(0.1), 0.0, uniform(10, 40)), uniform(10, 40), flags(), uniform(0, 0.1), uniform(0, 5)),
    ),
    (satisfaction.experienced_quality, lambda: (uniform(), uniform(-0.2, 0.2), flags(), uniform(0, 0.5))),
    (
        satisfaction.satisfaction,
        lambda: (
            uniform(-0.5, 1.5),
            uniform(),
            uniform(-1, 1),
            uniform(0, 5),
            uniform(),
            uniform(0, 9),
            uniform(1, 3),
            uniform(0, 0.1),
        ),
    ),
    (satisfaction.formed_expectation, lambda: (uniform(), uniform(), uniform())),
    (satisfaction.adapt_expectation, lambda: (uniform(), uniform(), uniform())),
    (segments.loyalty_segment, lambda: (flags(), months(), np.full(N, 12.0))),
    (trust.build_trust, lambda: (uniform(), uniform())),
    (trust.erode_trust, lambda: (uniform(), uniform())),
    (trust.forget, lambda: (uniform(), uniform(), uniform())),
    (
        trust.trust_after_service,
        lambda: (uniform(), flags(), flags(0.1), flags(0.1), uniform(), uniform(), uniform(), uniform()),
    ),
    (trust.hear_word_of_mouth, lambda: (uniform(), rng.integers(0, 4, N), rng.integers(0, 4, N), uniform(), uniform())),
    (trust.heard_with, lambda: (uniform(), uniform(), uniform())),
    (
        word_of_mouth.what_customers_say,
        lambda: (uniform(), flags(0.8), uniform(), np.full(N, 0.8), np.full(N, 0.4), uniform(), uniform()),
    ),
    (accounting.spend_multiplier, lambda: (months(), uniform(0, 1), uniform(1, 36))),
    (accounting.serving_cost_multiplier, lambda: (months(), uniform(0, 1), uniform(1, 36))),
]


def one_at_a_time(function, arity):
    """A compiled loop that calls ``function`` on each customer's scalars in turn."""
    if arity == 2:

        def loop(a, b, out):
            for i in range(out.shape[0]):
                out[i] = function(a[i], b[i])
    elif arity == 3:

        def loop(a, b, c, out):
            for i in range(out.shape[0]):
                out[i] = function(a[i], b[i], c[i])
    elif arity == 4:

        def loop(a, b, c, d, out):
            for i in range(out.shape[0]):
                out[i] = function(a[i], b[i], c[i], d[i])
    elif arity == 5:

        def loop(a, b, c, d, e, out):
            for i in range(out.shape[0]):
                out[i] = function(a[i], b[i], c[i], d[i], e[i])
    elif arity == 6:

        def loop(a, b, c, d, e, f, out):
            for i in range(out.shape[0]):
                out[i] = function(a[i], b[i], c[i], d[i], e[i], f[i])
    elif arity == 7:

        def loop(a, b, c, d, e, f, g, out):
            for i in range(out.shape[0]):
                out[i] = function(a[i], b[i], c[i], d[i], e[i], f[i], g[i])
    else:

        def loop(a, b, c, d, e, f, g, h, out):
            for i in range(out.shape[0]):
                out[i] = function(a[i], b[i], c[i], d[i], e[i], f[i], g[i], h[i])

    return numba.njit(loop)


@pytest.mark.parametrize("function, make", CASES, ids=[f.__name__ for f, _ in CASES])
def test_an_equation_gives_the_same_numbers_compiled_one_customer_at_a_time(function, make):
    args = make()
    on_arrays = np.asarray(function(*args), dtype=float)
    compiled = np.empty(N)
    one_at_a_time(function, len(args))(*args, compiled)
    np.testing.assert_allclose(compiled, on_arrays, rtol=1e-14, atol=0)
    assert np.isfinite(on_arrays).all()


def test_the_settled_ignore_the_same_compiled():
    settled, habit, heard = flags(), uniform(), rng.integers(0, 4, N)

    @numba.njit
    def loop(settled, habit, heard, out_habit, out_heard):
        for i in range(settled.shape[0]):
            out_habit[i], out_heard[i] = choice.what_the_settled_ignore(settled[i], habit[i], heard[i])

    out_habit, out_heard = np.empty(N), np.empty(N, dtype=np.int64)
    loop(settled, habit, heard, out_habit, out_heard)
    expected_habit, expected_heard = choice.what_the_settled_ignore(settled, habit, heard)
    np.testing.assert_array_equal(out_habit, expected_habit)
    np.testing.assert_array_equal(out_heard, expected_heard)


def test_every_equation_the_month_calls_is_checked_here():
    from sim.outputs.odd import month_steps

    called = {f for step in month_steps() for f in step.calls if f.__module__.startswith("sim.behaviour")}
    checked = {f for f, _ in CASES} | {choice.what_the_settled_ignore, choice.logit_pick}
    assert called <= checked, sorted(f.__name__ for f in called - checked)
