"""Customers as arrays.

A ``Customers`` holds the state of every customer as named NumPy arrays, one
row per customer; option ``F`` (the number of firms) is the outside option,
buying from no one. ``MarketState`` is what customers see of the firms in one
month; ``MonthDraws`` holds every random number of one month, drawn in a
fixed order and shape so that results do not depend on the order in which
customers act.
"""

from __future__ import annotations

from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from dataclasses import field as dataclass_field
from typing import Any, NamedTuple

import numpy as np
from scipy import special

from sim.behaviour import accounting, satisfaction, value
from sim.behaviour.choice import logit_choice
from sim.engine import compiling
from sim.engine.parameters import Scenario

KINDS = ("trait", "state", "last month")
"""What a customer array holds: a trait fixed at the start, state carried from month to month, or what
happened to the customer in the last month (for the books and the metrics)."""


def array(kind: str, meaning: str, unit: str, shape: str = "(customers,)", dtype: str = "float64") -> Any:
    """Declare one customer array: what it holds, its unit and shape, as every parameter declares its source.

    Args:
        kind: one of ``KINDS``.
        meaning: what the array holds, in a sentence.
        unit: its unit or coding (``utils per currency unit``, ``0 true, 1 latent, ...``).
        shape: its shape, in words of the market's sizes (``(customers,)``, ``(F+1, customers)``).
        dtype: the NumPy type it is held in.
    """
    if kind not in KINDS:
        raise ValueError(f"kind = {kind!r}: must be one of {', '.join(KINDS)}")
    return dataclass_field(metadata={"kind": kind, "meaning": meaning, "unit": unit, "shape": shape, "dtype": dtype})


@dataclass
class Customers:
    """State of all customers, one named array per quantity (see each field's ``metadata``).

    Arrays have shape (customers,) unless noted; option ``F`` (the number of
    firms) is the outside option, buying from no one. ``array_table()``
    lists every array with its meaning, unit and shape.
    """

    w_price: np.ndarray = array(
        "trait",
        "Price sensitivity: utility lost per currency unit of price (log-normal across customers).",
        "utils per currency unit",
    )
    w_quality: np.ndarray = array(
        "trait", "Quality sensitivity: utility of service quality going from 0 to 1 (log-normal).", "utils"
    )
    w_image: np.ndarray = array(
        "trait", "Image sensitivity: utility of brand image going from 0 to 1 (log-normal).", "utils"
    )
    effort: np.ndarray = array("trait", "Procedural switching cost paid on leaving any firm (log-normal).", "utils")
    complaint_propensity: np.ndarray = array(
        "trait", "Probability that the customer complains when dissatisfied (Beta).", "probability per month"
    )
    review_propensity: np.ndarray = array(
        "trait",
        "Probability of reconsidering its choice unprompted (Beta around review_probability).",
        "probability per month",
    )
    segment: np.ndarray = array("trait", "Spend segment.", "0 heavy, 1 medium, 2 light", dtype="int8")
    settled: np.ndarray = array(
        "trait",
        "Whether the customer is settled: with a provider, it never reconsiders unprompted (share settled_share).",
        "boolean",
        dtype="bool",
    )
    outside_proneness: np.ndarray = array(
        "trait",
        "Exposure to reasons outside the market for leaving, a multiplier of the firm's defection_hazard "
        "(outside_shared_share plus a Gamma share of the rest, mean 1 in all, the Gamma's coefficient of variation "
        "outside_proneness_cv); drawn afresh when the customer leaves for "
        "such a reason, as the row then stands for a new customer.",
        "multiple of the average exposure",
    )
    firm: np.ndarray = array(
        "state", "The option the customer buys from now.", "firm index 0..F-1, or F for no one", dtype="int16"
    )
    tenure: np.ndarray = array(
        "state", "Months with its current firm (0 when it buys from no one).", "months", dtype="int32"
    )
    expectation: np.ndarray = array(
        "state", "Service quality the customer expects of its current firm.", "quality, 0..1 scale"
    )
    reference_price: np.ndarray = array(
        "state", "The price the customer is used to paying: its reference for a firm's price.", "currency per month"
    )
    trust: np.ndarray = array(
        "state", "Trust in each option; the last row (the outside option) is unused.", "0..1", shape="(F+1, customers)"
    )
    points: np.ndarray = array("state", "Loyalty points held with the current firm, forfeited on leaving.", "currency")
    served_firm: np.ndarray = array(
        "last month",
        "The option that served the customer in the last month.",
        "firm index, or F for no one",
        dtype="int16",
    )
    served_tenure: np.ndarray = array(
        "last month", "Tenure with that firm when it was served.", "months", dtype="int32"
    )
    volume: np.ndarray = array(
        "last month",
        "Units bought: segment spend times growth with tenure (0 when not served).",
        "multiples of the base spend",
    )
    satisfaction: np.ndarray = array(
        "last month", "Satisfaction with the service (NaN when not served).", "0..1 (5-point level = 1 + 4 s)"
    )
    failed: np.ndarray = array("last month", "Whether a service failure hit the customer.", "boolean", dtype="bool")
    left_outside: np.ndarray = array(
        "last month",
        "Whether it left its firm for reasons outside the market (its exposure is then drawn afresh).",
        "boolean",
        dtype="bool",
    )
    complained: np.ndarray = array("last month", "Whether it complained.", "boolean", dtype="bool")
    recovered: np.ndarray = array("last month", "Whether its complaint was resolved.", "boolean", dtype="bool")
    said: np.ndarray = array(
        "last month",
        "What it told its contacts about its firm, heard the next month.",
        "+1 recommended, -1 warned, 0 silent",
        dtype="int8",
    )
    exit_fee_paid: np.ndarray = array("last month", "Exit fee paid on leaving its firm.", "currency")
    referred: np.ndarray = array(
        "last month", "Whether it joined a firm after hearing that firm recommended.", "boolean", dtype="bool"
    )
    by_referral: np.ndarray = array(
        "state", "Whether it joined its current firm on a recommendation.", "boolean", dtype="bool"
    )
    served_by_referral: np.ndarray = array(
        "last month", "Whether the firm that served it had won it on a recommendation.", "boolean", dtype="bool"
    )
    preferred: np.ndarray = array(
        "state",
        "The other firm the customer is latently loyal to (Dick & Basu) at the end of the last month: its favourite "
        "if every switching cost were gone, when that is not the firm it buys from and its attitude to that one is "
        "not high.",
        "firm index 0..F-1, or -1 for none",
        dtype="int16",
    )
    loyalty: np.ndarray = array(
        "state",
        "Dick & Basu segment towards its current firm at the end of the last month, kept so that the next "
        "month's losses can be told apart by the segment they left from.",
        "0 true, 1 latent, 2 spurious, 3 none, -1 not served",
        dtype="int8",
    )

    @classmethod
    def array_table(cls) -> list[dict[str, str]]:
        """Every array with its kind, meaning, unit, shape and type: the rows of the documentation."""
        return [{"array": f.name, **f.metadata} for f in fields(cls)]

    def __len__(self) -> int:
        return self.firm.shape[0]

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays, in bytes."""
        return sum(getattr(self, f.name).nbytes for f in fields(self))

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The arrays as a named tuple (``customers.arrays().tenure``), which compiled code can take."""
        return CustomerArrays(*(getattr(self, f.name) for f in fields(self)))


CustomerArrays = namedtuple("CustomerArrays", [f.name for f in fields(Customers)])
"""The arrays of ``Customers`` as a named tuple, in the same order."""


class MarketState(NamedTuple):
    """What customers see of the market in one month: arrays of shape (F+1,), index ``F`` the outside option.

    The outside option has zero price and quality and no levers; every
    price, cost, perk and probability is per month. ``quality_norm`` is the quality the
    market delivers on average (the open firms' delivered quality weighted
    by their customers), which new customers' expectations lean on.
    ``price_rose`` flags a firm whose price rose since the last month and
    ``fee_fell`` one whose exit fee fell: news that may prompt its customers
    to reconsider.
    """

    n_firms: int
    price: np.ndarray
    quality: np.ndarray
    delivered_quality: np.ndarray
    quality_norm: float
    failure_rate: np.ndarray
    failure_severity: np.ndarray
    image: np.ndarray
    recovery_rate: np.ndarray
    exit_fee: np.ndarray
    contract_months: np.ndarray
    points_rate: np.ndarray
    points_cap: np.ndarray
    silver_after: np.ndarray
    gold_after: np.ndarray
    silver_perk: np.ndarray
    gold_perk: np.ndarray
    relational_bond: np.ndarray
    welcome_offer: np.ndarray
    defection_hazard: np.ndarray
    save_rate: np.ndarray
    unit_cost: np.ndarray
    serving_cost: np.ndarray
    care_spend: np.ndarray
    brand_investment: np.ndarray
    recovery_cost: np.ndarray
    acquisition_spend: np.ndarray
    price_rose: np.ndarray
    fee_fell: np.ndarray
    open: np.ndarray


class MonthDraws(NamedTuple):
    """Every random number customers use in one month, one per customer each."""

    service_noise: np.ndarray
    failure: np.ndarray
    complaint: np.ndarray
    recovery: np.ndarray
    talk: np.ndarray
    hazard: np.ndarray
    review: np.ndarray
    choice: np.ndarray
    save: np.ndarray


def draw_month(
    rng: np.random.Generator, customers: int, into: tuple[np.ndarray, np.ndarray] | None = None
) -> MonthDraws:
    """Draw one month's random numbers, always in the same order and shape.

    ``into`` is where to draw them instead of into new arrays: an array of
    shape (customers,) for the service noise and one of (8, customers) for
    the uniform numbers (a model draws every month into the same two, which
    spares the memory system a fresh allocation a month).
    """
    noise, uniform = (np.empty(customers), np.empty((8, customers))) if into is None else into
    rng.standard_normal(out=noise)
    failure, complaint, recovery, talk, hazard, review, choice, save = uniform_numbers(rng, uniform)
    return MonthDraws(noise, failure, complaint, recovery, talk, hazard, review, choice, save)


def uniform_numbers(rng: np.random.Generator, out: np.ndarray) -> np.ndarray:
    """``rng.random(out=out)``: the same numbers, and ``rng`` left where that leaves it, on several threads if large.

    For a market large enough to be cut into blocks (``compiling.blocks``)
    and the default generator (PCG64, whose every uniform number takes one
    step of its stream), each thread fills its share of ``out`` (C-ordered,
    of shape (rows, customers)) from a copy of the generator moved on to the
    share's first number. Returns ``out``.
    """
    if compiling.blocks(out.shape[-1]) is None or type(rng.bit_generator) is not np.random.PCG64:
        return rng.random(out=out)
    if not out.flags.c_contiguous:
        raise ValueError("uniform numbers are drawn into a C-ordered array")
    threads = compiling.threads()
    flat = out.reshape(-1)
    state = rng.bit_generator.state
    cuts = np.linspace(0, flat.size, threads + 1).astype(np.int64)

    def fill(start: int, stop: int) -> None:
        bits = np.random.PCG64()
        bits.state = state
        bits.advance(int(start))
        np.random.Generator(bits).random(out=flat[start:stop])

    list(_pool(threads).map(fill, cuts[:-1], cuts[1:]))
    rng.bit_generator.advance(int(flat.size))
    moved = rng.bit_generator.state
    moved["has_uint32"], moved["uinteger"] = state["has_uint32"], state["uinteger"]  # untouched by uniform numbers
    rng.bit_generator.state = moved
    return out


_pools: dict[int, ThreadPoolExecutor] = {}


def _pool(threads: int) -> ThreadPoolExecutor:
    if threads not in _pools:
        _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="loyalty-draws")
    return _pools[threads]


def lognormal(rng: np.random.Generator, mean: float, cv: float, size: int) -> np.ndarray:
    """Log-normal draws with the given mean and coefficient of variation."""
    if mean == 0:
        return np.zeros(size)
    sigma2 = np.log1p(cv**2)
    return rng.lognormal(np.log(mean) - sigma2 / 2, np.sqrt(sigma2), size)


def create_customers(
    scenario: Scenario, market: MarketState, rng: np.random.Generator, traits: np.random.Generator | None = None
) -> Customers:
    """Draw a population for ``scenario`` and place it in the market.

    ``traits`` draws the settled customers and their exposure to outside
    reasons for leaving (default: ``rng``). Given their own generator, these
    draws leave every other draw of the run as it was, and each is the
    quantile of one uniform number per customer: a larger ``settled_share``
    settles the same customers and more, and a larger
    ``outside_proneness_cv`` spreads the same ranking wider, so that
    neighbouring values of either give neighbouring runs (common random
    numbers for the calibration's search).

    Each customer starts with the firm (or outside option) it picks by the
    logit choice with no barriers; those with a firm get a geometric tenure of
    mean ``initial_tenure`` months, trust in their firm that has grown with
    that tenure, points earned over it, an expectation formed from the firm's
    promise and the market's norm, and its firm's price as reference. The
    model's burn-in then lets this guess settle (``Market.burn_in_months``).
    """
    p = scenario.population
    n = scenario.market.customers
    n_firms = market.n_firms
    options = n_firms + 1

    w_price = lognormal(rng, p.price_sensitivity, p.price_sensitivity_cv, n)
    w_quality = lognormal(rng, p.quality_sensitivity, p.quality_sensitivity_cv, n)
    w_image = lognormal(rng, p.image_sensitivity, p.image_sensitivity_cv, n)
    effort = lognormal(rng, p.switching_effort, p.switching_effort_cv, n)
    propensity = _beta_around(rng, p.complaint_propensity, p.complaint_concentration, n)
    segment = rng.choice(3, size=n, p=np.asarray(p.segment_shares)).astype(np.int8)

    utility = (
        value.delivered_value(
            market.quality[:, None],
            market.price[:, None],
            market.image[:, None],
            w_quality=w_quality,
            w_price=w_price,
            w_image=w_image,
        )
        + p.trust_weight * p.trust_prior
    )
    utility[n_firms] = scenario.market.outside_value
    utility[~market.open] = -np.inf
    firm = logit_choice(utility, rng.random(n)).astype(np.int16)
    served = firm < n_firms

    success = 1.0 / (1.0 + p.initial_tenure)
    tenure = np.where(served, rng.geometric(success, n) - 1, 0).astype(np.int32)
    promised = satisfaction.formed_expectation(
        market.delivered_quality[firm], market.quality_norm, promise_weight=p.promise_weight
    )
    expectation = promised + p.expectation_sd * rng.standard_normal(n)

    trust = np.full((options, n), p.trust_prior)
    trust[n_firms] = 0.0
    rows = np.arange(n)
    grown = p.trust_prior + (0.9 - p.trust_prior) * -np.expm1(-tenure / 24.0)
    trust[firm, rows] = np.where(served, grown, 0.0)

    volume = volume_bought(scenario, segment, tenure)
    bill = market.price[firm] * volume
    points = np.where(served, np.minimum(market.points_cap[firm], market.points_rate[firm] * bill * tenure), 0.0)
    open_prices = market.price[:n_firms][market.open[:n_firms]]
    usual = float(open_prices.mean()) if open_prices.size else 0.0

    traits = rng if traits is None else traits
    settled_draw, proneness_draw = traits.random((2, n))
    settled = settled_draw < p.settled_share
    proneness = outside_exposure(proneness_draw, p.outside_proneness_cv, p.outside_shared_share)

    return Customers(
        w_price=w_price,
        w_quality=w_quality,
        w_image=w_image,
        effort=effort,
        complaint_propensity=propensity,
        segment=segment,
        review_propensity=_beta_around(
            rng, p.review_probability, p.review_concentration, n
        ),  # drawn last: earlier draws keep their streams
        settled=settled,
        outside_proneness=proneness,
        firm=firm,
        tenure=tenure,
        expectation=expectation,
        reference_price=np.where(served, market.price[firm], usual),
        trust=trust,
        points=points,
        served_firm=np.full(n, n_firms, dtype=np.int16),
        served_tenure=np.zeros(n, dtype=np.int32),
        volume=np.zeros(n),
        satisfaction=np.full(n, np.nan),
        failed=np.zeros(n, dtype=bool),
        left_outside=np.zeros(n, dtype=bool),
        complained=np.zeros(n, dtype=bool),
        recovered=np.zeros(n, dtype=bool),
        said=np.zeros(n, dtype=np.int8),
        exit_fee_paid=np.zeros(n),
        referred=np.zeros(n, dtype=bool),
        by_referral=np.zeros(n, dtype=bool),
        served_by_referral=np.zeros(n, dtype=bool),
        preferred=np.full(n, -1, dtype=np.int16),
        loyalty=np.full(n, -1, dtype=np.int8),
    )


def gamma_mean_one(uniform: np.ndarray, cv: float) -> np.ndarray:
    """Gamma-distributed multipliers with mean 1 and coefficient of variation ``cv``, as quantiles of ``uniform``.

    All 1 when ``cv`` is 0. The shape is ``1 / cv**2``.
    """
    if cv == 0:
        return np.ones_like(uniform)
    shape = 1.0 / cv**2
    return special.gammaincinv(shape, uniform) / shape


def outside_exposure(uniform: np.ndarray, cv: float, shared: float) -> np.ndarray:
    """Each customer's exposure to outside reasons for leaving, mean 1, as quantiles of ``uniform``.

    A share ``shared`` of the mean is common to all; the rest is spread by a
    Gamma with coefficient of variation ``cv`` (``gamma_mean_one``). The
    lowest exposure is ``shared``: however long a cohort has sorted out its
    prone members, its survivors still leave at that share of the hazard.
    """
    if shared == 1:
        return np.ones_like(uniform)
    return shared + (1.0 - shared) * gamma_mean_one(uniform, cv)  # exactly the Gamma's when shared is 0


def _beta_around(rng: np.random.Generator, mean: float, concentration: float, size: int) -> np.ndarray:
    """Probabilities Beta-distributed with ``mean`` and ``concentration`` (a + b).

    All equal to ``mean`` when the mean is 0 or 1 or the concentration 0.
    """
    if 0 < mean < 1 and concentration > 0:
        return rng.beta(mean * concentration, (1 - mean) * concentration, size)
    return np.full(size, mean)


def volume_bought(scenario: Scenario, segment: np.ndarray, tenure: np.ndarray) -> np.ndarray:
    """Units bought per month, in multiples of the base spend: segment spend times growth with tenure (in months)."""
    spend = np.asarray(scenario.population.segment_spend)[segment]
    m = scenario.market
    return spend * accounting.spend_multiplier(tenure, growth=m.spend_growth, months=m.spend_growth_months)
