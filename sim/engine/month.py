"""One month in the life of customers: service, satisfaction, complaints, trust, word of mouth, choice.

Customers live month by month, whatever the length of the model's period
(``Market.period_months``): a period of three months is three of these
months, and every rate of the parameters is a monthly one.
``month_rows`` is the month of a range of customers, one after another,
step by step, calling the equations of ``sim.behaviour``; it is compiled,
with the equations it calls, into one pass (``live_rows``). The vectorised
path passes every customer (``Month.live``); ``Customer.step`` passes its
own row, handing the compiled code the month's arrays by address
(``one_row``). Both run the same compiled code on the same arrays with the
same draws, so they give identical results.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from sim.behaviour import accounting, complaints, prices, satisfaction, trust, value, word_of_mouth
from sim.behaviour.chances import none_of
from sim.behaviour.choice import (
    logit_pick,
    outside_exit_given,
    review_probability_given,
    what_the_settled_ignore,
)
from sim.behaviour.compiled import jitable
from sim.engine.compiling import blocks, bound, kernel, memory_at
from sim.engine.inputs import Constants, MonthArrays, MonthMarket, addresses
from sim.engine.parameters import Scenario
from sim.engine.population import Customers, MarketState, MonthDraws, outside_exposure


class Lookups(NamedTuple):
    """What many customers' months share and the compiled month takes once: powers of the few counts, firms' logs.

    ``prompted[n]``, ``recommended[n]`` and ``warned[n]`` are ``none_of`` at
    the chance that a prompt makes a customer reconsider, that a
    recommendation closes the doubt, that a warning takes trust, for ``n``
    from 0 to ``LOOKUP_COUNTS - 1`` (a larger count is computed where it is
    met); ``log_stay`` is each option's ``log(1 - defection_hazard)``. Each
    entry is the very number the equation gives, so looking it up changes no
    result.
    """

    prompted: np.ndarray
    recommended: np.ndarray
    warned: np.ndarray
    log_stay: np.ndarray


LOOKUP_COUNTS = 32
"""How many counts (0, 1, ...) of prompts or messages ``Lookups`` holds the powers of."""


def _lookup_rows(k, market, counts):
    prompted, recommended, warned = np.empty(counts), np.empty(counts), np.empty(counts)
    for times in range(counts):
        prompted[times] = none_of(k.prompted_review_probability, times)
        recommended[times] = none_of(k.word_of_mouth_gain, times)
        warned[times] = none_of(k.word_of_mouth_loss, times)
    log_stay = np.empty(market.n_firms + 1)
    for option in range(market.n_firms + 1):
        log_stay[option] = np.log1p(-market.defection_hazard[option])  # a hazard of 1 gives -inf, as the equation does
    return prompted, recommended, warned, log_stay


lookup_rows = kernel(_lookup_rows)


def lookups(k: Constants, market: MarketState) -> Lookups:
    """The month's ``Lookups``, computed by the compiled code that would otherwise compute each entry in place."""
    return Lookups(*lookup_rows(k, market, LOOKUP_COUNTS))


@jitable
def looked_up(table, probability, times):
    """``none_of(probability, times)``: from ``table`` (``Lookups``) when it holds the count, else computed."""
    if times < table.shape[0]:
        return table[times]
    return none_of(probability, times)


class Month:
    """One month of a market, ready to be lived by any range of its customers.

    Holds what every customer's month reads (the arrays, the market, the
    scenario's constants, the draws, the word of mouth heard), gathered once,
    so that one customer's month (``Customer.step``) costs little more than
    the compiled ``month_rows`` itself.
    """

    def __init__(
        self,
        customers: Customers,
        market: MarketState,
        scenario: Scenario,
        draws: MonthDraws,
        recommendations: np.ndarray,
        warnings: np.ndarray,
        fresh: np.ndarray | None = None,
    ) -> None:
        self.customers = customers
        self.fresh = (
            np.empty(len(customers)) if fresh is None else fresh
        )  # written for, and read by, the outside leavers
        lean = MonthArrays(*(getattr(customers, name) for name in MonthArrays._fields))
        seen = MonthMarket(*(getattr(market, name) for name in MonthMarket._fields))
        self.constants = k = Constants.of(scenario)
        self.inputs = (lean, seen, k, lookups(k, seen), draws, recommendations, warnings)
        self.cv = scenario.population.outside_proneness_cv
        self.shared = scenario.population.outside_shared_share
        self.one = None  # what one customer's month runs on (``_one_customer``), made when first asked for

    def live(self, start: int, stop: int) -> None:
        """Customers ``start`` to ``stop - 1`` live the month (``month_rows``, compiled).

        A large range is lived in blocks on several threads where
        ``compiling.blocks`` allows it, with the same results. Whoever left
        for outside reasons then gets a fresh exposure to them
        (``renew_exposure``). The compiled code checks no index, so the range
        is checked here.
        """
        if not 0 <= start <= stop <= len(self.customers):
            last = len(self.customers) - 1
            raise IndexError(f"customers {start} to {stop - 1}: the market has customers 0 to {last}")
        if stop - start == 1:
            if self.one is None or self.one[0] is not self.inputs or self.one[1] is not self.fresh:
                self.one = self._one_customer(start)
            _, _, call, arguments = self.one
            call(*arguments, start)
        elif (cuts := blocks(stop - start)) is not None:
            live_blocks(*self.inputs, start + cuts, self.fresh)
        else:
            live_rows(*self.inputs, start, stop, self.fresh)
        if self.cv > 0 and (stop - start != 1 or self.customers.left_outside[start]):
            left = np.flatnonzero(self.customers.left_outside[start:stop])
            renew_exposure(self.customers, start + left, self.fresh, self.cv, self.shared)

    def _one_customer(self, start: int) -> tuple:
        """One customer's compiled month and its arguments, with the inputs and fresh exposures they address.

        Holding the arrays with their addresses keeps them alive for as long
        as the addresses are used, and tells when the month's arrays are no
        longer those addressed.
        """
        _, seen, k, tables, *_ = self.inputs
        where, n = addresses(self.inputs, self.fresh)
        if n != len(self.customers):
            raise ValueError(f"the month's arrays hold {n} customers, the market {len(self.customers)}")
        arguments = (where, n, seen.n_firms + 1, seen.n_firms, seen.quality_norm, k, tables)
        return self.inputs, self.fresh, bound(one_row, *arguments, start), arguments

    def __getstate__(self) -> dict:
        """Everything but the bound compiled code, which is bound again when next asked for."""
        return {**self.__dict__, "one": None}


def renew_exposure(customers: Customers, out: np.ndarray, fresh: np.ndarray, cv: float, shared: float) -> None:
    """Give the customers ``out``, who left for outside reasons this month, a fresh exposure to them.

    Whoever leaves for outside reasons is, when it comes back to the market, a
    new customer with an exposure of its own: the draw that sent it out,
    rescaled by its chance of leaving, is a fresh uniform number (``fresh``,
    by row; no prone few revolving).
    """
    customers.outside_proneness[out] = outside_exposure(fresh[out], cv, shared)


def month_rows(c, market, k, tables, draws, recommendations, warnings, start, stop, fresh):
    """The month of customers ``start`` to ``stop - 1``, step by step, in place in the arrays ``c``.

    ``c`` is ``Customers.arrays()``.

    ``k`` holds the scenario's constants (``Constants``), ``tables`` the
    month's numbers common to many customers (``Lookups``). A customer that
    leaves for outside reasons gets in ``fresh[i]`` a uniform number
    of its own, for its exposure as a new customer (``renew_exposure``).
    Every customer's month reads only its own row and what is frozen for
    the month, so the order in which customers live it does not matter.
    """
    outside = market.n_firms
    options = outside + 1
    trust_now = np.empty(options)
    utility = np.empty(options)
    # Spend depends on the customer only through its tenure, a whole number of months: each tenure's once, from the
    # shortest in the range to the longest (one customer's month computes its own only).
    shortest = c.tenure[start:stop].min() if stop > start else 0
    spend_by_tenure = np.empty(c.tenure[start:stop].max() + 1 - shortest if stop > start else 0)
    for months_with in range(spend_by_tenure.shape[0]):
        spend_by_tenure[months_with] = accounting.spend_multiplier(
            shortest + months_with, growth=k.spend_growth, months=k.spend_growth_months
        )
    for i in range(start, stop):
        firm = c.firm[i]
        served = firm != outside
        tenure = c.tenure[i]

        # 1. Service is delivered, with an occasional failure.
        failed = served and draws.failure[i] < market.failure_rate[firm]
        experience = satisfaction.experienced_quality(
            market.delivered_quality[firm],
            k.service_noise * draws.service_noise[i],
            failed,
            market.failure_severity[firm],
        )

        # 2. Satisfaction from the performance itself and from its disconfirmation of what was expected (a shortfall
        #    weighing more than a surplus, small gaps tolerated); expectations adapt to experience.
        expectation = c.expectation[i]
        satisfied = satisfaction.satisfaction(
            experience,
            expectation,
            offset=k.satisfaction_offset,
            performance_weight=k.performance_weight,
            adequate=k.adequate_quality,
            slope=k.satisfaction_slope,
            shortfall_weight=k.shortfall_weight,
            tolerance=k.tolerance,
        )
        expectation_now = expectation
        if served:
            expectation_now = satisfaction.adapt_expectation(expectation, experience, rate=k.expectation_adaptation)

        # 3. A few of the dissatisfied complain; the firm recovers some of them.
        dissatisfied = served and satisfied < k.dissatisfied
        complained = complaints.complains(dissatisfied, c.complaint_propensity[i], draws.complaint[i])
        recovered = complaints.is_recovered(complained, market.recovery_rate[firm], draws.recovery[i])
        unrecovered = complained and not recovered
        if recovered:
            satisfied = max(satisfied, k.recovered_satisfaction)

        # 4. Trust: in the current firm from service and from the fairness of a price rise, judged against the price
        #    the customer is used to; in the others drifting back to the prior; then word of mouth on all.
        reference = c.reference_price[i]
        unfair = 0.0
        if served:
            unfair = prices.unfair_price_loss(
                reference,
                market.price[firm],
                market.price_rose[firm],
                fair_rise=k.fair_price_rise,
                penalty=k.unfair_price_loss,
            )
        own = trust.trust_after_service(
            c.trust[firm, i],
            disappointed=failed or dissatisfied,
            recovered=recovered,
            unrecovered=unrecovered,
            gain=k.trust_gain,
            loss=k.trust_loss,
            recovery_boost=k.recovery_boost,
            unrecovered_loss=k.unrecovered_loss,
        )
        own = trust.erode_trust(own, unfair)
        heard = False
        for option in range(options):
            trust_now[option] = trust.forget(c.trust[option, i], k.trust_prior, k.trust_forgetting)
            heard = heard or recommendations[option, i] > 0 or warnings[option, i] > 0
        if served:
            trust_now[firm] = own
        if heard:
            for option in range(options):
                trust_now[option] = trust.heard_with(  # hear_word_of_mouth, its powers looked up
                    trust_now[option],
                    looked_up(tables.recommended, k.word_of_mouth_gain, recommendations[option, i]),
                    looked_up(tables.warned, k.word_of_mouth_loss, warnings[option, i]),
                )

        # 5. What this customer will tell its contacts (heard next month).
        said = word_of_mouth.what_customers_say(
            satisfied,
            served,
            draws.talk[i],
            very_satisfied=k.very_satisfied,
            dissatisfied=k.dissatisfied,
            talk_satisfied=k.talk_satisfied,
            talk_dissatisfied=k.talk_dissatisfied,
        )

        # 6. Choice: some leave the market for outside reasons; the rest reconsider now and then, or when something
        #    prompts them (dissatisfaction, an unresolved complaint, each warning heard, each rival heard
        #    recommended, a fall in the exit fee: every prompt a chance of its own; a price rise, by how unfair it
        #    feels). A save desk
        #    keeps a share of those who would leave for a rival or for no firm. Each customer has its own habit of
        #    reconsidering; the delighted keep only a share of it (Jones & Sasser: only the completely satisfied stay),
        #    and the settled, while they have a provider, none, nor do rivals' recommendations move them: only their
        #    own firm gives them reason to look. Customers differ in their exposure to outside reasons for leaving,
        #    above a share of it that all face alike.
        volume = 0.0
        if served:
            volume = k.segment_spend[c.segment[i]] * spend_by_tenure[tenure - shortest]
        points = c.points[i]
        rivals_recommended = 0
        for option in range(outside):
            rivals_recommended += recommendations[option, i]
        prompts_by_firm = 0
        if served:
            rivals_recommended -= recommendations[firm, i]
            prompts_by_firm = (satisfied < k.dissatisfied) + unrecovered + warnings[firm, i] + market.fee_fell[firm]
        exit_probability = outside_exit_given(  # outside_exit_probability, the firm's log looked up
            market.defection_hazard[firm], tables.log_stay[firm], c.outside_proneness[i]
        )
        forced_out = served and draws.hazard[i] < exit_probability
        if forced_out:
            fresh[i] = draws.hazard[i] / exit_probability  # a fresh uniform number, for a fresh exposure
        delighted = served and satisfied >= k.very_satisfied
        habit = c.review_propensity[i] * (k.delighted_review_factor if delighted else 1.0)
        habit, rivals_recommended = what_the_settled_ignore(served and c.settled[i], habit, rivals_recommended)
        q = k.prompted_review_probability
        unprompted = looked_up(tables.prompted, q, prompts_by_firm + rivals_recommended)
        reconsiders = not forced_out and draws.review[i] < review_probability_given(habit, unprompted, unfair)
        choice = outside if forced_out else firm
        if reconsiders:
            option_utilities(
                tastes_of(c, i),
                firm,
                tenure,
                expectation_now,
                trust_now,
                points,
                reference,
                market,
                k,
                True,
                True,
                utility,
            )
            choice = logit_pick(utility, draws.choice[i])
        saved = served and not forced_out and choice != firm and draws.save[i] < market.save_rate[firm]
        if saved:
            choice = firm

        # 7. Consequences of the choice. A joiner is referred when only a recommendation made it reconsider: it
        #    would not have looked, and so not have joined, without one.
        moved = choice != firm
        joined = moved and choice != outside
        pays_fee = served and moved and not forced_out and value.fee_applies(tenure, market.contract_months[firm])
        c.exit_fee_paid[i] = market.exit_fee[firm] if pays_fee else 0.0
        unprompted_by_firm = looked_up(tables.prompted, q, prompts_by_firm)
        without_recommendations = review_probability_given(habit, unprompted_by_firm, unfair)
        only_recommended = rivals_recommended > 0 and draws.review[i] >= without_recommendations
        referred = joined and only_recommended and recommendations[choice, i] > 0
        c.referred[i] = referred
        c.served_by_referral[i] = c.by_referral[i] and served
        if moved:
            c.by_referral[i] = referred
        bill = market.price[firm] * volume
        earned = min(market.points_cap[firm], points + market.points_rate[firm] * bill)
        c.points[i] = 0.0 if moved or not served else earned
        if joined:
            c.expectation[i] = satisfaction.formed_expectation(
                market.delivered_quality[choice], market.quality_norm, promise_weight=k.promise_weight
            )
        else:
            c.expectation[i] = expectation_now
        if served:
            c.reference_price[i] = prices.adapt_reference(reference, market.price[firm], rate=k.reference_adaptation)
        for option in range(options):
            c.trust[option, i] = trust_now[option]

        # Record what happened, for the firms' books and the metrics.
        c.served_firm[i] = firm
        c.served_tenure[i] = tenure
        c.volume[i] = volume
        c.satisfaction[i] = satisfied if served else np.nan
        c.failed[i] = failed
        c.left_outside[i] = forced_out
        c.complained[i] = complained
        c.recovered[i] = recovered
        c.said[i] = said
        c.tenure[i] = 0 if moved or not served else tenure + 1
        c.firm[i] = choice


live_rows = kernel(month_rows)
"""``month_rows`` compiled."""


def _month_blocks(c, market, k, tables, draws, recommendations, warnings, cuts, fresh):
    for block in numba.prange(cuts.shape[0] - 1):
        live_rows(c, market, k, tables, draws, recommendations, warnings, cuts[block], cuts[block + 1], fresh)


live_blocks = kernel(_month_blocks, parallel=True)
"""``month_rows`` of the blocks of customers between ``cuts``, on several threads (``compiling.blocks``)."""


@jitable
def _at(where, j, shape, dtype):
    return numba.carray(memory_at(where[j]), shape, dtype)


def _one_row(where, n, options, n_firms, quality_norm, k, tables, i):
    """Customer ``i``'s month (``month_rows``), its arrays handed by address (``addresses``) rather than one by one.

    The same compiled month on the same memory: the arrays are those of the
    month, read where they lie. One customer's call (``Customer.step``) then
    costs little more than its own month, where taking some sixty arrays
    as arguments cost several times that.
    """
    f8, b1, i1, i2, i4 = np.float64, np.bool_, np.int8, np.int16, np.int32
    c = MonthArrays(
        _at(where, 0, n, i2),  # firm
        _at(where, 1, n, i4),  # tenure
        _at(where, 2, n, f8),  # expectation
        _at(where, 3, n, f8),  # reference_price
        _at(where, 4, (options, n), f8),  # trust
        _at(where, 5, n, f8),  # points
        _at(where, 6, n, i1),  # segment
        _at(where, 7, n, b1),  # settled
        _at(where, 8, n, f8),  # outside_proneness
        _at(where, 9, n, f8),  # review_propensity
        _at(where, 10, n, f8),  # complaint_propensity
        _at(where, 11, n, f8),  # w_quality
        _at(where, 12, n, f8),  # w_price
        _at(where, 13, n, f8),  # w_image
        _at(where, 14, n, f8),  # effort
        _at(where, 15, n, f8),  # exit_fee_paid
        _at(where, 16, n, b1),  # referred
        _at(where, 17, n, b1),  # by_referral
        _at(where, 18, n, b1),  # served_by_referral
        _at(where, 19, n, i2),  # served_firm
        _at(where, 20, n, i4),  # served_tenure
        _at(where, 21, n, f8),  # volume
        _at(where, 22, n, f8),  # satisfaction
        _at(where, 23, n, b1),  # failed
        _at(where, 24, n, b1),  # left_outside
        _at(where, 25, n, b1),  # complained
        _at(where, 26, n, b1),  # recovered
        _at(where, 27, n, i1),  # said
    )
    market = MonthMarket(
        n_firms,
        _at(where, 28, options, f8),  # price
        _at(where, 29, options, f8),  # quality
        _at(where, 30, options, f8),  # delivered_quality
        quality_norm,
        _at(where, 31, options, f8),  # failure_rate
        _at(where, 32, options, f8),  # failure_severity
        _at(where, 33, options, f8),  # image
        _at(where, 34, options, f8),  # recovery_rate
        _at(where, 35, options, f8),  # exit_fee
        _at(where, 36, options, np.int64),  # contract_months
        _at(where, 37, options, f8),  # points_rate
        _at(where, 38, options, f8),  # points_cap
        _at(where, 39, options, f8),  # silver_after
        _at(where, 40, options, f8),  # gold_after
        _at(where, 41, options, f8),  # silver_perk
        _at(where, 42, options, f8),  # gold_perk
        _at(where, 43, options, f8),  # relational_bond
        _at(where, 44, options, f8),  # welcome_offer
        _at(where, 45, options, f8),  # defection_hazard
        _at(where, 46, options, f8),  # save_rate
        _at(where, 47, options, b1),  # price_rose
        _at(where, 48, options, b1),  # fee_fell
        _at(where, 49, options, b1),  # open
    )
    draws = MonthDraws(
        _at(where, 50, n, f8),  # service_noise
        _at(where, 51, n, f8),  # failure
        _at(where, 52, n, f8),  # complaint
        _at(where, 53, n, f8),  # recovery
        _at(where, 54, n, f8),  # talk
        _at(where, 55, n, f8),  # hazard
        _at(where, 56, n, f8),  # review
        _at(where, 57, n, f8),  # choice
        _at(where, 58, n, f8),  # save
    )
    recommendations, warnings = _at(where, 59, (options, n), i4), _at(where, 60, (options, n), i4)
    live_rows(c, market, k, tables, draws, recommendations, warnings, i, i + 1, _at(where, 61, n, f8))


one_row = kernel(_one_row)
"""``_one_row`` compiled."""


class Tastes(NamedTuple):
    """What one customer weighs in an option, and its effort of leaving its firm (``Customers``' traits)."""

    w_quality: float
    w_price: float
    w_image: float
    effort: float


@jitable
def tastes_of(c, i):
    """Customer ``i``'s ``Tastes``, from the arrays ``c`` (``Customers.arrays()``)."""
    return Tastes(c.w_quality[i], c.w_price[i], c.w_image[i], c.effort[i])


@jitable
def option_utilities(tastes, firm, tenure, expectation, trust_now, points, reference, market, k, barriers, offers, out):
    """One customer's utility of every option, into ``out`` (one entry per option, the outside option last).

    Every option is first valued as the market sees it (its quality, net
    price less any welcome offer, image), plus trust in it. The current firm's entry is
    then replaced by the customer's own view: the quality it has come to
    expect, and price, weighed less heavily the more it trusts the firm, both
    as paid and as felt against the price the customer is used to (a rise
    above it a loss, weighing ``loss_aversion`` times a gain). The outside option is
    worth ``outside_value``. Finally every switching cost (exit fee,
    forfeited points, tier perks, relational bond, effort) is taken off every
    option but staying; with ``barriers`` false none is, and with ``offers``
    false no welcome offer is added: both false give what the customer would
    prefer if leaving were free and nobody paid it to move, its relative
    attitude in Dick & Basu's terms.

    Args:
        tastes: what the customer weighs, and its effort of leaving (``Tastes``).
        firm: its current option (F for none).
        tenure: its months with its current firm.
        expectation: the quality it expects of its current firm.
        trust_now: its trust in each option, shape (F+1,).
        points: its loyalty points with its current firm.
        reference: its reference price, currency per month.
        market: what customers see of the firms this month.
        k: the scenario's constants (``Constants``).
        barriers: take the switching costs off leaving.
        offers: count the firms' welcome offers.
        out: where the utilities go, shape (F+1,).
    """
    outside = market.n_firms
    w_quality, w_price, w_image, effort = tastes
    for option in range(outside + 1):
        net_price = market.price[option] * (1.0 - market.points_rate[option])
        offer = market.welcome_offer[option] if offers else 0.0
        seen = value.delivered_value(
            market.quality[option],
            net_price - offer,
            market.image[option],
            w_quality=w_quality,
            w_price=w_price,
            w_image=w_image,
        )
        out[option] = seen + k.trust_weight * trust_now[option] if market.open[option] else -np.inf
    own_trust = trust_now[firm]
    w_own_price = w_price * (1.0 - k.price_tolerance * own_trust)
    own_view = value.delivered_value(
        expectation,
        market.price[firm] * (1.0 - market.points_rate[firm]),
        market.image[firm],
        w_quality=w_quality,
        w_price=w_own_price,
        w_image=w_image,
    )
    felt = prices.price_feeling(market.price[firm], reference, loss_aversion=k.loss_aversion)
    out[firm] = own_view + w_own_price * k.reference_weight * felt + k.trust_weight * own_trust
    out[outside] = k.outside_value
    if not barriers or firm == outside:
        return
    perks = k.perk_months * value.tier_perk(
        tenure,
        silver_after=market.silver_after[firm],
        gold_after=market.gold_after[firm],
        silver_perk=market.silver_perk[firm],
        gold_perk=market.gold_perk[firm],
    )
    fee = market.exit_fee[firm] if value.fee_applies(tenure, market.contract_months[firm]) else 0.0
    barrier = value.exit_barrier(
        w_price=w_price,
        exit_fee=fee,
        points=points,
        perks=perks,
        bond=value.relational_bond(tenure, bond=market.relational_bond[firm], months=k.bond_months),
        effort=effort,
    )
    for option in range(outside + 1):
        if option != firm:
            out[option] -= barrier


def _utilities_rows(index, firm, tenure, expectation, trust_now, points, reference, c, market, k, barriers, offers):
    utility = np.empty((market.n_firms + 1, index.shape[0]))
    for j in range(index.shape[0]):
        option_utilities(
            tastes_of(c, index[j]),
            firm[j],
            tenure[j],
            expectation[j],
            trust_now[:, j],
            points[j],
            reference[j],
            market,
            k,
            barriers,
            offers,
            utility[:, j],
        )
    return utility


utilities_rows = kernel(_utilities_rows)


def utilities_of(
    customers: Customers,
    index: np.ndarray,
    firm: np.ndarray,
    tenure: np.ndarray,
    expectation: np.ndarray,
    trust_now: np.ndarray,
    points: np.ndarray,
    reference: np.ndarray,
    market: MarketState,
    scenario: Scenario,
    *,
    barriers: bool = True,
    offers: bool | None = None,
) -> np.ndarray:
    """``option_utilities`` of the customers ``index``, on the state given (which need not be their present one).

    Args:
        customers: the population arrays (for the customers' traits).
        index: the customers' rows.
        firm: each one's current option (F for none).
        tenure: each one's months with it.
        expectation: each one's expected quality of it.
        trust_now: their trust in each option, shape (F+1, len(index)).
        points: each one's loyalty points with it.
        reference: each one's reference price, currency per month.
        market: what customers see of the firms this month.
        scenario: the market's parameters.
        barriers: take the switching costs off leaving (``False``: as if leaving were free).
        offers: count the firms' welcome offers (default: as ``barriers``; ``True`` with
            ``barriers=False`` values the options as the customer sees them, less the barriers).

    Returns:
        Array of shape (F+1, len(index)): options first.
    """
    return utilities_rows(
        np.asarray(index, dtype=np.int64),
        np.asarray(firm, dtype=np.int64),
        np.asarray(tenure, dtype=np.int64),
        np.asarray(expectation, dtype=float),
        np.ascontiguousarray(trust_now, dtype=float),
        np.asarray(points, dtype=float),
        np.asarray(reference, dtype=float),
        customers.arrays(),
        market,
        Constants.of(scenario),
        barriers,
        barriers if offers is None else offers,
    )
