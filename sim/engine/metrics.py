"""What each firm books and what the market records, month by month and period by period.

``firm_metrics`` reads the population arrays after the customers' month and
aggregates them per firm with ``np.bincount``, so the same numbers come out
whichever path advanced the customers; ``period_metrics`` gathers the months
of one period into the period's row.
"""

from __future__ import annotations

import numpy as np

from sim.behaviour import accounting, value
from sim.behaviour.choice import would_choose_again
from sim.behaviour.segments import SEGMENT_NAMES, loyalty_segment
from sim.engine.month import option_utilities
from sim.engine.parameters import Scenario
from sim.engine.population import Customers, MarketState, blocks


def loyalty_segments(customers: Customers, market: MarketState, scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Dick & Basu segments: each customer's towards its current firm, and the firm it would rather buy from.

    Relative attitude is judged without any switching cost (fees, points,
    tier perks, bonds, effort: ``option_utilities(barriers=False)``): high
    towards the current firm when the customer would choose it again with at
    least ``attitude_threshold`` probability among all options (every firm
    and buying from no one) if leaving were free. Patronage is high from
    ``patronage_months`` of tenure. A customer whose attitude to its current
    firm is not high (or who buys from no one) and whose attitude to another
    firm is high by the same test is latently loyal to that firm: it prefers
    a firm it does not buy from.

    Returns:
        ``(codes, preferred)``: the segment code towards the current firm (0
        true, 1 latent, 2 spurious, 3 none, -1 not served), and per customer
        the other firm it is latently loyal to (-1 for none).
    """
    codes = np.empty(len(customers), dtype=np.int8)
    preferred = np.empty(len(customers), dtype=np.int16)
    threshold = scenario.market.attitude_threshold
    n_firms = market.n_firms
    for rows in blocks(len(customers)):
        firm = customers.firm[rows].astype(np.intp)
        tenure = customers.tenure[rows]
        utility = option_utilities(
            customers,
            rows,
            slice(None),
            firm,
            tenure,
            customers.expectation[rows],
            customers.trust[:, rows],
            customers.points[rows],
            customers.reference_price[rows],
            market,
            scenario,
            barriers=False,
        )
        served = firm < n_firms
        attitude = served & would_choose_again(utility, firm, threshold)
        segment = loyalty_segment(attitude, tenure, patronage_months=scenario.market.patronage_months)
        codes[rows] = np.where(served, segment, -1)
        favourite = np.argmax(utility, axis=0)
        candidates = np.flatnonzero(~attitude & (favourite < n_firms) & (favourite != firm))
        held = candidates[would_choose_again(utility[:, candidates], favourite[candidates], threshold)]
        block = np.full(firm.shape[0], -1, dtype=np.int16)
        block[held] = favourite[held]
        preferred[rows] = block
    return codes, preferred


def firm_metrics(customers: Customers, market: MarketState, scenario: Scenario) -> dict[str, np.ndarray]:
    """One month's metrics per firm, each an array of shape (F,).

    Counts: ``served`` (at the start of the month), ``customers`` (at its
    end), ``gains``, ``losses``, ``referrals`` (joiners who reconsidered only
    because they heard the firm recommended), ``complaints``, ``recovered``,
    ``failures``, ``recommendations_sent``, ``warnings_sent``;
    ``retained_year``: customers at the end who have been with the firm a
    year or more without a break (``retained_year`` at t over ``customers``
    a year before is the share of a firm's customers still its customers a
    year on). The Dick & Basu segments at the end of the month, by
    relative attitude (favours the firm) and repeat patronage (tenure of
    ``patronage_months`` or more): among the firm's customers
    ``true_loyal`` (favours it, patronises it), ``latent_new`` (favours it,
    not yet a repeat buyer), ``spurious_loyal`` (does not favour it, stays)
    and ``not_loyal`` (neither), which add up to ``customers``; beyond them
    ``latent_elsewhere`` (customers of other firms without a high attitude
    to their own, or of none, whose attitude to this firm is high by the
    same test: held elsewhere by barriers or habit, or not buying) and
    ``latent_loyal`` = ``latent_new`` + ``latent_elsewhere``, everyone
    whose attitude favours the firm without patronage; and the losses by the
    segment the leavers were in at the end of the previous month
    (``lost_true``, ``lost_latent``, ``lost_spurious``, ``lost_not_loyal``).
    Rates: ``churn_rate`` = losses / served, ``retention_rate`` = 1 - churn,
    ``market_share`` of customers at the end. Money, in the month: ``revenue``,
    ``exit_fees``, costs by kind (``cost_goods``, ``cost_serving``,
    ``cost_care``, ``cost_brand``, ``cost_programme``, ``cost_recovery``,
    ``cost_acquisition``) and ``profit`` with its sources (see
    ``profit_sources``). Means: ``satisfaction`` (served), ``trust`` and
    ``tenure`` in months (customers at the end).

    Updates ``customers.loyalty`` and ``customers.preferred`` to the end of the month.
    """
    n_firms = market.n_firms
    size = n_firms + 1
    m = scenario.market

    def per_firm(index, weights=None):
        return np.bincount(index, weights=weights, minlength=size)[:n_firms].astype(float)

    served_firm = customers.served_firm.astype(np.intp)
    firm = customers.firm.astype(np.intp)
    is_served = served_firm < n_firms
    moved = firm != served_firm

    served = per_firm(served_firm)
    now = per_firm(firm)
    gains = per_firm(firm[moved])
    losses = per_firm(served_firm[moved])
    with np.errstate(invalid="ignore", divide="ignore"):
        churn = np.where(served > 0, losses / served, 0.0)
        total = now.sum()
        share = now / total if total > 0 else np.zeros(n_firms)

    tenure = customers.served_tenure
    bill = market.price[served_firm] * customers.volume
    revenue = per_firm(served_firm, bill)
    tier = value.tier(tenure, silver_after=market.silver_after[served_firm], gold_after=market.gold_after[served_firm])
    members = np.bincount(served_firm * 3 + tier, minlength=size * 3).reshape(size, 3)[:n_firms]
    perks = market.silver_perk[:n_firms] * members[:, 1] + market.gold_perk[:n_firms] * members[:, 2]
    # Customers served by no one land in the outside option's bin, which every sum drops.
    serving = accounting.serving_cost_multiplier(tenure, floor=m.serving_cost_floor, months=m.serving_cost_months)
    levers = {
        name: getattr(market, name)[:n_firms]
        for name in (
            "unit_cost",
            "serving_cost",
            "care_spend",
            "brand_investment",
            "recovery_cost",
            "acquisition_spend",
        )
    }

    row: dict[str, np.ndarray] = {"served": served}
    row["customers"] = now
    row["gains"] = gains
    row["losses"] = losses
    row["churn_rate"] = churn
    row["retention_rate"] = 1.0 - churn
    row["market_share"] = share
    row["retained_year"] = per_firm(firm[customers.tenure >= 12])
    row["referrals"] = per_firm(firm[customers.referred])
    row["revenue"] = revenue
    row["exit_fees"] = per_firm(served_firm, customers.exit_fee_paid)
    row["cost_goods"] = levers["unit_cost"] * per_firm(served_firm, customers.volume)
    row["cost_serving"] = levers["serving_cost"] * per_firm(served_firm, serving)
    row["cost_care"] = levers["care_spend"] * served
    row["cost_brand"] = levers["brand_investment"] * served
    row["cost_programme"] = market.points_rate[:n_firms] * revenue + perks
    row["complaints"] = per_firm(served_firm[customers.complained])
    row["recovered"] = per_firm(served_firm[customers.recovered])
    row["cost_recovery"] = levers["recovery_cost"] * row["recovered"]
    row["cost_acquisition"] = levers["acquisition_spend"] * gains
    row["profit"] = row["revenue"] + row["exit_fees"] - sum(row[k] for k in COST_COLUMNS)
    row.update(profit_sources(customers, market, scenario, row, serving, tier))
    row["failures"] = per_firm(served_firm[customers.failed])
    row["recommendations_sent"] = per_firm(served_firm[customers.said > 0])
    row["warnings_sent"] = per_firm(served_firm[customers.said < 0])
    with np.errstate(invalid="ignore", divide="ignore"):
        row["satisfaction"] = per_firm(served_firm, customers.satisfaction) / served  # NaNs fall in the outside bin
        rows = np.arange(firm.shape[0])
        row["trust"] = per_firm(firm, customers.trust[firm, rows]) / now
        row["tenure"] = per_firm(firm, customers.tenure) / now

    def per_firm_and_segment(firm_index, segment_code):
        counts = np.bincount(firm_index * 4 + np.maximum(segment_code, 0), minlength=size * 4)
        return counts.reshape(size, 4)[:n_firms].astype(float)

    left = moved & is_served
    lost = per_firm_and_segment(served_firm[left], customers.loyalty[left])
    customers.loyalty[:], customers.preferred[:] = loyalty_segments(customers, market, scenario)
    held = per_firm_and_segment(firm, customers.loyalty)
    favoured = customers.preferred.astype(np.intp)
    elsewhere = favoured >= 0
    for code in range(len(SEGMENT_NAMES)):
        row[SEGMENT_COLUMNS[code]] = held[:, code]
        row[LOST_COLUMNS[code]] = lost[:, code]
    row["latent_new"] = row["latent_loyal"]
    row["latent_elsewhere"] = per_firm(favoured[elsewhere])
    row["latent_loyal"] = row["latent_new"] + row["latent_elsewhere"]
    row["price"] = market.price[:n_firms].copy()
    row["quality"] = market.quality[:n_firms].copy()
    row["image"] = market.image[:n_firms].copy()
    return row


REFERRAL_MONTHS = 12
"""How long a referred customer's contribution counts as the referral's: its first year (after it, as retention's)."""


def profit_sources(
    customers: Customers,
    market: MarketState,
    scenario: Scenario,
    row: dict[str, np.ndarray],
    serving: np.ndarray,
    tier: np.ndarray,
) -> dict[str, np.ndarray]:
    """Profit from serving customers, split by Reichheld's (1996) sources.

    ``profit_referrals``: the contribution of customers who would not have
    joined without a recommendation (``referrals``), in their first year
    (``REFERRAL_MONTHS``); after it they count as every other customer, so
    that a referred customer who stays longer adds to retention's sources,
    not to the referral's. ``profit_growth``: gross margin on spend above a
    new customer's (spend grows with tenure). ``profit_savings``: serving
    cost saved against a new customer's. ``profit_base``: the rest of the
    contribution of serving customers, as if every customer were new. Every
    customer pays the firm's one price, so no price premium is realised:
    loyal customers' lower price sensitivity shows as retention instead. By
    construction ``profit = profit_base + profit_growth + profit_savings +
    profit_referrals + exit_fees - cost_acquisition``.
    """
    n_firms = market.n_firms
    size = n_firms + 1
    served_firm = customers.served_firm.astype(np.intp)
    referral = customers.served_by_referral & (customers.served_tenure < REFERRAL_MONTHS)
    own = ~referral

    def per_firm(mask, weights):
        return np.bincount(served_firm[mask], weights=weights[mask], minlength=size)[:n_firms]

    unit_margin = market.price[:n_firms] * (1.0 - market.points_rate[:n_firms]) - market.unit_cost[:n_firms]
    base_volume = np.asarray(scenario.population.segment_spend)[customers.segment]
    growth = unit_margin * per_firm(own, customers.volume - base_volume)
    savings = market.serving_cost[:n_firms] * per_firm(own, 1.0 - serving)

    served = np.bincount(served_firm[referral], minlength=size)[:n_firms]
    members = np.bincount(served_firm[referral] * 3 + tier[referral], minlength=size * 3).reshape(size, 3)[:n_firms]
    referral_contribution = (
        unit_margin * per_firm(referral, customers.volume)
        - market.serving_cost[:n_firms] * per_firm(referral, serving)
        - (market.care_spend[:n_firms] + market.brand_investment[:n_firms]) * served
        - (market.silver_perk[:n_firms] * members[:, 1] + market.gold_perk[:n_firms] * members[:, 2])
        - market.recovery_cost[:n_firms] * per_firm(referral, customers.recovered.astype(float))
    )
    operating = row["profit"] - row["exit_fees"] + row["cost_acquisition"]
    return {
        "profit_base": operating - growth - savings - referral_contribution,
        "profit_growth": growth,
        "profit_savings": savings,
        "profit_referrals": referral_contribution,
    }


def period_metrics(months: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The row of a period from the rows of its months, in order.

    Flows (gains, losses, money, complaints, word of mouth, losses by
    segment) are summed; ``served`` is the first month's (customers at the
    period's start); stocks (customers, shares, segments, trust, tenure,
    levers) are the last month's; ``satisfaction`` is the mean over every
    customer-month served. ``churn_rate`` chains the months' retention,
    ``1 - prod(1 - churn_k)``, so a period's churn compounds to the same
    annual figure whatever the period's length.
    """
    first, last = months[0], months[-1]
    row = {name: sum(m[name] for m in months) for name in FLOW_COLUMNS}
    row["served"] = first["served"]
    row.update({name: last[name] for name in STOCK_COLUMNS})
    served = sum(m["served"] for m in months)
    weighted = sum(np.nan_to_num(m["satisfaction"]) * m["served"] for m in months)
    with np.errstate(invalid="ignore", divide="ignore"):
        row["satisfaction"] = np.where(served > 0, weighted / served, np.nan)
    kept = np.prod([m["retention_rate"] for m in months], axis=0)
    row["churn_rate"] = 1.0 - kept
    row["retention_rate"] = kept
    return {name: row[name] for name in months[0]}


COST_COLUMNS = (
    "cost_goods",
    "cost_serving",
    "cost_care",
    "cost_brand",
    "cost_programme",
    "cost_recovery",
    "cost_acquisition",
)
SEGMENT_COLUMNS = ("true_loyal", "latent_loyal", "spurious_loyal", "not_loyal")
LOST_COLUMNS = ("lost_true", "lost_latent", "lost_spurious", "lost_not_loyal")
FLOW_COLUMNS = (
    "gains",
    "losses",
    "referrals",
    "revenue",
    "exit_fees",
    *COST_COLUMNS,
    "profit",
    "profit_base",
    "profit_growth",
    "profit_savings",
    "profit_referrals",
    "complaints",
    "recovered",
    "failures",
    "recommendations_sent",
    "warnings_sent",
    *LOST_COLUMNS,
)
"""Columns summed over the months of a period."""
STOCK_COLUMNS = (
    "customers",
    "market_share",
    "retained_year",
    *SEGMENT_COLUMNS,
    "latent_new",
    "latent_elsewhere",
    "trust",
    "tenure",
    "price",
    "quality",
    "image",
)
"""Columns read at the end of a period."""
