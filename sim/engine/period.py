"""One period in the life of customers: service, satisfaction, complaints, trust, word of mouth, choice.

``live_one_period`` advances the customers in ``rows`` (a slice) by one
period. The vectorised path passes blocks of tens of thousands of rows;
``Customer.step`` passes ``slice(i, i + 1)``. Both run these same lines on
views of the same arrays, with the same draws, so they give identical results.
"""

from __future__ import annotations

import numpy as np

from sim.behaviour import complaints, satisfaction, trust, value, word_of_mouth
from sim.behaviour.choice import logit_choice, reviews
from sim.engine.parameters import Scenario
from sim.engine.population import Customers, MarketState, PeriodDraws, volume_bought


def live_one_period(
    customers: Customers,
    rows: slice,
    market: MarketState,
    scenario: Scenario,
    draws: PeriodDraws,
    recommendations: np.ndarray,
    warnings: np.ndarray,
) -> None:
    """Advance ``customers[rows]`` by one period, in place.

    Args:
        customers: the population arrays.
        rows: which customers, as a slice (views, so writes land in place).
        market: what customers see of the firms this period.
        scenario: the market's parameters.
        draws: this period's random numbers for every customer.
        recommendations: recommendations each customer hears this period about
            each option, shape (F+1, customers).
        warnings: warnings each customer hears this period about each option,
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

    # 2. Satisfaction by expectation-disconfirmation; expectations adapt.
    expectation = customers.expectation[rows]
    satisfied = satisfaction.satisfaction(
        experience, expectation, slope=p.satisfaction_slope, offset=p.satisfaction_offset
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

    # 4. Trust: in the current firm from service and price fairness, in the
    #    others drifting back to the prior; then word of mouth on all.
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
    own = trust.erode_trust(own, market.unfair_loss[firm])
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

    # 5. What this customer will tell its contacts (heard next period).
    said = word_of_mouth.what_customers_say(
        satisfied,
        served,
        draws.talk[rows],
        very_satisfied=p.very_satisfied,
        dissatisfied=p.dissatisfied,
        talk_satisfied=p.talk_satisfied,
        talk_dissatisfied=p.talk_dissatisfied,
    )

    # 6. Choice: some leave the market for outside reasons; the rest
    #    reconsider now and then, or when something prompts them (dissatisfaction,
    #    a warning, a rival recommended, a price rise or a fall in the exit fee).
    #    A firm with a save rate keeps that share of would-be leavers. Each
    #    customer has its own habit of reconsidering; the delighted keep only
    #    a share of it (Jones & Sasser: only the completely satisfied stay).
    volume = np.where(served, volume_bought(scenario, customers.segment[rows], tenure), 0.0)
    points = customers.points[rows]
    warned_about_mine = heard_bad[firm, me] > 0
    tempted = (heard_good[:outside] > 0).sum(axis=0) > (heard_good[firm, me] > 0)
    prompted = (
        served & ((satisfied < p.dissatisfied) | unrecovered | warned_about_mine | market.terms_changed[firm])
    ) | tempted
    forced_out = served & (draws.hazard[rows] < market.defection_hazard[firm])
    habit = customers.review_propensity[rows] * np.where(
        served & (satisfied >= p.very_satisfied), p.delighted_review_factor, 1.0
    )
    reconsiders = ~forced_out & reviews(
        prompted, draws.review[rows], base=habit, prompted_probability=p.prompted_review_probability
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
            market,
            scenario,
        )
        choice[who] = logit_choice(utility, draws.choice[rows][who])
    saved = served & (choice != firm) & (draws.save[rows] < market.save_rate[firm])
    choice = np.where(saved, firm, choice)

    # 7. Consequences of the choice.
    moved = choice != firm
    joined = moved & (choice != outside)
    pays_fee = served & moved & ~forced_out & value.fee_applies(tenure, market.contract_months[firm])
    customers.exit_fee_paid[rows] = np.where(pays_fee, market.exit_fee[firm], 0.0)
    referred = joined & (heard_good[choice, me] > 0)
    customers.referred[rows] = referred
    customers.served_by_referral[rows] = customers.by_referral[rows] & served
    customers.by_referral[rows] = np.where(moved, referred, customers.by_referral[rows])
    bill = market.price[firm] * volume
    earned = np.minimum(market.points_cap[firm], points + market.points_rate[firm] * bill)
    customers.points[rows] = np.where(moved | ~served, 0.0, earned)
    customers.expectation[rows] = np.where(joined, market.quality[choice], expectation_now)
    customers.trust[:, rows] = trust_now

    # Record what happened, for the firms' books and the metrics.
    customers.served_firm[rows] = firm
    customers.served_tenure[rows] = tenure
    customers.volume[rows] = volume
    customers.satisfaction[rows] = np.where(served, satisfied, np.nan)
    customers.failed[rows] = failed
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
    market: MarketState,
    scenario: Scenario,
    *,
    barriers: bool = True,
) -> np.ndarray:
    """Utility of every option for the customers ``who`` (indices into ``rows``, or a slice).

    Every option is first valued as advertised (its quality, net price less
    any welcome offer, image), plus trust in it. The current firm's entry is
    then replaced by the customer's own view: the quality it has come to
    expect, price weighed less heavily the more it trusts the firm, and its
    tier perk. The outside option is worth ``outside_value``. Finally the exit
    barrier is taken off every option but staying; with ``barriers=False`` it
    is left out, which gives what the customer would prefer if leaving were
    free (its relative attitude, in Dick & Basu's terms).

    Args:
        customers: the population arrays.
        rows: the block of customers (a slice of the arrays).
        who: the customers within ``rows`` to value options for: indices or a slice.
        firm: the current option of each of ``who`` (F for none).
        tenure: each one's periods with its current firm.
        expectation: each one's expected quality of its current firm.
        trust_now: trust of the customers ``who``, shape (F+1, len(who)).
        points: each one's loyalty points with its current firm.
        market: what customers see of the firms this period.
        scenario: the market's parameters.
        barriers: take the exit barrier off leaving (``False``: as if leaving were free).

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

    utility = value.delivered_value(
        market.quality[:, None],
        (net_price - market.welcome_offer)[:, None],
        market.image[:, None],
        w_quality=w_quality,
        w_price=w_price,
        w_image=w_image,
    )
    utility += p.trust_weight * trust_now
    utility[~market.open] = -np.inf  # firms not yet in the market; a customer's own firm is always open

    own_trust = trust_now[firm, me]
    perk = value.tier_perk(
        tenure,
        silver_after=market.silver_after[firm],
        gold_after=market.gold_after[firm],
        silver_perk=market.silver_perk[firm],
        gold_perk=market.gold_perk[firm],
    )
    own_view = value.delivered_value(
        expectation,
        net_price[firm],
        market.image[firm],
        w_quality=w_quality,
        w_price=w_price * (1.0 - p.price_tolerance * own_trust),
        w_image=w_image,
    )
    utility[firm, me] = own_view + w_price * perk + p.trust_weight * own_trust
    utility[outside] = scenario.market.outside_value
    if not barriers:
        return utility

    barrier = np.where(
        served,
        value.exit_barrier(
            w_price=w_price,
            exit_fee=np.where(value.fee_applies(tenure, market.contract_months[firm]), market.exit_fee[firm], 0.0),
            points=points,
            bond=value.relational_bond(tenure, bond=market.relational_bond[firm], months=p.bond_months),
            effort=customers.effort[rows][who],
        ),
        0.0,
    )
    stay = utility[firm, me]
    utility -= barrier
    utility[firm, me] = stay
    return utility
