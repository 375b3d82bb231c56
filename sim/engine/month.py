"""One month in the life of customers: service, satisfaction, complaints, trust, word of mouth, choice.

Customers live month by month, whatever the length of the model's period
(``Market.period_months``): a period of three months is three of these
months, and every rate of the parameters is a monthly one.
``live_one_month`` advances the customers in ``rows`` (a slice) by one
month. The vectorised path passes blocks of tens of thousands of rows;
``Customer.step`` passes ``slice(i, i + 1)``. Both run these same lines on
views of the same arrays, with the same draws, so they give identical results.
"""

from __future__ import annotations

import numpy as np

from sim.behaviour import complaints, prices, satisfaction, trust, value, word_of_mouth
from sim.behaviour.choice import (
    logit_choice,
    outside_exit_probability,
    review_probability,
    reviews,
    what_the_settled_ignore,
)
from sim.engine.parameters import Scenario
from sim.engine.population import Customers, MarketState, MonthDraws, outside_exposure, volume_bought


def live_one_month(
    customers: Customers,
    rows: slice,
    market: MarketState,
    scenario: Scenario,
    draws: MonthDraws,
    recommendations: np.ndarray,
    warnings: np.ndarray,
) -> None:
    """Advance ``customers[rows]`` by one month, in place.

    Args:
        customers: the population arrays.
        rows: which customers, as a slice (views, so writes land in place).
        market: what customers see of the firms this month.
        scenario: the market's parameters.
        draws: this month's random numbers for every customer.
        recommendations: recommendations each customer hears this month about
            each option, shape (F+1, customers).
        warnings: warnings each customer hears this month about each option,
            shape (F+1, customers).
    """
    p = scenario.population
    outside = market.n_firms
    firm = customers.firm[rows].astype(np.intp)
    served = firm != outside
    tenure = customers.tenure[rows]
    me = np.arange(firm.shape[0])
    heard_good = recommendations[:, rows]
    heard_bad = warnings[:, rows]

    # 1. Service is delivered, with an occasional failure.
    failed = served & (draws.failure[rows] < market.failure_rate[firm])
    experience = satisfaction.experienced_quality(
        market.delivered_quality[firm],
        p.service_noise * draws.service_noise[rows],
        failed,
        market.failure_severity[firm],
    )

    # 2. Satisfaction from the performance itself and from its disconfirmation of what was expected (a shortfall
    #    weighing more than a surplus, small gaps tolerated); expectations adapt to experience.
    expectation = customers.expectation[rows]
    satisfied = satisfaction.satisfaction(
        experience,
        expectation,
        offset=p.satisfaction_offset,
        performance_weight=p.performance_weight,
        adequate=scenario.market.adequate_quality,
        slope=p.satisfaction_slope,
        shortfall_weight=p.shortfall_weight,
        tolerance=p.tolerance,
    )
    expectation_now = np.where(
        served, satisfaction.adapt_expectation(expectation, experience, rate=p.expectation_adaptation), expectation
    )

    # 3. A few of the dissatisfied complain; the firm recovers some of them.
    dissatisfied = served & (satisfied < p.dissatisfied)
    complained = complaints.complains(dissatisfied, customers.complaint_propensity[rows], draws.complaint[rows])
    recovered = complaints.is_recovered(complained, market.recovery_rate[firm], draws.recovery[rows])
    unrecovered = complained & ~recovered
    satisfied = np.where(recovered, np.maximum(satisfied, p.recovered_satisfaction), satisfied)

    # 4. Trust: in the current firm from service and from the fairness of a price rise, judged against the price
    #    the customer is used to; in the others drifting back to the prior; then word of mouth on all.
    reference = customers.reference_price[rows]
    unfair = np.where(
        served,
        prices.unfair_price_loss(
            reference,
            market.price[firm],
            market.price_rose[firm],
            fair_rise=p.fair_price_rise,
            penalty=p.unfair_price_loss,
        ),
        0.0,
    )
    trust_before = customers.trust[:, rows]
    own = trust.trust_after_service(
        trust_before[firm, me],
        disappointed=failed | dissatisfied,
        recovered=recovered,
        unrecovered=unrecovered,
        gain=p.trust_gain,
        loss=p.trust_loss,
        recovery_boost=p.recovery_boost,
        unrecovered_loss=p.unrecovered_loss,
    )
    own = trust.erode_trust(own, unfair)
    trust_now = trust.forget(trust_before, p.trust_prior, p.trust_forgetting)
    trust_now[firm, me] = np.where(served, own, trust_now[firm, me])
    heard = np.flatnonzero(heard_good.any(axis=0) | heard_bad.any(axis=0))
    trust_now[:, heard] = trust.hear_word_of_mouth(
        trust_now[:, heard],
        heard_good[:, heard],
        heard_bad[:, heard],
        gain=p.word_of_mouth_gain,
        loss=p.word_of_mouth_loss,
    )

    # 5. What this customer will tell its contacts (heard next month).
    said = word_of_mouth.what_customers_say(
        satisfied,
        served,
        draws.talk[rows],
        very_satisfied=p.very_satisfied,
        dissatisfied=p.dissatisfied,
        talk_satisfied=p.talk_satisfied,
        talk_dissatisfied=p.talk_dissatisfied,
    )

    # 6. Choice: some leave the market for outside reasons; the rest reconsider now and then, or when something
    #    prompts them (dissatisfaction, an unresolved complaint, each warning heard, each rival heard recommended,
    #    a fall in the exit fee: every prompt a chance of its own; a price rise, by how unfair it feels). A save desk
    #    keeps a share of those who would leave for a rival or for no firm. Each customer has its own habit of
    #    reconsidering; the delighted keep only a share of it (Jones & Sasser: only the completely satisfied stay),
    #    and the settled, while they have a provider, none, nor do rivals' recommendations move them: only their
    #    own firm gives them reason to look. Customers differ in their exposure to outside reasons for leaving,
    #    above a share of it that all face alike.
    volume = np.where(served, volume_bought(scenario, customers.segment[rows], tenure), 0.0)
    points = customers.points[rows]
    warnings_about_mine = heard_bad[firm, me]
    rivals_recommended = heard_good[:outside].sum(axis=0) - np.where(served, heard_good[firm, me], 0)
    prompts_by_firm = np.where(
        served,
        (satisfied < p.dissatisfied).astype(np.int64) + unrecovered + warnings_about_mine + market.fee_fell[firm],
        0,
    )
    exit_probability = outside_exit_probability(market.defection_hazard[firm], customers.outside_proneness[rows])
    forced_out = served & (draws.hazard[rows] < exit_probability)
    if p.outside_proneness_cv > 0:
        # Whoever leaves for outside reasons is, when it comes back to the market, a new customer with an exposure
        # of its own: the draw that sent it out, rescaled, is a fresh uniform number (no prone few revolving).
        out = np.flatnonzero(forced_out)
        fresh = outside_exposure(
            draws.hazard[rows][out] / exit_probability[out], p.outside_proneness_cv, p.outside_shared_share
        )
        customers.outside_proneness[rows][out] = fresh
    delighted = served & (satisfied >= p.very_satisfied)
    habit = customers.review_propensity[rows] * np.where(delighted, p.delighted_review_factor, 1.0)
    habit, rivals_recommended = what_the_settled_ignore(served & customers.settled[rows], habit, rivals_recommended)
    q = p.prompted_review_probability
    reconsiders = ~forced_out & reviews(
        prompts_by_firm + rivals_recommended, draws.review[rows], base=habit, prompted_probability=q, unfairness=unfair
    )
    choice = np.where(forced_out, outside, firm)
    who = np.flatnonzero(reconsiders)
    if who.size:
        utility = option_utilities(
            customers,
            rows,
            who,
            firm[who],
            tenure[who],
            expectation_now[who],
            trust_now[:, who],
            points[who],
            reference[who],
            market,
            scenario,
        )
        choice[who] = logit_choice(utility, draws.choice[rows][who])
    saved = served & ~forced_out & (choice != firm) & (draws.save[rows] < market.save_rate[firm])
    choice = np.where(saved, firm, choice)

    # 7. Consequences of the choice. A joiner is referred when only a recommendation made it reconsider: it
    #    would not have looked, and so not have joined, without one.
    moved = choice != firm
    joined = moved & (choice != outside)
    pays_fee = served & moved & ~forced_out & value.fee_applies(tenure, market.contract_months[firm])
    customers.exit_fee_paid[rows] = np.where(pays_fee, market.exit_fee[firm], 0.0)
    without_recommendations = review_probability(prompts_by_firm, base=habit, prompted_probability=q, unfairness=unfair)
    only_recommended = (rivals_recommended > 0) & (draws.review[rows] >= without_recommendations)
    referred = joined & only_recommended & (heard_good[choice, me] > 0)
    customers.referred[rows] = referred
    customers.served_by_referral[rows] = customers.by_referral[rows] & served
    customers.by_referral[rows] = np.where(moved, referred, customers.by_referral[rows])
    bill = market.price[firm] * volume
    earned = np.minimum(market.points_cap[firm], points + market.points_rate[firm] * bill)
    customers.points[rows] = np.where(moved | ~served, 0.0, earned)
    formed = satisfaction.formed_expectation(
        market.delivered_quality[choice], market.quality_norm, promise_weight=p.promise_weight
    )
    customers.expectation[rows] = np.where(joined, formed, expectation_now)
    customers.reference_price[rows] = np.where(
        served, prices.adapt_reference(reference, market.price[firm], rate=p.reference_adaptation), reference
    )
    customers.trust[:, rows] = trust_now

    # Record what happened, for the firms' books and the metrics.
    customers.served_firm[rows] = firm
    customers.served_tenure[rows] = tenure
    customers.volume[rows] = volume
    customers.satisfaction[rows] = np.where(served, satisfied, np.nan)
    customers.failed[rows] = failed
    customers.left_outside[rows] = forced_out
    customers.complained[rows] = complained
    customers.recovered[rows] = recovered
    customers.said[rows] = said
    customers.tenure[rows] = np.where(moved | ~served, 0, tenure + 1)
    customers.firm[rows] = choice


def option_utilities(
    customers: Customers,
    rows: slice,
    who: np.ndarray | slice,
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
    """Utility of every option for the customers ``who`` (indices into ``rows``, or a slice).

    Every option is first valued as the market sees it (its quality, net
    price less any welcome offer, image), plus trust in it. The current firm's entry is
    then replaced by the customer's own view: the quality it has come to
    expect, and price, weighed less heavily the more it trusts the firm, both
    as paid and as felt against the price the customer is used to (a rise
    above it a loss, weighing ``loss_aversion`` times a gain). The outside option is
    worth ``outside_value``. Finally every switching cost (exit fee,
    forfeited points, tier perks, relational bond, effort) is taken off every
    option but staying; with ``barriers=False`` none is, nor is any welcome
    offer added, which gives what the customer would prefer if leaving were
    free and nobody paid it to move: its relative attitude, in Dick & Basu's
    terms.

    Args:
        customers: the population arrays.
        rows: the block of customers (a slice of the arrays).
        who: the customers within ``rows`` to value options for: indices or a slice.
        firm: the current option of each of ``who`` (F for none).
        tenure: each one's months with its current firm.
        expectation: each one's expected quality of its current firm.
        trust_now: trust of the customers ``who``, shape (F+1, len(who)).
        points: each one's loyalty points with its current firm.
        reference: each one's reference price, currency per month.
        market: what customers see of the firms this month.
        scenario: the market's parameters.
        barriers: take the switching costs off leaving (``False``: as if leaving were free).
        offers: count the firms' welcome offers (default: as ``barriers``; ``True`` with
            ``barriers=False`` values the options as the customer sees them, less the barriers).

    Returns:
        Array of shape (F+1, len(who)): options first, so that the sums and
        maxima over options run along contiguous rows.
    """
    p = scenario.population
    outside = market.n_firms
    me = np.arange(firm.shape[0])
    served = firm != outside
    w_price = customers.w_price[rows][who]
    w_quality = customers.w_quality[rows][who]
    w_image = customers.w_image[rows][who]
    net_price = market.price * (1.0 - market.points_rate)
    offered = barriers if offers is None else offers  # an inducement to switch, not part of the attitude
    offer = market.welcome_offer if offered else 0.0

    utility = value.delivered_value(
        market.quality[:, None],
        (net_price - offer)[:, None],
        market.image[:, None],
        w_quality=w_quality,
        w_price=w_price,
        w_image=w_image,
    )
    utility += p.trust_weight * trust_now
    utility[~market.open] = -np.inf  # firms not yet in the market; a customer's own firm is always open

    own_trust = trust_now[firm, me]
    w_own_price = w_price * (1.0 - p.price_tolerance * own_trust)
    own_view = value.delivered_value(
        expectation,
        net_price[firm],
        market.image[firm],
        w_quality=w_quality,
        w_price=w_own_price,
        w_image=w_image,
    )
    felt = prices.price_feeling(market.price[firm], reference, loss_aversion=p.loss_aversion)
    utility[firm, me] = own_view + w_own_price * p.reference_weight * felt + p.trust_weight * own_trust
    utility[outside] = scenario.market.outside_value
    if not barriers:
        return utility

    perks = p.perk_months * value.tier_perk(
        tenure,
        silver_after=market.silver_after[firm],
        gold_after=market.gold_after[firm],
        silver_perk=market.silver_perk[firm],
        gold_perk=market.gold_perk[firm],
    )
    fee = np.where(value.fee_applies(tenure, market.contract_months[firm]), market.exit_fee[firm], 0.0)
    barrier = np.where(
        served,
        value.exit_barrier(
            w_price=w_price,
            exit_fee=fee,
            points=points,
            perks=perks,
            bond=value.relational_bond(tenure, bond=market.relational_bond[firm], months=p.bond_months),
            effort=customers.effort[rows][who],
        ),
        0.0,
    )
    stay = utility[firm, me]
    utility -= barrier
    utility[firm, me] = stay
    return utility
