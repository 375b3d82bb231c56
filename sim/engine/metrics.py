"""What each firm books and what the market records, month by month and period by period.

``firm_metrics`` reads the population arrays after the customers' month and
aggregates them per firm with ``np.bincount``, so the same numbers come out
whichever path advanced the customers; ``period_metrics`` gathers the months
of one period into the period's row.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.behaviour import accounting, value
from sim.behaviour.choice import choice_bounds, chooses_again_within
from sim.behaviour.compiled import jitable
from sim.behaviour.segments import SEGMENT_NAMES, loyalty_segment
from sim.engine.compiling import blocks, kernel
from sim.engine.inputs import Constants
from sim.engine.month import option_utilities, tastes_of
from sim.engine.parameters import Scenario
from sim.engine.population import Customers, MarketState


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
    n = len(customers)
    codes, preferred = np.empty(n, dtype=np.int8), np.empty(n, dtype=np.int16)
    update_segments(customers.arrays(), market, Constants.of(scenario), codes, preferred)
    return codes, preferred


def update_segments(c, market: MarketState, k: Constants, codes: np.ndarray, preferred: np.ndarray) -> np.ndarray:
    """Every customer's segment (``segment_of``) into ``codes`` and ``preferred``; returns the counts per option.

    The counts, shape (F+1, 5), are the customers of each option in each
    segment (0 true, 1 latent, 2 spurious, 3 none; the outside option's row
    holds those served by no one) and, in column 4, the customers latently
    loyal to each firm from elsewhere. Whole numbers, so they are the same
    whether the customers are taken in one pass or in blocks on several
    threads (``compiling.blocks``).
    """
    n = c.firm.shape[0]
    cuts = blocks(n)
    if cuts is None:
        counts = np.zeros((market.n_firms + 1, SEGMENT_COUNTS), dtype=np.int64)
        segment_rows(c, market, k, 0, n, codes, preferred, counts)
        return counts
    counts = np.zeros((cuts.shape[0] - 1, market.n_firms + 1, SEGMENT_COUNTS), dtype=np.int64)
    segment_blocks(c, market, k, cuts, codes, preferred, counts)
    return counts.sum(axis=0)


SEGMENT_COUNTS = 5
"""Columns of ``update_segments``' counts: the four segments towards the current option, then latent elsewhere."""


def _segment_rows(c, market, k, start, stop, codes, preferred, counts):
    utility = np.empty(market.n_firms + 1)
    bounds = choice_bounds(k.attitude_threshold, market.n_firms + 1)
    for i in range(start, stop):
        code, favourite = segment_of(i, c, market, k, utility, bounds)
        codes[i] = code
        preferred[i] = favourite
        counts[c.firm[i], max(code, 0)] += 1
        if favourite >= 0:
            counts[favourite, SEGMENT_COUNTS - 1] += 1


segment_rows = kernel(_segment_rows)


def _segment_blocks(c, market, k, cuts, codes, preferred, counts):
    for block in numba.prange(cuts.shape[0] - 1):
        segment_rows(c, market, k, cuts[block], cuts[block + 1], codes, preferred, counts[block])


segment_blocks = kernel(_segment_blocks, parallel=True)


@jitable
def segment_of(i, c, market, k, utility, bounds):
    """Customer ``i``'s segment code towards its current firm and the other firm it is latently loyal to (or -1).

    ``utility`` is scratch space of one entry per option (see
    ``loyalty_segments``); ``bounds`` are the attitude test's ``choice_bounds``.
    """
    outside = market.n_firms
    firm = c.firm[i]
    tenure = c.tenure[i]
    option_utilities(
        tastes_of(c, i),
        firm,
        tenure,
        c.expectation[i],
        c.trust[:, i],
        c.points[i],
        c.reference_price[i],
        market,
        k,
        False,
        False,
        utility,
    )
    served = firm < outside
    attitude = served and chooses_again_within(utility, firm, bounds)
    code = loyalty_segment(attitude, tenure, k.patronage_months) if served else np.int8(-1)
    favourite = np.argmax(utility)
    elsewhere = not attitude and favourite < outside and favourite != firm
    held = elsewhere and chooses_again_within(utility, favourite, bounds)
    return code, favourite if held else -1


def firm_metrics(
    customers: Customers,
    market: MarketState,
    scenario: Scenario,
    constants: Constants | None = None,
    *,
    segments: bool = True,
    leavers_by_segment: bool = True,
) -> dict[str, np.ndarray]:
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
    ``constants`` are ``Constants.of(scenario)``, where the caller has them already.
    With ``segments`` false the segments are not brought up to date and their
    columns are NaN; with ``leavers_by_segment`` false (the segments are not
    those of the last month's end) the losses by segment are NaN.
    """
    n_firms = market.n_firms
    k = Constants.of(scenario) if constants is None else constants
    c = customers.arrays()
    tallies = tally_rows(c, market, k)  # first: it counts leavers by the segment they were in
    if segments:
        counts = update_segments(c, market, k, customers.loyalty, customers.preferred)
        tallies[:, HELD_FROM : HELD_FROM + len(HELD)] = counts[:, : len(HELD)]
        tallies[:, LATENT_ELSEWHERE] = counts[:, SEGMENT_COUNTS - 1]
    else:
        tallies[:, HELD_FROM : HELD_FROM + len(HELD)] = np.nan
        tallies[:, LATENT_ELSEWHERE] = np.nan
    if not leavers_by_segment:
        tallies[:, LOST : LOST + len(LOST_COLUMNS)] = np.nan
    columns = tallies[:n_firms].T.copy()  # one sum per row, each contiguous

    def tally(name: str) -> np.ndarray:
        return columns[COLUMN[name]]

    served, now, gains = tally("served"), tally("customers"), tally("gains")
    losses = tally("losses")
    with np.errstate(invalid="ignore", divide="ignore"):
        churn = np.where(served > 0, losses / served, 0.0)
        total = now.sum()
        share = now / total if total > 0 else np.zeros(n_firms)
    revenue = tally("revenue")
    perks = market.silver_perk[:n_firms] * tally("silver") + market.gold_perk[:n_firms] * tally("gold")
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
    row["retained_year"] = tally("retained_year")
    row["referrals"] = tally("referrals")
    row["revenue"] = revenue
    row["exit_fees"] = tally("exit_fees")
    row["cost_goods"] = levers["unit_cost"] * tally("volume")
    row["cost_serving"] = levers["serving_cost"] * tally("serving")
    row["cost_care"] = levers["care_spend"] * served
    row["cost_brand"] = levers["brand_investment"] * served
    row["cost_programme"] = market.points_rate[:n_firms] * revenue + perks
    row["complaints"] = tally("complaints")
    row["recovered"] = tally("recovered")
    row["cost_recovery"] = levers["recovery_cost"] * row["recovered"]
    row["cost_acquisition"] = levers["acquisition_spend"] * gains
    row["profit"] = row["revenue"] + row["exit_fees"] - sum(row[k] for k in COST_COLUMNS)
    row.update(profit_sources(market, row, tally))
    row["failures"] = tally("failures")
    row["recommendations_sent"] = tally("recommendations_sent")
    row["warnings_sent"] = tally("warnings_sent")
    with np.errstate(invalid="ignore", divide="ignore"):
        row["satisfaction"] = tally("satisfaction") / served
        row["trust"] = tally("trust") / now
        row["tenure"] = tally("tenure") / now
    for code in range(len(SEGMENT_NAMES)):
        row[SEGMENT_COLUMNS[code]] = tally(HELD[code])
        row[LOST_COLUMNS[code]] = tally(LOST_COLUMNS[code])
    row["latent_new"] = row["latent_loyal"]
    row["latent_elsewhere"] = tally("latent_elsewhere")
    row["latent_loyal"] = row["latent_new"] + row["latent_elsewhere"]
    row["price"] = market.price[:n_firms].copy()
    row["quality"] = market.quality[:n_firms].copy()
    row["image"] = market.image[:n_firms].copy()
    return row


def _tally_rows(c, market, k):
    """Every month's sum per option but the segments', in one pass over the customers, in order.

    A leaver is counted by the segment it was in at the end of the last
    month, so this runs before the segments are brought up to this month's
    end (``update_segments``, which fills the segments' columns). Customers
    served by no one land in the outside option's row, which the caller drops.
    """
    outside = market.n_firms
    t = np.zeros((outside + 1, len(TALLIES)))
    # Serving cost depends on the customer only through its tenure, a whole number of months: each tenure's once.
    serving_by_tenure = np.empty(c.served_tenure.max() + 1 if c.served_tenure.shape[0] else 0)
    for months_with in range(serving_by_tenure.shape[0]):
        serving_by_tenure[months_with] = accounting.serving_cost_multiplier(
            months_with, floor=k.serving_cost_floor, months=k.serving_cost_months
        )
    for i in range(c.firm.shape[0]):
        was = c.served_firm[i]
        firm = c.firm[i]
        moved = firm != was
        tenure = c.served_tenure[i]
        volume = c.volume[i]
        t[was, SERVED] += 1.0
        t[firm, CUSTOMERS] += 1.0
        if moved:
            t[firm, GAINS] += 1.0
            t[was, LOSSES] += 1.0
            if was < outside:
                t[was, LOST + max(c.loyalty[i], 0)] += 1.0
        if c.tenure[i] >= 12:
            t[firm, RETAINED_YEAR] += 1.0
        if c.referred[i]:
            t[firm, REFERRALS] += 1.0
        t[was, REVENUE] += market.price[was] * volume
        t[was, EXIT_FEES] += c.exit_fee_paid[i]
        t[was, VOLUME] += volume
        serving = serving_by_tenure[tenure]
        t[was, SERVING] += serving
        tier = value.tier(tenure, silver_after=market.silver_after[was], gold_after=market.gold_after[was])
        if tier > 0:
            t[was, SILVER if tier == 1 else GOLD] += 1.0
        if c.complained[i]:
            t[was, COMPLAINTS] += 1.0
        if c.recovered[i]:
            t[was, RECOVERED] += 1.0
        if c.failed[i]:
            t[was, FAILURES] += 1.0
        if c.said[i] > 0:
            t[was, RECOMMENDATIONS_SENT] += 1.0
        elif c.said[i] < 0:
            t[was, WARNINGS_SENT] += 1.0
        t[was, SATISFACTION] += c.satisfaction[i]
        t[firm, TRUST] += c.trust[firm, i]
        t[firm, TENURE] += c.tenure[i]
        if c.served_by_referral[i] and tenure < REFERRAL_MONTHS:
            t[was, REFERRAL_SERVED] += 1.0
            if tier > 0:
                t[was, REFERRAL_SILVER if tier == 1 else REFERRAL_GOLD] += 1.0
            t[was, REFERRAL_VOLUME] += volume
            t[was, REFERRAL_SERVING] += serving
            if c.recovered[i]:
                t[was, REFERRAL_RECOVERED] += 1.0
        else:
            t[was, OWN_EXTRA_VOLUME] += volume - k.segment_spend[c.segment[i]]
            t[was, OWN_SERVING_SAVED] += 1.0 - serving
    return t


tally_rows = kernel(_tally_rows)


REFERRAL_MONTHS = 12
"""How long a referred customer's contribution counts as the referral's: its first year (after it, as retention's)."""


def profit_sources(market: MarketState, row: dict[str, np.ndarray], tally) -> dict[str, np.ndarray]:
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

    Args:
        market: what customers saw of the firms this month.
        row: the month's metrics so far (``profit``, ``exit_fees``, ``cost_acquisition``).
        tally: the month's sums per firm by name (``TALLIES``).
    """
    n_firms = market.n_firms
    unit_margin = market.price[:n_firms] * (1.0 - market.points_rate[:n_firms]) - market.unit_cost[:n_firms]
    growth = unit_margin * tally("own_extra_volume")
    savings = market.serving_cost[:n_firms] * tally("own_serving_saved")
    referral_contribution = (
        unit_margin * tally("referral_volume")
        - market.serving_cost[:n_firms] * tally("referral_serving")
        - (market.care_spend[:n_firms] + market.brand_investment[:n_firms]) * tally("referral_served")
        - (
            market.silver_perk[:n_firms] * tally("referral_silver")
            + market.gold_perk[:n_firms] * tally("referral_gold")
        )
        - market.recovery_cost[:n_firms] * tally("referral_recovered")
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
    # Every flow of every month in one array, (months, flows, F), summed month by month in order.
    flows = sum(np.array([[m[name] for name in FLOW_COLUMNS] for m in months]))
    row = dict(zip(FLOW_COLUMNS, flows, strict=True))
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
HELD = ("held_true", "held_latent", "held_spurious", "held_not_loyal")
TALLIES = (
    "served",
    "customers",
    "gains",
    "losses",
    "retained_year",
    "referrals",
    "revenue",
    "exit_fees",
    "volume",
    "serving",
    "complaints",
    "recovered",
    "failures",
    "recommendations_sent",
    "warnings_sent",
    "satisfaction",
    "trust",
    "tenure",
    "silver",
    "gold",
    "own_extra_volume",
    "own_serving_saved",
    "referral_served",
    "referral_silver",
    "referral_gold",
    "referral_volume",
    "referral_serving",
    "referral_recovered",
    *LOST_COLUMNS,
    *HELD,
    "latent_elsewhere",
)
"""What ``tally_rows`` adds up per option (the outside option's row, index F, is dropped), in its column order."""
COLUMN = {name: column for column, name in enumerate(TALLIES)}
"""Each tally's column."""
(
    SERVED, CUSTOMERS, GAINS, LOSSES, RETAINED_YEAR, REFERRALS, REVENUE, EXIT_FEES, VOLUME, SERVING, COMPLAINTS,
    RECOVERED, FAILURES, RECOMMENDATIONS_SENT, WARNINGS_SENT, SATISFACTION, TRUST, TENURE, SILVER, GOLD,
    OWN_EXTRA_VOLUME, OWN_SERVING_SAVED, REFERRAL_SERVED, REFERRAL_SILVER, REFERRAL_GOLD, REFERRAL_VOLUME,
    REFERRAL_SERVING, REFERRAL_RECOVERED, LOST, _, _, _, HELD_FROM, _, _, _, LATENT_ELSEWHERE,
) = range(len(TALLIES))  # fmt: skip
